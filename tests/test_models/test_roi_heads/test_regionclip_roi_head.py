"""RegionCLIPRoIHead: the region path and the optional res5 mask head, on the
tiny RN-tiny CLIP."""
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

CONFIGS = osp.join(REPO, 'configs', 'synthetic')
MASK_CONFIG = osp.join(CONFIGS, 'regionclip_rn-tiny_c4-mask_shapes-ovd.py')
BOX_CONFIG = osp.join(CONFIGS, 'regionclip_rn-tiny_c4_shapes-ovd.py')
SIZE = 64


def _model(path: str, **changes):
    """The config's model with random weights and random vocabularies (6
    train classes, 8 test classes, 64-d), in train mode."""
    cfg = Config.fromfile(path)
    cfg.merge_from_dict({
        'model.backbone.checkpoint': None,
        'model.roi_head.bbox_head.train_vocabulary': torch.randn(6, 64),
        'model.roi_head.bbox_head.test_vocabulary': torch.randn(8, 64),
        # a random CLIP may rank the zero background logit first: keep all
        'model.test_cfg.rcnn.score_thr': 0.0,
        **{f'model.{k}': v
           for k, v in changes.items()},
    })
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def _batch(with_masks: bool = True):
    """One 64x64 image with two objects (and their masks)."""
    torch.manual_seed(0)
    image = torch.randn(1, 3, SIZE, SIZE)
    sample = DetDataSample(
        metainfo=dict(
            img_shape=(SIZE, SIZE),
            ori_shape=(SIZE, SIZE),
            pad_shape=(SIZE, SIZE),
            batch_input_shape=(SIZE, SIZE),
            scale_factor=(1.0, 1.0)))
    boxes = torch.tensor([[4., 6., 40., 30.], [20., 24., 60., 62.]])
    gt = InstanceData(bboxes=boxes, labels=torch.tensor([1, 4]))
    if with_masks:
        masks = torch.zeros(2, SIZE, SIZE, dtype=torch.uint8)
        for k, (x1, y1, x2, y2) in enumerate(boxes.long().tolist()):
            masks[k, y1:y2, x1:x2] = 1
        gt.masks = BitmapMasks(masks.numpy(), SIZE, SIZE)
    sample.gt_instances = gt
    return image, [sample]


def _count_calls(module):
    calls = []
    module.register_forward_hook(lambda *args: calls.append(args[1][0]))
    return calls


def test_mask_loss_reuses_the_box_paths_res5_maps():
    # a trained backbone (the config freezes it)
    model = _model(MASK_CONFIG, **{'backbone.frozen_stages': -1})
    assert model.roi_head.share_roi_extractor
    res5_calls = _count_calls(model.backbone.layer4)
    image, samples = _batch()
    losses = model.loss(image, samples)
    assert torch.isfinite(losses['loss_mask']) and losses['loss_mask'] > 0
    for key in ('loss_cls', 'loss_bbox', 'acc'):
        assert key in losses, key
    # res5 ran once, on the sampled RoIs (64 per image): no second pass for
    # the positives' masks.
    assert len(res5_calls) == 1
    assert res5_calls[0].shape[1:] == (128, 4, 4)
    losses['loss_mask'].backward()
    assert model.roi_head.mask_head.conv_logits.weight.grad.abs().sum() > 0
    # the mask loss trains res5 too
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.layer4.parameters())


def test_predict_returns_masks_of_the_image_size():
    model = _model(MASK_CONFIG).eval()
    res5_calls = _count_calls(model.backbone.layer4)
    image, samples = _batch()
    with torch.no_grad():
        pred = model.predict(image, samples)[0].pred_instances
    assert len(pred) > 0
    assert pred.masks.shape == (len(pred), SIZE, SIZE)
    assert pred.masks.dtype == torch.bool
    assert pred.labels.max() < 8  # the test vocabulary
    # res5 on the proposals, then on the detected boxes for their masks
    assert [c.shape[0] for c in res5_calls][1] == len(pred)


def test_mask_head_off_keeps_the_box_detector():
    model = _model(BOX_CONFIG)
    assert not model.roi_head.with_mask
    image, samples = _batch(with_masks=False)
    losses = model.loss(image, samples)
    assert 'loss_mask' not in losses
    assert torch.isfinite(losses['loss_cls'])
    model.eval()
    with torch.no_grad():
        pred = model.predict(image, samples)[0].pred_instances
    assert 'masks' not in pred
    assert pred.bboxes.shape == (len(pred), 4) and len(pred) > 0


def test_class_specific_mask_head_and_missing_encoder_raise():
    with pytest.raises(ValueError, match=r'mask_head \(FCNMaskHead\) must be '
                       r'class-agnostic \(class_agnostic=True\)'):
        _model(MASK_CONFIG, **{'roi_head.mask_head.class_agnostic': False,
                               'roi_head.mask_head.num_classes': 6})
    cfg = Config.fromfile(MASK_CONFIG)
    cfg.model.roi_head.bbox_head.update(
        train_vocabulary=torch.randn(6, 64), test_vocabulary=None)
    head = MODELS.build(cfg.model.roi_head)
    with pytest.raises(RuntimeError, match=r'no region encoder: .*'
                       r'set_region_encoder\(backbone.res5_regions, '
                       r'backbone.embed_res5\)'):
        head._bbox_forward((torch.zeros(1, 128, 4, 4), ),
                           torch.tensor([[0., 0., 0., 32., 32.]]))
