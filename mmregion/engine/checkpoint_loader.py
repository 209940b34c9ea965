"""Safe local checkpoint loading for mmengine 0.10.7 under torch >= 2.6.

mmengine's local checkpoint loader calls a bare ``torch.load(filename,
map_location)``. Since torch 2.6 that means ``weights_only=True`` with no
allow-list, and an mmengine checkpoint written for ``--resume`` holds
objects it refuses (``HistoryBuffer`` in the message hub, numpy arrays and
scalars): ``load_from`` and ``--resume`` fail with "Weights only load
failed". :func:`install` replaces mmengine's local scheme with
:func:`mmregion.fileio.load_checkpoint_file`, which allows exactly those
objects and refuses any other pickle unless the user opts in.

``import mmregion`` does not install it. Our configs name this module::

    custom_imports = dict(
        imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
        allow_failed_imports=False)

so mmdet's ``tools/train.py``, ``mim train`` and ``--resume`` get it when
they read the config; our own tools and inferencer call :func:`install`.
"""
from mmengine.runner.checkpoint import CheckpointLoader

from ..fileio import load_checkpoint_file


def install() -> None:
    """Make mmengine load local files with ``load_checkpoint_file``.

    Idempotent.
    """
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_file, force=True)


def is_installed() -> bool:
    """Whether :func:`install` has run in this process.

    Returns:
        bool: True when mmengine's local scheme is our loader.
    """
    return CheckpointLoader._schemes.get('') is load_checkpoint_file


install()
