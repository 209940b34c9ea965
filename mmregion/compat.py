"""Fixes the pinned stack needs that are not tied to one module.

Distributed training on CPU. mmengine's ``init_dist`` calls
``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids``, both of
which fail without a GPU. :func:`setup_cpu_distributed` initialises the
process group with gloo itself (mmengine then skips its own ``init_dist``)
and configures the DDP wrapper without ``device_ids``.

The checkpoint-loading fix for torch >= 2.6 lives in
:mod:`mmregion.engine.checkpoint_loader` (configs name it in
``custom_imports``); ``load_local_checkpoint`` and ``apply`` remain here for
one release as deprecated aliases. Importing this module changes nothing.
"""
import warnings
from typing import Any, Optional

import torch
import torch.distributed as torch_dist
from mmengine.config import Config


def load_local_checkpoint(filename: str,
                          map_location: Optional[Any] = None) -> Any:
    """Deprecated: use :func:`mmregion.fileio.load_checkpoint_file`.

    Args:
        filename (str): Path of the file.
        map_location (str | torch.device | callable, optional): As for
            :func:`torch.load`.

    Returns:
        Any: The loaded object.
    """
    warnings.warn(
        'mmregion.compat.load_local_checkpoint is deprecated; use '
        'mmregion.fileio.load_checkpoint_file', DeprecationWarning, 2)
    from .fileio import load_checkpoint_file
    return load_checkpoint_file(filename, map_location)


def setup_cpu_distributed(cfg: Config, launcher: str) -> None:
    """Prepare a CPU-only machine for a distributed mmengine run.

    Does nothing when ``launcher`` is ``'none'`` or CUDA is available.
    Otherwise (only ``'pytorch'``, i.e. torchrun, is supported on CPU)
    initialises the default process group with the gloo backend
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
    """Deprecated: import :mod:`mmregion.engine.checkpoint_loader`."""
    warnings.warn(
        'mmregion.compat.apply is deprecated; name '
        "'mmregion.engine.checkpoint_loader' in custom_imports or call "
        'mmregion.engine.checkpoint_loader.install()', DeprecationWarning, 2)
    from .engine.checkpoint_loader import install
    install()
