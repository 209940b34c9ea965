"""Every shipped config loads, inherits from mmdet, and builds its model."""
import glob
import os.path as osp

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

from conftest import REPO

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_found():
    assert len(CONFIGS) >= 3


FILE_KEYS = ('checkpoint', 'train_vocabulary', 'test_vocabulary')


def _without_files(cfg):
    """The config with local weight/vocabulary files removed (tests have
    none): ``init_cfg`` and the keys in FILE_KEYS become None."""
    if isinstance(cfg, dict):
        return {
            k: None if k in FILE_KEYS + ('init_cfg', ) else _without_files(v)
            for k, v in cfg.items()
        }
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_without_files(v) for v in cfg)
    return cfg


EXPECTED = {
    'resnet_se': ('MaskRCNN', 'ResNetSE'),
    'mask-rcnn': ('MaskRCNN', 'ResNetSE'),
    'regionclip': ('RegionCLIP', 'CLIPResNet'),
}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmregion']
    init_default_scope('mmdet')
    model = MODELS.build(ConfigDict(_without_files(cfg.model.to_dict())))
    name = osp.basename(path)
    detector, backbone = next(v for k, v in EXPECTED.items() if k in name)
    assert type(model).__name__ == detector
    assert type(model.backbone).__name__ == backbone


def test_coco_config_has_the_seed_schedule():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/resnet_se/mask-rcnn_resnetse50_fpn_1x_coco.py'))
    assert cfg.optim_wrapper.optimizer.lr == 0.02
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.optim_wrapper.optimizer.weight_decay == 1e-4
    assert cfg.optim_wrapper.clip_grad.max_norm == 35
    warmup, steps = cfg.param_scheduler
    assert warmup.start_factor == pytest.approx(1 / 3) and warmup.end == 500
    assert steps.milestones == [8, 11]
    assert cfg.train_cfg.max_epochs == 12
    assert cfg.model.backbone.frozen_stages == 1
    assert cfg.model.neck.in_channels == [256, 512, 1024, 2048]
