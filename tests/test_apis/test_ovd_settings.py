"""Fine-tuning and pretraining recipes of the synthetic OVD experiment."""
import pytest

from mmregion.apis.ovd_experiment import FINETUNE_CONFIG, PRETRAIN_CONFIG
from mmregion.apis.ovd_rpn import offline_rpn_options
from mmregion.apis.ovd_settings import (
    FINETUNE_RECIPES,
    PRETRAIN_RECIPES,
    finetune_schedule,
    pretrain_schedule,
)
from mmregion.apis.runner import load_config


@pytest.mark.parametrize('name', sorted(FINETUNE_RECIPES))
def test_recipes_apply_to_the_finetuning_config(name):
    cfg = load_config(FINETUNE_CONFIG, FINETUNE_RECIPES[name])
    # the config's default is the frozen recipe
    frozen = name in ('frozen', 'quality', 'config')
    # the frozen recipe cannot learn the background: objectness scores it
    assert cfg.model.roi_head.get('use_objectness', False) is frozen
    assert cfg.model.backbone.frozen_stages == {
        'config': 4, 'regionclip': 1, 'frozen': 4, 'quality': 4,
        'trained': -1}[name]
    backbone = cfg.optim_wrapper.paramwise_cfg.custom_keys.backbone
    assert (backbone.lr_mult, backbone.decay_mult) == {
        'config': (0.0, 0.0), 'frozen': (0.0, 0.0), 'quality': (0.0, 0.0),
        'regionclip': (0.1, 1.0), 'trained': (1.0, 1.0)}[name]
    quality = cfg.model.roi_head.get('quality_head')
    if name == 'quality':
        assert quality.type == 'RegionQualityHead'
        # the head reads the config's res4 RoI features
        assert (quality.in_channels, quality.roi_size) == (
            cfg.model.roi_head.bbox_roi_extractor.out_channels,
            cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size)
    else:
        assert quality is None


@pytest.mark.parametrize('name', sorted(PRETRAIN_RECIPES))
def test_recipes_apply_to_the_pretraining_config(name):
    cfg = load_config(PRETRAIN_CONFIG, PRETRAIN_RECIPES[name])
    optimizer = cfg.optim_wrapper.optimizer
    assert cfg.model.get('caption_concepts', False) is (name == 'grounded')
    assert cfg.model.concept_threshold == (0.1 if name == 'config' else 0.9)
    if name == 'grounded':
        # the SGD settings are replaced, not merged into AdamW's
        assert dict(optimizer) == dict(type='AdamW', lr=1e-4,
                                       weight_decay=0.01)
    else:
        assert optimizer.type == 'SGD'
        assert optimizer.lr == (0.01 if name == 'config' else 0.001)
    # all three losses stay on
    assert set(cfg.model.loss_weights.values()) == {1.0}


def test_offline_rpn_options_name_the_checkpoint(tmp_path):
    options = offline_rpn_options(str(tmp_path / 'rpn.pth'), 7, 0.6)
    cfg = load_config(PRETRAIN_CONFIG, options)
    rpn = cfg.model.offline_rpn
    assert rpn.type == 'RPN' and rpn.train_cfg is None
    assert rpn.init_cfg.checkpoint == str(tmp_path / 'rpn.pth')
    assert rpn.test_cfg.rpn.max_per_img == 7
    assert rpn.test_cfg.rpn.nms.iou_threshold == 0.6
    assert cfg.model.num_regions == 7
    assert 'grid_boxes' in cfg.model  # unused with an offline RPN


def test_finetune_schedule_steps_and_keeps_the_last_checkpoint():
    cfg = load_config(FINETUNE_CONFIG, finetune_schedule(8))
    assert cfg.train_cfg.max_epochs == 8
    assert cfg.param_scheduler[1].end == 8
    assert cfg.param_scheduler[1].milestones == [6, 7]
    # one test after training, on the last checkpoint only
    assert cfg.val_dataloader is None and cfg.val_evaluator is None
    assert cfg.default_hooks.checkpoint.max_keep_ckpts == 1


def test_pretrain_schedule_saves_once_at_the_end():
    cfg = load_config(PRETRAIN_CONFIG, pretrain_schedule(50))
    assert cfg.train_cfg.max_iters == 50
    assert cfg.param_scheduler[1].milestones == [40]
    assert cfg.default_hooks.checkpoint.interval == 50
