"""The models the parity harness knows, and how it runs one.

Each runner module of this package registers its model names with
:func:`register`; :func:`load_runners` imports every module of the package
that is not part of the harness itself, so adding a model family is adding
one module.
"""
import importlib
import os
import os.path as osp
import pkgutil
from dataclasses import dataclass, replace
from typing import Callable, Dict, Optional

from .official import OfficialCodeError
from .report import ParityReport

#: Modules of this package that are the harness, not runners.
HARNESS_MODULES = ('official', 'registry', 'report')


class ParityUserError(ValueError):
    """A bad request: unknown model, missing folder or checkpoint file."""


@dataclass
class ParityOptions:
    """What a runner is asked to do.

    Attributes:
        official_dir (str): The official clone.
        checkpoint (str, optional): A real official checkpoint instead of
            seeded random weights.
        work_dir (str, optional): Where checkpoints and converted files
            go; a temporary folder when None.
        time (bool): Also time ours against the official model.
        seed (int): Seed of the random weights and images.
    """
    official_dir: str
    checkpoint: Optional[str] = None
    work_dir: Optional[str] = None
    time: bool = False
    seed: int = 0


Runner = Callable[[str, ParityOptions], ParityReport]
#: Model name -> runner ``(name, options) -> ParityReport``.
MODELS: Dict[str, Runner] = {}
#: Model name -> folder name of its official clone (e.g. ``yolact``), as
#: laid out under ``MMREGION_OFFICIAL_DIR`` by docs/parity.md.
CLONES: Dict[str, str] = {}


def register(*names: str, clone: str) -> Callable[[Runner], Runner]:
    """Register a runner under model names.

    Args:
        *names (str): Model names (``--model``).
        clone (str): Folder name of the official clone the runner needs.

    Returns:
        Callable: The decorator, returning the runner unchanged.
    """

    def wrap(runner: Runner) -> Runner:
        for name in names:
            if name in MODELS and MODELS[name] is not runner:
                raise KeyError(f'parity model {name!r} registered twice')
            MODELS[name] = runner
            CLONES[name] = clone
        return runner

    return wrap


def load_runners() -> Dict[str, Runner]:
    """Import every runner module of the package.

    Returns:
        dict[str, Runner]: :data:`MODELS`.
    """
    package = __name__.rsplit('.', 1)[0]
    path = importlib.import_module(package).__path__
    for info in pkgutil.iter_modules(path):
        if info.name not in HARNESS_MODULES:
            importlib.import_module(f'{package}.{info.name}')
    return MODELS


def run_parity(name: str, options: ParityOptions) -> ParityReport:
    """Run the harness for one model.

    Args:
        name (str): A registered model name.
        options (ParityOptions): The request.

    Returns:
        ParityReport: Rows, notes and the decision.

    Raises:
        ParityUserError: Unknown model, or the official folder or the
            checkpoint is missing.
    """
    models = load_runners()
    if name not in models:
        raise ParityUserError(f'unknown model {name!r}; choose from '
                              f'{", ".join(sorted(models))}')
    if options.checkpoint is not None and not osp.isfile(options.checkpoint):
        raise ParityUserError(
            f'checkpoint {options.checkpoint} does not exist')
    # runners work inside the official folder: make every path absolute
    options = replace(
        options,
        official_dir=osp.abspath(options.official_dir),
        checkpoint=options.checkpoint and osp.abspath(options.checkpoint),
        work_dir=options.work_dir and osp.abspath(options.work_dir))
    if options.work_dir:
        os.makedirs(options.work_dir, exist_ok=True)
    try:
        return models[name](name, options)
    except OfficialCodeError as error:
        raise ParityUserError(str(error)) from error
