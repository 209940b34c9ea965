"""Every shipped config loads, inherits from mmdet, and builds its model."""
import glob
import os.path as osp

import pytest
from conftest import REPO
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope

CONFIGS = sorted(
    p for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                         recursive=True) if '_base_' not in p)


def test_configs_found():
    assert len(CONFIGS) >= 3


FILE_KEYS = ('checkpoint', 'train_vocabulary', 'test_vocabulary')
# files that cannot be None: a pretraining concept pool becomes two names,
# embedded with one prompt template (81 take half a minute on 2 cores)
STAND_INS = dict(concepts=['cat', 'dog'], templates='simple')


def _without_files(cfg):
    """The config with local weight/vocabulary files removed (tests have
    none): ``init_cfg`` and the keys in FILE_KEYS become None, those in
    STAND_INS their stand-in."""
    if isinstance(cfg, dict):
        return {
            k: STAND_INS[k] if k in STAND_INS else
            None if k in FILE_KEYS + ('init_cfg', ) else _without_files(v)
            for k, v in cfg.items()
        }
    if isinstance(cfg, (list, tuple)):
        return type(cfg)(_without_files(v) for v in cfg)
    return cfg


EXPECTED = {
    'pretrain': ('RegionPretrainer', 'CLIPResNet'),
    'resnet_se': ('MaskRCNN', 'ResNetSE'),
    'mask-rcnn': ('MaskRCNN', 'ResNetSE'),
    'regionclip': ('RegionCLIP', 'CLIPResNet'),
    'yolactpp': ('YOLACT', 'IntervalDCNResNet'),
    'yolact_plus': ('YOLACT', 'IntervalDCNResNet'),
    'yolact': ('YOLACT', 'ResNet'),
    'ms-rcnn_resnetse': ('MaskScoringRCNN', 'ResNetSE'),
    'ms-rcnn_clip': ('MaskScoringRCNN', 'CLIPResNet'),
    'ms-rcnn': ('MaskScoringRCNN', 'ResNet'),
    'rpn_': ('RPN', 'ResNet'),
}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, REPO))
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.custom_imports.imports == [
        'mmregion', 'mmregion.engine.checkpoint_loader'
    ]
    init_default_scope('mmdet')
    model = MODELS.build(ConfigDict(_without_files(cfg.model.to_dict())))
    name = osp.basename(path)
    detector, backbone = next(v for k, v in EXPECTED.items() if k in name)
    assert type(model).__name__ == detector
    assert type(model.backbone).__name__ == backbone


def test_coco_config_has_the_seed_schedule():
    cfg = Config.fromfile(
        osp.join(REPO,
                 'configs/resnet_se/mask-rcnn_resnetse50_fpn_1x_coco.py'))
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


@pytest.mark.parametrize('clip,res5,mask_size', [('rn50', 2048, 14),
                                                 ('rn50x4', 2560, 18)])
def test_regionclip_lvis_configs_have_the_official_recipe(
        clip, res5, mask_size):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', 'regionclip',
                 f'regionclip_{clip}_c4_1x_lvis-ovd.py'))
    # SGD, 16 images per step (8 GPUs x 2), lr 0.002, 180k iterations
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr.base_batch_size == 16
    assert cfg.optim_wrapper.optimizer.lr == 0.002
    assert cfg.train_cfg.max_iters == 180000
    warmup, steps = cfg.param_scheduler
    assert warmup.end == 5000 and steps.milestones == [120000, 160000]
    # repeat-factor sampling over the 866 base classes, test on all 1203
    sampled = cfg.train_dataloader.dataset
    assert sampled.type == 'ClassBalancedDataset'
    assert sampled.oversample_thr == 1e-3
    assert sampled.dataset.type == 'LVISOVDDataset'
    assert sampled.dataset.class_group == 'base'
    assert cfg.val_dataloader.dataset.class_group == 'all'
    assert dict(type='LoadAnnotations', with_bbox=True,
                with_mask=True) in sampled.dataset.pipeline
    head = cfg.model.roi_head
    assert head.bbox_head.train_vocabulary.endswith(
        'lvis_866_base_cls_emb' + ('_rn50x4' if clip == 'rn50x4' else '') +
        '.pth')
    assert head.bbox_head.loss_cls == dict(
        type='FocalScaledCrossEntropyLoss', gamma=None, bg_weight=0.8)
    # the class-agnostic mask head on the res5 RoI maps
    assert head.mask_roi_extractor is None
    assert head.mask_head.class_agnostic and head.mask_head.num_convs == 0
    assert head.mask_head.in_channels == res5
    assert cfg.model.train_cfg.rcnn.mask_size == mask_size
    assert cfg.val_evaluator.metric == ['bbox', 'segm']
    # the LVIS R50-FPN offline RPN
    rpn = cfg.model.offline_rpn
    assert rpn.neck.type == 'FPN' and rpn.backbone.num_stages == 4
    assert rpn.rpn_head.anchor_generator.strides == [4, 8, 16, 32, 64]


@pytest.mark.parametrize('name,clip,pooler', [
    ('regionclip-pretrain_rn50_c4_600k_cc3m.py', 'RN50', 14),
    ('regionclip-pretrain_rn50x4_c4_600k_cc3m.py', 'RN50x4', 18),
    ('regionclip-pretrain_rn50_c4_600k_coco-caption.py', 'RN50', 14),
])
def test_pretrain_configs_have_the_official_recipe(name, clip, pooler):
    cfg = Config.fromfile(osp.join(REPO, 'configs', 'pretrain', name))
    # SGD, 96 images per step (32 GPUs x 3), lr 0.002, 600k iterations,
    # steps at 300k and 525k, gradient norm clipped at 5
    assert cfg.train_dataloader.batch_size == 3
    assert cfg.auto_scale_lr.base_batch_size == 96
    assert cfg.optim_wrapper.optimizer.lr == 0.002
    assert cfg.optim_wrapper.clip_grad.max_norm == 5.0
    assert cfg.train_cfg.max_iters == 600000
    assert cfg.param_scheduler[1].milestones == [300000, 525000]
    model = cfg.model
    assert model.backbone.model_name == model.text_encoder.model_name == clip
    assert model.roi_extractor.roi_layer.output_size == pooler
    assert (model.temperature, model.concept_threshold) == (0.01, 0.1)
    assert model.num_regions == 100
    assert model.offline_rpn.test_cfg.rpn.max_per_img == 300
    assert model.offline_rpn.test_cfg.rpn.nms.iou_threshold == 0.5
    assert 'captions' in cfg.train_dataloader.dataset.pipeline[-1].meta_keys
