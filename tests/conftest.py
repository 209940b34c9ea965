"""Shared fixtures: the synthetic dataset and a tiny trainable config."""
import os.path as osp
import sys
from typing import Callable

import pytest
from mmengine.config import Config

import mmregion  # noqa: F401  (registers modules)
from mmregion.synthetic import ShapesConfig, generate_shapes_dataset

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO_CONFIG = osp.join(REPO, 'configs', 'synthetic',
                       'mask-rcnn_resnetse50-tiny_fpn_shapes.py')
PYTHON = sys.executable


@pytest.fixture(scope='session')
def shapes_root(tmp_path_factory) -> str:
    """A small synthetic dataset (16 train, 8 val images of 96x96)."""
    root = str(tmp_path_factory.mktemp('shapes'))
    generate_shapes_dataset(
        root, dict(train=16, val=8), seed=1,
        cfg=ShapesConfig(img_size=(96, 96), max_objects=3))
    return root


def write_tiny_config(shapes_root: str, path: str, **changes) -> str:
    """Write the tiny, deterministic variant of the demo config to ``path``.

    ``changes`` are merged into the config (dotted keys allowed).
    """
    cfg = Config.fromfile(DEMO_CONFIG)
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='Resize', scale=(96, 96), keep_ratio=True),
        dict(type='PackDetInputs')
    ]
    cfg.merge_from_dict({
        'model.backbone.base_channels': 8,
        'model.neck.in_channels': [32, 64, 128, 256],
        'model.neck.out_channels': 16,
        'model.rpn_head.in_channels': 16,
        'model.rpn_head.feat_channels': 16,
        'model.roi_head.bbox_roi_extractor.out_channels': 16,
        'model.roi_head.bbox_head.in_channels': 16,
        'model.roi_head.bbox_head.fc_out_channels': 32,
        'model.roi_head.mask_roi_extractor.out_channels': 16,
        'model.roi_head.mask_head.in_channels': 16,
        'model.roi_head.mask_head.conv_out_channels': 16,
        'train_dataloader.batch_size': 2,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.data_root': shapes_root,
        'train_dataloader.dataset.pipeline': pipeline,
        'val_dataloader.batch_size': 2,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'val_dataloader.dataset.data_root': shapes_root,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'test_dataloader.dataset.data_root': shapes_root,
        'val_evaluator.ann_file':
        osp.join(shapes_root, 'annotations/instances_val.json'),
        'test_evaluator.ann_file':
        osp.join(shapes_root, 'annotations/instances_val.json'),
        'train_cfg.max_epochs': 2,
        'train_cfg.val_interval': 100,
        'default_hooks.logger.interval': 1,
        'randomness': dict(seed=0, deterministic=True),
        'env_cfg.mp_cfg.mp_start_method': 'fork',
    })
    cfg.merge_from_dict(changes)
    cfg.dump(path)
    return path


@pytest.fixture
def tiny_config(shapes_root, tmp_path) -> Callable[..., str]:
    """Write a tiny, deterministic variant of the demo config.

    Returns a function ``make(**changes) -> path``; ``changes`` are merged
    into the config (dotted keys allowed) before it is dumped.
    """

    def make(name: str = 'tiny.py', **changes) -> str:
        return write_tiny_config(shapes_root, str(tmp_path / name),
                                 **changes)

    return make


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Resolve registry names in mmdet's scope, as configs do."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')


@pytest.fixture(autouse=True)
def restore_determinism():
    """Undo ``torch.use_deterministic_algorithms`` after each test: a runner
    built with ``randomness=dict(deterministic=True)`` turns it on for the
    whole process, which made later tests depend on the order they ran in."""
    import torch
    before = torch.are_deterministic_algorithms_enabled()
    yield
    torch.use_deterministic_algorithms(before)


@pytest.fixture
def mm_log():
    """Messages logged through mmengine's current logger during the test."""
    import logging

    from mmengine.logging import MMLogger
    messages = []
    handler = logging.Handler()
    handler.emit = lambda record: messages.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield messages
    logger.removeHandler(handler)


def reset_mm_singletons() -> None:
    """Forget mmengine's per-run singletons (message hub, visualisers) so
    that another runner can start in the same process."""
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.logging import MessageHub
    from mmengine.visualization import Visualizer
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()
