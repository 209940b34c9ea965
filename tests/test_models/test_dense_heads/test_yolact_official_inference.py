"""The options that reproduce dbolya/yolact's inference (official configs).

Each test fails with mmdet's behaviour (the default), which differs from
the official one in exactly the way the option removes.
"""
import math

import pytest
import torch
from conftest import REPO
from mmdet.registry import MODELS
from mmengine.config import Config

from mmregion.models.dense_heads.batched_yolact_protonet import (
    official_box_clip,
)
from mmregion.models.layers import batched_fast_nms

OFFICIAL = f'{REPO}/configs/yolact/official/yolact_resnet50.py'


def _official_detect(boxes, scores, thr, iou_thr, top_k, max_num):
    """dbolya/yolact's Detect (Fast NMS), written out for one image."""
    from mmdet.structures.bbox import bbox_overlaps
    keep_anchor = scores.max(1).values > thr
    boxes, scores = boxes[keep_anchor], scores[keep_anchor].t()  # (C, n)
    cls_scores, idx = scores.sort(1, descending=True)
    cls_scores, idx = cls_scores[:, :top_k], idx[:, :top_k]
    out = []
    for c in range(len(scores)):
        b = boxes[idx[c]]
        iou = bbox_overlaps(b, b).triu(diagonal=1).max(0).values
        for j in (iou <= iou_thr).nonzero().flatten().tolist():
            out.append((float(cls_scores[c, j]), c, int(idx[c, j])))
    out.sort(reverse=True)
    return out[:max_num]


def test_max_class_threshold_is_the_official_detect():
    torch.manual_seed(0)
    n, c = 60, 4
    xy = torch.rand(n, 2) * 50
    boxes = torch.cat([xy, xy + 10 + torch.rand(n, 2) * 20], 1)
    scores = torch.rand(n, c) ** 8  # many below 0.05 in some classes
    coeffs = torch.arange(n, dtype=torch.float32)[:, None]  # anchor index
    ref = _official_detect(boxes, scores, 0.05, 0.5, 50, 1000)
    dets = batched_fast_nms(boxes[None], scores[None], coeffs[None], 0.05,
                            0.5, 50, 1000, score_thr_mode="max_class")
    kept = dets.valid[0]
    valid_anchor = (scores.max(1).values > 0.05).nonzero().flatten()
    ours = list(zip(dets.scores[0][kept].tolist(),
                    dets.labels[0][kept].tolist(),
                    dets.coeffs[0][kept, 0].long().tolist()))
    assert len(ours) == len(ref) > 40
    for (s, lab, a), (rs, rlab, ra) in zip(ours, ref):
        assert (lab, a) == (rlab, int(valid_anchor[ra]))
        assert s == pytest.approx(rs)
    # some official detections score below the threshold: mmdet's
    # per-class threshold drops them, so it cannot reproduce the official
    assert min(s for s, _, _ in ref) < 0.05
    mmdet_dets = batched_fast_nms(boxes[None], scores[None], coeffs[None],
                                  0.05, 0.5, 50, 1000)
    assert mmdet_dets.scores[0][mmdet_dets.valid[0]].min() > 0.05
    with pytest.raises(ValueError, match="score_thr_mode must be"):
        batched_fast_nms(boxes[None], scores[None], coeffs[None], 0.05,
                         0.5, 20, 50, score_thr_mode='per_anchor')


def _head(**changes):
    cfg = Config.fromfile(OFFICIAL).model.bbox_head
    cfg.update(changes)
    return MODELS.build(cfg)


def test_no_wh_clamp_decodes_large_deltas_as_the_official():
    prior = torch.tensor([[[100., 100., 140., 120.]]])  # w 40, h 20
    delta = torch.tensor([[[0., 0., 25., -25.]]])  # dw = 5, dh = -5
    meta = [dict(img_shape=(550, 550))]
    box = _head()._decode(prior, delta, meta)[0, 0]
    # official: w = w_p * exp(0.2 * 25), centred on the prior, no clip
    w, h = 40 * math.exp(5), 20 * math.exp(-5)
    expected = torch.tensor([120 - w / 2, 110 - h / 2, 120 + w / 2,
                             110 + h / 2])
    torch.testing.assert_close(box, expected)
    # mmdet's default clamps |dw| at |log(16 / 1000)| (and clips)
    clamped = _head(wh_ratio_clip=16 / 1000,
                    bbox_coder=dict(clip_border=False))._decode(
                        prior, delta, meta)[0, 0]
    assert float(clamped[2] - clamped[0]) == pytest.approx(
        40 * 1000 / 16, rel=1e-5)


def test_official_config_does_not_clip_before_nms():
    # two boxes far outside the image on the right: unclipped IoU 1/3,
    # clipped to x <= 550 they coincide (IoU 1) and one would be suppressed
    prior = torch.tensor([[[500., 100., 800., 200.],
                           [500., 100., 650., 200.]]])
    meta = [dict(img_shape=(550, 550))]
    boxes = _head()._decode(prior, torch.zeros(1, 2, 4), meta)
    scores = torch.tensor([[[0.9], [0.8]]])
    dets = batched_fast_nms(boxes, scores, torch.zeros(1, 2, 1), 0.05, 0.5,
                            200, 100, 'max_class')
    assert int(dets.valid.sum()) == 2
    clipped = _head(bbox_coder=dict(clip_border=True))._decode(
        prior, torch.zeros(1, 2, 4), meta)
    dets = batched_fast_nms(clipped, scores, torch.zeros(1, 2, 1), 0.05,
                            0.5, 200, 100, 'max_class')
    assert int(dets.valid.sum()) == 1


def test_official_box_clip_clamps_one_side_and_truncates():
    boxes = torch.tensor([[-3.7, 2.9, 20.5, 700.2],   # clamp x1, y2
                          [630., 10.2, 650.9, 30.99],  # right of the image
                          [5.5, 8.0, 1.2, 3.3]])       # swapped corners
    out = official_box_clip(boxes, h=480, w=643)
    assert out.tolist() == [[0., 2., 20., 480.], [630., 10., 643., 30.],
                            [1., 3., 5., 8.]]


def test_clip_boxes_option_in_the_protonet():
    cfg = Config.fromfile(OFFICIAL).model.mask_head
    assert cfg.clip_boxes == 'official'
    cfg.clip_boxes = 'after'
    with pytest.raises(ValueError, match="clip_boxes must be 'none' or"):
        MODELS.build(cfg)
