"""Early checks of a config's keys, before anything is built."""
import difflib
from typing import Iterable

from mmengine.config import Config

RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name', 'cfg',
    'custom_imports', 'model_wrapper_cfg', 'find_unused_parameters',
    'runner_type', 'vis_backends', 'backend_args', 'train_pipeline',
    'test_pipeline', 'val_pipeline', 'dataset_type', 'data_root', 'metainfo',
    'tta_model', 'tta_pipeline', 'file_client_args', 'sync_bn',
    'strategy', 'compile')
"""Top-level keys that mmengine's Runner or mmdet's configs give meaning to."""


def check_config_keys(cfg: Config,
                      known: Iterable[str] = RUNNER_KEYS,
                      cutoff: float = 0.85) -> None:
    """Refuse top-level keys that look like misspellings of known keys.

    mmengine's Runner ignores top-level keys it does not know, so a typo
    such as ``train_dataloder`` silently leaves the base config's value in
    force. Configs may define their own variables, so only keys that are
    unknown *and* close to a known key are refused.

    Args:
        cfg (Config): The config to check.
        known (Iterable[str]): Known top-level keys.
        cutoff (float): Similarity (0..1, :mod:`difflib` ratio) above which
            an unknown key counts as a misspelling. Defaults to 0.85.

    Raises:
        KeyError: Naming the key, the config file and the key it resembles.
    """
    known = tuple(known)
    for key in cfg.keys():
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=cutoff)
        if close:
            raise KeyError(
                f'config {cfg.filename}: unknown top-level key {key!r}; did '
                f'you mean {close[0]!r}? (mmengine would ignore {key!r} '
                f'silently)')
