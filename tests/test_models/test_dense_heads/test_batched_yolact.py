"""mmregion's batched YOLACT heads against mmdet's YOLACT, plus the fixes."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.mask import BitmapMasks
from mmengine.structures import InstanceData
from tiny_yolact import (
    SHAPES,
    as_mmdet,
    calibrate_bn,
    samples,
    tiny_yolact_cfg,
)


def build_pair(seed=0):
    torch.manual_seed(seed)
    cfg = tiny_yolact_cfg()
    ours = MODELS.build(cfg)
    ours.init_weights()
    calibrate_bn(ours)
    ref = MODELS.build(as_mmdet(cfg))
    ref.load_state_dict(ours.state_dict())
    return ours.eval(), ref.eval()


def test_predictions_equal_mmdet_yolact_with_the_same_weights():
    ours, ref = build_pair()
    torch.manual_seed(1)
    inputs = torch.randn(3, 3, 96, 96)
    with torch.no_grad():
        got = ours.predict(inputs, samples(SHAPES))
        want = ref.predict(inputs, samples(SHAPES))
    for g, w, shape in zip(got, want, SHAPES):
        g, w = g.pred_instances, w.pred_instances
        assert len(w) > 10
        torch.testing.assert_close(g.bboxes, w.bboxes)
        torch.testing.assert_close(g.scores, w.scores)
        assert torch.equal(g.labels, w.labels)
        assert g.masks.shape == (len(w), ) + shape
        assert g.masks.dtype == torch.bool
        assert (g.masks != w.masks).float().mean() < 1e-4


def test_no_detection_gives_empty_results_with_mask_shape():
    ours, _ = build_pair()
    ours.bbox_head.test_cfg.score_thr = 1.0
    with torch.no_grad():
        got = ours.predict(torch.randn(2, 3, 96, 96), samples(SHAPES[:2]))
    for res, shape in zip(got, SHAPES[:2]):
        assert len(res.pred_instances) == 0
        assert res.pred_instances.masks.shape[1:] == shape


def test_standard_nms_option_keeps_at_least_fast_nms_detections():
    ours, _ = build_pair()
    inputs = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        fast = ours.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
        ours.bbox_head.nms_type = 'standard'
        std = ours.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
    assert len(std) >= len(fast) > 0


def test_losses_match_mmdet_except_the_fixed_segmentation_target():
    ours, ref = build_pair()
    ours.train()
    ref.train()
    inputs = torch.randn(2, 3, 96, 96)
    torch.manual_seed(0)
    got = ours.loss(inputs, samples(SHAPES[:2]))
    torch.manual_seed(0)
    want = ref.loss(inputs, samples(SHAPES[:2]))
    for key in ('loss_cls', 'loss_bbox'):
        torch.testing.assert_close(sum(got[key]), sum(want[key]))
    torch.testing.assert_close(got['loss_mask'], sum(want['loss_mask']))
    for value in got.values():
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value) and value > 0


def test_segmentation_target_uses_the_label_channel():
    """mmdet 3.3.0 writes class c into channel c - 1 (class 0 into the last
    channel); a prediction that is right for label 0 must get a low loss."""
    ours, ref = build_pair()
    mask = torch.zeros(1, 96, 96)
    mask[0, 10:60, 10:60] = 1
    pred = torch.full((8, 24, 24), -20.)
    pred[0, 3:15, 3:15] = 20.
    label = torch.tensor([0])
    ours_loss = ours.mask_head._segm_loss(pred, mask, label, 1)
    assert ours_loss < 0.01
    gt = InstanceData(
        bboxes=torch.tensor([[10., 10., 60., 60.]]),
        labels=label,
        masks=BitmapMasks(mask.byte().numpy(), 96, 96))
    pos = InstanceData(pos_assigned_gt_inds=torch.zeros(0, dtype=torch.long))
    _, _, mmdet_target, _, _ = ref.mask_head._get_targets_single(
        torch.zeros(0, 24, 24), pred, gt, pos)
    assert mmdet_target[-1].sum() > 0 and mmdet_target[0].sum() == 0


def test_without_segmentation_branch_training_works():
    cfg = tiny_yolact_cfg()
    cfg.mask_head.with_seg_branch = False
    model = MODELS.build(cfg).train()
    losses = model.loss(torch.randn(2, 3, 96, 96), samples(SHAPES[:2]))
    assert 'loss_segm' not in losses and losses['loss_mask'] > 0
    ref = MODELS.build(as_mmdet(cfg)).train()
    with pytest.raises(AttributeError):  # mmdet 3.3.0 calls None.size()
        ref.loss(torch.randn(2, 3, 96, 96), samples(SHAPES[:2]))


def test_images_without_ground_truth_give_finite_losses():
    cfg = tiny_yolact_cfg(plus=True)
    model = MODELS.build(cfg).train()
    batch = samples(SHAPES[:1]) + samples(SHAPES[:1], with_gt=False)
    losses = model.loss(torch.randn(2, 3, 96, 96), batch)
    for value in losses.values():
        value = sum(value) if isinstance(value, list) else value
        assert torch.isfinite(value)
    empty = model.loss(
        torch.randn(1, 3, 96, 96), samples(SHAPES[:1], with_gt=False))
    assert empty['loss_mask'] == 0 and empty['loss_mask_iou'] == 0
    assert empty['loss_segm'] > 0  # all-background semantic target


def test_yolactpp_trains_the_rescoring_head():
    torch.manual_seed(0)
    model = MODELS.build(tiny_yolact_cfg(plus=True))
    model.init_weights()
    model.train()
    losses = model.loss(torch.randn(2, 3, 96, 96), samples(SHAPES[:2]))
    assert torch.isfinite(losses['loss_mask_iou'])
    losses['loss_mask_iou'].backward()
    grad = model.mask_head.mask_iou_head.convs[0].weight.grad
    assert grad is not None and grad.abs().sum() > 0
    # the re-scoring loss does not train the protonet
    assert model.mask_head.protonet[0].weight.grad is None


def test_rescoring_multiplies_scores_by_the_predicted_iou_of_the_label():
    torch.manual_seed(0)
    cfg = tiny_yolact_cfg(plus=True)
    plus = MODELS.build(cfg).eval()
    plain_cfg = copy.deepcopy(cfg)
    plain_cfg.mask_head.mask_iou_head = None
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict(plus.state_dict(), strict=False)
    seen = {}

    def fake_iou(feat, masks):
        seen['masks'] = masks
        iou = torch.linspace(0.1, 0.9, 8).repeat(len(masks), 1)
        return iou

    plus.mask_head.mask_iou_head.forward = fake_iou
    inputs = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        got = plus.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
        want = plain.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
    # the head sees the cropped full-image masks at proto resolution
    assert seen['masks'].shape == (len(want), 24, 24)
    assert seen['masks'].min() >= 0
    torch.testing.assert_close(
        got.scores, want.scores * torch.linspace(0.1, 0.9, 8)[want.labels])


def test_rescore_mask_keeps_box_scores_and_adds_mask_scores():
    """``rescore='mask'`` (official YOLACT++ evaluation): ``scores`` stay
    the class scores, ``mask_scores`` are class score x predicted IoU."""
    torch.manual_seed(0)
    cfg = tiny_yolact_cfg(plus=True)
    cfg.mask_head.rescore = 'mask'
    plus = MODELS.build(cfg).eval()
    plain_cfg = copy.deepcopy(cfg)
    plain_cfg.mask_head.mask_iou_head = None
    plain = MODELS.build(plain_cfg).eval()
    plain.load_state_dict(plus.state_dict(), strict=False)
    iou = torch.linspace(0.1, 0.9, 8)
    plus.mask_head.mask_iou_head.forward = \
        lambda feat, masks: iou.repeat(len(masks), 1)
    inputs = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        got = plus.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
        want = plain.predict(inputs, samples(SHAPES[:1]))[0].pred_instances
    assert len(want) > 0
    torch.testing.assert_close(got.scores, want.scores)
    torch.testing.assert_close(got.mask_scores,
                               want.scores * iou[want.labels])


def test_rescore_rejects_an_unknown_mode():
    cfg = tiny_yolact_cfg(plus=True)
    cfg.mask_head.rescore = 'boxes'
    with pytest.raises(ValueError, match="rescore must be 'all' or 'mask'"):
        MODELS.build(cfg)


def test_interval_dcn_resnet_places_dcn_every_third_block():
    backbone = MODELS.build(tiny_yolact_cfg(plus=True).backbone)
    with_dcn = {
        name: [i for i, blk in enumerate(getattr(backbone, name))
               if blk.with_dcn]
        for name in backbone.res_layers
    }
    assert with_dcn == dict(layer1=[], layer2=[0, 3], layer3=[0, 3],
                            layer4=[0])
    out = backbone(torch.randn(1, 3, 64, 64))
    assert [o.shape[1] for o in out] == [32, 64, 128, 256]


def test_interval_dcn_resnet_rejects_a_bad_interval():
    cfg = tiny_yolact_cfg(plus=True).backbone
    cfg.dcn_interval = 0
    with pytest.raises(ValueError, match='dcn_interval must be >= 1'):
        MODELS.build(cfg)
