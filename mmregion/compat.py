"""Fixes the pinned stack needs (mmengine 0.10.7 under torch >= 2.6).

1. Checkpoint loading. mmengine's local checkpoint loader calls a bare
   ``torch.load(filename, map_location)``. Since torch 2.6 that means
   ``weights_only=True``, and an mmengine checkpoint written for ``--resume``
   holds objects that loader refuses (``HistoryBuffer`` in the message hub,
   which pickles its statistics methods through ``getattr``; numpy arrays
   and scalars): resuming fails with "Weights only load failed".
   :func:`load_local_checkpoint` replaces mmengine's local scheme. It loads
   with ``weights_only=True`` and an allow-list of exactly those types
   (:data:`SAFE_GLOBALS`); a file that needs anything else (old pickled
   checkpoints of other codebases) is loaded the way mmengine did before
   torch 2.6 (full unpickling) with a warning that names the file and the
   refused type. Only load checkpoints you trust.

2. Distributed training on CPU. mmengine's ``init_dist`` calls
   ``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids``, both
   of which fail without a GPU. :func:`setup_cpu_distributed` initialises the
   process group with gloo itself (mmengine then skips its own
   ``init_dist``) and configures the DDP wrapper without ``device_ids``.

:func:`apply` installs fix 1; ``import mmregion`` calls it.
"""
import os.path as osp
import pickle
from typing import Any, List, Optional

import numpy as np
import torch
import torch.distributed as torch_dist
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, print_log
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_globals() -> List[Any]:
    """Numpy types that mmengine checkpoints pickle (arrays and scalars)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray
    types = [np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar]
    types += [type(np.dtype(t)) for t in np.sctypeDict.values()]
    return list(dict.fromkeys(types))


def _history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` restricted to the statistics methods of HistoryBuffer.

    A pickled HistoryBuffer refers to its statistics methods (``min``,
    ``mean``, ...) through ``builtins.getattr(HistoryBuffer, name)``.
    Allowing ``getattr`` itself would open the weights-only sandbox, so
    :data:`SAFE_GLOBALS` maps ``builtins.getattr`` to this function instead.
    """
    if obj is HistoryBuffer and not name.startswith('_') and callable(
            getattr(HistoryBuffer, name, None)):
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'getattr({obj!r}, {name!r}) is not allowed in an mmengine '
        f'checkpoint')


SAFE_GLOBALS: List[Any] = [HistoryBuffer, (_history_buffer_method,
                                           'builtins.getattr')
                           ] + _numpy_globals()
"""Globals allowed in a ``weights_only`` load of an mmengine checkpoint."""


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """Load a local checkpoint file; a drop-in for mmengine's local loader.

    Args:
        filename (str): Path of the file (``~`` is expanded).
        map_location (str | torch.device | callable, optional): As for
            :func:`torch.load`.

    Returns:
        Any: The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: If ``filename`` does not exist.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename} can not be '
                                f'found.')
    try:
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(
                filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = str(err).strip().splitlines()
        print_log(
            f'{filename} needs full unpickling (not only tensors and '
            f'mmengine state): {reason[1] if len(reason) > 1 else reason[0]}'
            f' Loading it with weights_only=False; only load checkpoints '
            f'you trust.',
            logger='current',
            level=30)
        return torch.load(
            filename, map_location=map_location, weights_only=False)


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare a CPU-only machine for a distributed mmengine run.

    Does nothing when ``launcher`` is ``'none'`` or CUDA is available.
    Otherwise (only ``'pytorch'``, i.e. torchrun, is supported on CPU) initialises the default process group with the gloo backend
    (from the torchrun / slurm environment) and sets
    ``cfg.model_wrapper_cfg`` to a DDP wrapper without ``device_ids``.

    Args:
        cfg (Config): The run's config; modified in place.
        launcher (str): ``'none'``, ``'pytorch'`` or ``'slurm'``.

    Raises:
        ValueError: For a launcher other than ``'pytorch'`` without CUDA.
    """
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher={launcher!r} needs GPUs; on a CPU-only '
                         f'machine use launcher=pytorch '
                         f'(tools/dist_train.sh CONFIG NUM_PROCS)')
    if not torch_dist.is_initialized():
        torch_dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or {})
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    wrapper.setdefault('broadcast_buffers', False)
    wrapper.setdefault('find_unused_parameters',
                       cfg.get('find_unused_parameters', False))
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg.setdefault('dist_cfg', {})
    cfg.env_cfg.dist_cfg['backend'] = 'gloo'


def apply() -> None:
    """Install the checkpoint-loading fix into mmengine (idempotent)."""
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_local_checkpoint, force=True)
