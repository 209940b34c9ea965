"""Train and test entry points shared by tools/train.py and tools/test.py."""
import os.path as osp
from typing import Optional, Union

from mmengine.config import Config, ConfigDict
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from ..compat import setup_cpu_distributed
from ..engine.checkpoint_loader import install as install_checkpoint_loader
from ..utils.config_check import check_config_keys


def load_config(config: str,
                cfg_options: Optional[dict] = None,
                work_dir: Optional[str] = None,
                launcher: str = 'none') -> Config:
    """Read a config, apply overrides, check its keys, set its work_dir.

    Args:
        config (str): Path of the config file.
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        work_dir (str, optional): Output folder; defaults to the config's
            ``work_dir`` or ``./work_dirs/<config name>``.
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or ``'mpi'``.

    Returns:
        Config: The merged config.

    Raises:
        FileNotFoundError: If the config file does not exist.
        KeyError: If a top-level key looks like a misspelling.
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config} does not exist')
    install_checkpoint_loader()
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg)
    use_atomic_checkpoints(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def use_atomic_checkpoints(cfg: Config) -> bool:
    """Save checkpoints with :class:`AtomicCheckpointHook`.

    mmengine's ``CheckpointHook`` (mmdet's ``default_runtime``) writes
    checkpoints and ``last_checkpoint`` with a plain ``open``; a run killed
    meanwhile leaves a truncated file where ``--resume`` reads. The subclass
    writes both atomically and behaves the same otherwise.

    Args:
        cfg (Config): A config; changed in place.

    Returns:
        bool: True when ``default_hooks.checkpoint`` was switched.
    """
    hook = (cfg.get('default_hooks') or {}).get('checkpoint')
    if hook is None or hook.get('type') not in ('CheckpointHook',
                                               'mmengine.CheckpointHook'):
        return False
    hook['type'] = 'AtomicCheckpointHook'
    return True


def _build_runner(cfg: Config) -> Runner:
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    if 'runner_type' in cfg:
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def train(config: str,
          work_dir: Optional[str] = None,
          cfg_options: Optional[dict] = None,
          resume: Union[bool, str, None] = None,
          amp: bool = False,
          auto_scale_lr: bool = False,
          launcher: str = 'none') -> Runner:
    """Train a model from a config, as ``tools/train.py`` does.

    Args:
        config (str): Path of the config file.
        work_dir (str, optional): Output folder (logs, checkpoints).
        cfg_options (dict, optional): Config overrides.
        resume (bool | str, optional): ``True`` or ``'auto'`` resumes from
            the latest checkpoint in ``work_dir``; a path resumes from that
            checkpoint; None starts afresh.
        amp (bool): Automatic mixed precision. Defaults to False.
        auto_scale_lr (bool): Scale the learning rate by the actual batch
            size (needs ``auto_scale_lr`` in the config). Defaults to False.
        launcher (str): Job launcher. Defaults to ``'none'``.

    Returns:
        Runner: The runner after training.
    """
    cfg = load_config(config, cfg_options, work_dir, launcher)
    if amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if auto_scale_lr:
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise KeyError(f'config {config}: --auto-scale-lr needs '
                           f'auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if resume is True or resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif resume:
        if not osp.isfile(resume):
            raise FileNotFoundError(f'--resume checkpoint {resume} does not '
                                    f'exist')
        cfg.resume = True
        cfg.load_from = resume
    runner = _build_runner(cfg)
    runner.train()
    return runner


def test(config: str,
         checkpoint: str,
         work_dir: Optional[str] = None,
         cfg_options: Optional[dict] = None,
         out: Optional[str] = None,
         show_dir: Optional[str] = None,
         show: bool = False,
         wait_time: float = 2.0,
         launcher: str = 'none') -> dict:
    """Evaluate a checkpoint, as ``tools/test.py`` does.

    Args:
        config (str): Path of the config file.
        checkpoint (str): Path of the checkpoint to evaluate.
        work_dir (str, optional): Output folder for logs and metrics.
        cfg_options (dict, optional): Config overrides.
        out (str, optional): Dump raw predictions to this ``.pkl`` file.
        show_dir (str, optional): Write visualised predictions to this
            folder (relative to the run's timestamped work_dir folder).
        show (bool): Show predictions in a window. Defaults to False.
        wait_time (float): Seconds between shown images. Defaults to 2.
        launcher (str): Job launcher. Defaults to ``'none'``.

    Returns:
        dict: The test metrics.
    """
    from mmdet.engine.hooks.utils import trigger_visualization_hook
    from mmdet.evaluation import DumpDetResults

    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    if out is not None and not out.endswith(('.pkl', '.pickle')):
        raise ValueError(f'--out must be a .pkl file, got {out}')
    cfg = load_config(config, cfg_options, work_dir, launcher)
    cfg.load_from = checkpoint
    if show or show_dir:
        cfg = trigger_visualization_hook(
            cfg, ConfigDict(show=show, show_dir=show_dir,
                            wait_time=wait_time))
    runner = _build_runner(cfg)
    load_local_backbone_weights(runner.model)
    if out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=out))
    return runner.test()


def load_local_backbone_weights(model) -> int:
    """Load the local weight files that modules name in their config.

    mmengine's test loop never calls ``init_weights``, so a backbone whose
    weights come from its own ``checkpoint`` (a CLIP file: zero-shot
    RegionCLIP) would be evaluated with random weights wherever the tested
    checkpoint lacks them. Only modules with a local ``checkpoint`` file and
    a ``load_clip_weights`` method are loaded (no ``torchvision://``
    downloads); the tested checkpoint is loaded afterwards and wins.

    Args:
        model (nn.Module): The model (possibly wrapped).

    Returns:
        int: The number of modules loaded.
    """
    loaded = 0
    for module in model.modules():
        if getattr(module, 'checkpoint', None) and hasattr(
                module, 'load_clip_weights') and not module.is_init:
            module.init_weights()
            loaded += 1
    return loaded

