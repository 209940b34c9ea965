"""Every shipped config loads, inherits from mmdet, and builds its model."""
import glob
import os.path as osp

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_found():
    assert len(CONFIGS) >= 3


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == ['mmregion']
    init_default_scope('mmdet')
    model_cfg = cfg.model.copy()
    model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg)
    assert type(model).__name__ in ('MaskRCNN', )
    assert type(model.backbone).__name__ == 'ResNetSE'


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
