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
    try:
        cfg = Config.fromfile(config)
    except SyntaxError as error:
        raise SyntaxError(f'{config}: not a valid Python config file: '
                          f'{error.msg} (line {error.lineno})') from None
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
    check_vocabulary_fits(runner.model, runner.train_loop.dataloader.dataset,
                          'train', cfg)
    runner.train()
    return runner


def test(config: str,
         checkpoint: Optional[str],
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
        checkpoint (str, optional): Path of the checkpoint to evaluate;
            None evaluates the model with the weights its config names
            (``init_weights``: zero-shot with a CLIP backbone).
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

    if checkpoint is not None and not osp.isfile(checkpoint):
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
    check_vocabulary_fits(runner.model, runner.test_loop.dataloader.dataset,
                          'test', cfg)
    if checkpoint is None:
        runner.model.init_weights()  # zero-shot: the config's own weights
    else:
        check_checkpoint_fits(runner.model, checkpoint)
    load_local_backbone_weights(runner.model)
    if out is not None:
        runner.test_evaluator.metrics.append(DumpDetResults(out_file_path=out))
    return runner.test()


def check_vocabulary_fits(model, dataset, mode: str, cfg: Config) -> None:
    """Refuse a vocabulary whose class count is not the dataset's.

    An open-vocabulary head classifies against its vocabulary's rows, and
    the dataset's labels index its classes: a vocabulary of another length
    (e.g. all classes embedded for base-only training) would train or
    evaluate silently against the wrong classes.

    Args:
        model (nn.Module): The built model (possibly wrapped).
        dataset: The built train or test dataset.
        mode (str): ``'train'`` or ``'test'``.
        cfg (Config): The config (names the vocabulary file in messages).

    Raises:
        ValueError: Naming the vocabulary, both counts and the classes.
    """
    from .inference import vocabulary_head
    try:
        head = vocabulary_head(getattr(model, 'module', model))
    except ValueError:
        return  # not an open-vocabulary model
    emb = head.resolve_vocabulary(mode)  # vocabulary files are lazy
    rows = 0 if emb is None else len(emb)
    classes = tuple(dataset.metainfo.get('classes') or ())
    if not rows or not classes or rows == len(classes):
        return
    model_cfg = (cfg.model.get('roi_head') or {}).get('bbox_head') or (
        cfg.model.get('bbox_head') or {})
    source = model_cfg.get(f'{mode}_vocabulary') or f'the {mode} vocabulary'
    raise ValueError(
        f'{source}: {rows} embeddings but the {mode} dataset has '
        f'{len(classes)} classes {list(classes)}; embed exactly these '
        f'classes, in this order (tools/misc/extract_text_embeddings.py)')


def check_checkpoint_fits(model, checkpoint: str,
                          shown: int = 2) -> None:
    """Refuse a checkpoint whose weights do not fit the model.

    mmengine loads a tested checkpoint with ``strict=False`` and only logs
    size mismatches (weights of another architecture or another number of
    classes), then evaluates a partly random model. This check fails first,
    naming the keys.

    Args:
        model (nn.Module): The built model (possibly wrapped).
        checkpoint (str): The checkpoint file.
        shown (int): How many mismatched keys the message names.

    Raises:
        ValueError: If a weight has another shape than the model's, or no
            weight of the file is one of the model's.
    """
    import re

    from ..fileio import load_checkpoint_file
    state = load_checkpoint_file(checkpoint, map_location='cpu')
    state = state.get('state_dict', state) if isinstance(state, dict) else {}
    own = getattr(model, 'module', model).state_dict()
    state = {re.sub(r'^module\.', '', k): v for k, v in state.items()}
    bad = [(k, tuple(v.shape), tuple(own[k].shape))
           for k, v in state.items()
           if k in own and hasattr(v, 'shape') and v.shape != own[k].shape]
    if bad:
        named = '; '.join(f'{k}: {a} in the file, {b} in the model'
                          for k, a, b in bad[:shown])
        raise ValueError(
            f'{checkpoint}: {len(bad)} weight(s) have other shapes than the '
            f'model of the config (another architecture or number of '
            f'classes?): {named}')
    if state and not any(k in own for k in state):
        raise ValueError(
            f'{checkpoint}: none of its {len(state)} weights is a weight of '
            f'the model of the config (e.g. {next(iter(state))!r}); '
            f'expected a detector checkpoint of this config')


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

