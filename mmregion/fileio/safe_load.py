"""Checkpoint loading that never runs code hidden in a pickle by default.

``torch.load(weights_only=False)`` executes whatever callables a pickle
names (``os.system`` included). :func:`load_checkpoint_file` therefore reads
every file with ``weights_only=True`` and an allow-list
(:data:`SAFE_GLOBALS`) of exactly what the files we support contain:

* mmengine checkpoints (``--resume`` files): ``HistoryBuffer`` in the
  message hub, which refers to its statistics methods through
  ``builtins.getattr`` (mapped to a function that allows only those
  methods), and numpy arrays, dtypes and scalars;
* official RegionCLIP (detectron2) and YOLACT files: tensors, numpy arrays
  (under numpy 1's and numpy 2's module names).

OpenAI's CLIP files (``RN50.pt``) are TorchScript archives; they are opened
with :func:`torch.jit.load`, whose C++ unpickler builds only tensors and
TorchScript values and runs no Python callable from the file (it trusts the
archive's TorchScript code, which cannot reach Python's ``os`` or
``subprocess``, to describe a model). Anything else is refused with an
:class:`UntrustedCheckpointError` naming the file, the refused object and
the opt-in: ``--trust-checkpoint`` on our tools, or the environment
variable ``MMREGION_TRUST_CHECKPOINTS=1``.
"""
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Any, List, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

TRUST_ENV = 'MMREGION_TRUST_CHECKPOINTS'
"""Environment variable that, set to ``1``, allows full unpickling."""


class UntrustedCheckpointError(ValueError):
    """A checkpoint holds objects beyond the allow-list and is not trusted."""


class CorruptCheckpointError(ValueError):
    """A file is not a readable PyTorch checkpoint (truncated, not one)."""


def _looks_like_checkpoint(path: str) -> bool:
    """Whether ``path`` starts as a torch.save file: a zip or a pickle."""
    with open(path, 'rb') as f:
        head = f.read(4)
    return head.startswith(b'PK') or head.startswith(b'\x80')


def _corrupt(filename: str, reason: str) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f'{filename}: not a readable PyTorch checkpoint ({reason}); expected '
        f'a file written by torch.save (is it truncated, or another kind of '
        f'file?)')


def _numpy_globals() -> List[Any]:
    """numpy arrays, dtypes and scalars, under numpy 2's and 1's names."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    allowed: List[Any] = [np.ndarray, np.dtype]
    allowed += [type(np.dtype(t)) for t in np.sctypeDict.values()]
    for fn in (multiarray._reconstruct, multiarray.scalar):
        allowed += [fn, (fn, f'numpy.core.multiarray.{fn.__name__}')]
    return list(dict.fromkeys(allowed))


def _history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` restricted to the public methods of ``HistoryBuffer``.

    A pickled ``HistoryBuffer`` refers to its statistics methods (``min``,
    ``mean``, ...) through ``builtins.getattr(HistoryBuffer, name)``;
    allowing ``getattr`` itself would open the sandbox.

    Args:
        obj (Any): Must be the ``HistoryBuffer`` class.
        name (str): A public, callable attribute of it.

    Returns:
        Any: The method.

    Raises:
        pickle.UnpicklingError: For anything else.
    """
    if obj is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in a checkpoint')


SAFE_GLOBALS: List[Any] = [
    HistoryBuffer, (_history_buffer_method, 'builtins.getattr')
] + _numpy_globals()
"""Globals allowed in a ``weights_only`` load."""


def trust_checkpoints(trust: Optional[bool] = None) -> bool:
    """Whether full unpickling is allowed.

    Args:
        trust (bool, optional): An explicit choice; None reads
            ``MMREGION_TRUST_CHECKPOINTS`` (``1``/``true``/``yes``).

    Returns:
        bool: The decision.
    """
    if trust is not None:
        return bool(trust)
    return os.environ.get(TRUST_ENV, '').lower() in ('1', 'true', 'yes')


def is_torchscript_archive(path: str) -> bool:
    """Whether ``path`` is a TorchScript zip (has ``<root>/constants.pkl``).

    Args:
        path (str): A local file.

    Returns:
        bool: True for archives written by ``torch.jit.save``.
    """
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(
            name.split('/', 1)[-1] == 'constants.pkl'
            for name in archive.namelist())


def _refusal_reason(error: Exception) -> str:
    """The informative part of torch's weights-only error, in a few words
    (``it names posix.system``)."""
    text = str(error).split('WeightsUnpickler error:', 1)[-1]
    match = re.search(r'(?:Unsupported global: |unsupported )GLOBAL (\S+)',
                      text)
    if match:
        return f'it names {match.group(1)}'
    text = ' '.join(text.split('Check the documentation')[0].split())
    return text.rstrip('.')[:200] or type(error).__name__


def load_checkpoint_file(filename: str,
                         map_location: Optional[Any] = None,
                         trust: Optional[bool] = None) -> Any:
    """Load a local checkpoint without running code hidden in it.

    Also a drop-in for mmengine's local checkpoint loader (see
    :mod:`mmregion.engine.checkpoint_loader`).

    Args:
        filename (str): Path of the file (``~`` is expanded).
        map_location (str | torch.device | callable, optional): As for
            :func:`torch.load`.
        trust (bool, optional): Allow full unpickling of this file. None
            (default) reads ``MMREGION_TRUST_CHECKPOINTS``.

    Returns:
        Any: The loaded object: usually a dict; a
        ``torch.jit.ScriptModule`` for a TorchScript archive.

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
        UntrustedCheckpointError: If the file holds objects beyond
            :data:`SAFE_GLOBALS` and it is not trusted.
        CorruptCheckpointError: If the file is not a torch.save file or is
            truncated.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename} can not be '
                                f'found.')
    if not _looks_like_checkpoint(filename):
        raise _corrupt(filename, 'neither a zip archive nor a pickle')
    if is_torchscript_archive(filename):
        return torch.jit.load(filename, map_location=map_location)
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except (RuntimeError, EOFError, KeyError) as error:
        if isinstance(error, RuntimeError) and not any(
                word in str(error) for word in ('PytorchStreamReader',
                                                'archive', 'corrupt')):
            raise
        raise _corrupt(filename, ' '.join(
            str(error).split('.')[0].split()) or 'empty file') from None
    except pickle.UnpicklingError as error:
        reason = _refusal_reason(error)
        if reason.startswith('Unsupported operand'):
            raise _corrupt(filename, reason) from None
        if not trust_checkpoints(trust):
            raise UntrustedCheckpointError(
                f'{filename}: refused to unpickle it ({reason}); it holds '
                f'objects other than tensors, numpy arrays and mmengine '
                f'state, and unpickling them can run code. If you trust '
                f'the file, pass --trust-checkpoint or set {TRUST_ENV}=1'
            ) from None
        print_log(
            f'{filename}: trusted ({TRUST_ENV} / --trust-checkpoint), '
            f'loading it with full unpickling ({reason})',
            logger='current',
            level=30)
        return torch.load(
            filename, map_location=map_location, weights_only=False)
