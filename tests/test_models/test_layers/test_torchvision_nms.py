"""Per-class NMS as detectron2 runs it, against mmdet's multiclass_nms."""
import pytest
import torch
from mmdet.models.layers import multiclass_nms
from mmengine.config import ConfigDict
from torchvision.ops import nms

from mmregion.models.layers import multiclass_nms_torchvision

NUM_CLASSES = 1203  # LVIS


def _candidates(num_fillers: int = 1100):
    """Two small boxes of the last class whose IoU is 0.5008 (just above
    the 0.5 threshold), and far-away fillers of class 0 that push the
    candidate count past torchvision's 1000-box switch."""
    pair = torch.tensor([[1000.06, 500.0, 1015.06, 515.0],
                         [1005.05, 500.0, 1020.05, 515.0]])
    xy = torch.arange(num_fillers, dtype=torch.float32)[:, None] % 30 * 40
    fillers = torch.cat([xy, xy % 700, xy + 20, xy % 700 + 20], dim=1)
    boxes = torch.cat([pair, fillers])
    scores = torch.zeros(len(boxes), NUM_CLASSES + 1)
    scores[0, NUM_CLASSES - 1], scores[1, NUM_CLASSES - 1] = 0.9, 0.8
    scores[2:, 0] = torch.linspace(0.7, 0.1, num_fillers)
    return boxes, scores


def _reference(boxes, scores, thr, iou):
    """Per-class NMS on the boxes themselves, best first."""
    kept = []
    for c in range(scores.shape[1] - 1):
        idx = (scores[:, c] > thr).nonzero().flatten()
        for i in idx[nms(boxes[idx], scores[idx, c], iou)].tolist():
            kept.append((float(scores[i, c]), c, i))
    return sorted(kept, reverse=True)


def test_mmcv_rounds_class_offsets_and_keeps_a_suppressed_box():
    boxes, scores = _candidates()
    ref = _reference(boxes, scores, 0.001, 0.5)
    assert (0.8, NUM_CLASSES - 1, 1) not in ref  # IoU 0.5008 suppresses it
    dets, labels = multiclass_nms(boxes, scores, 0.001,
                                  dict(type='nms', iou_threshold=0.5), -1)
    # the bug: after the offset (1202 x 1021 px) float32 steps are 0.125 px
    assert len(dets) == len(ref) + 1
    assert torch.equal(dets[1, :4], boxes[1])


def test_torchvision_multiclass_nms_is_the_exact_per_class_nms():
    boxes, scores = _candidates()
    ref = _reference(boxes, scores, 0.001, 0.5)
    dets, labels = multiclass_nms_torchvision(boxes, scores, 0.001, 0.5, -1)
    assert len(dets) == len(ref)
    got = sorted(zip(dets[:, 4].tolist(), labels.tolist()), reverse=True)
    assert got == [(s, c) for s, c, _ in ref]
    assert torch.equal(dets[:2, :4], torch.stack([boxes[0], boxes[2]]))
    top, _ = multiclass_nms_torchvision(boxes, scores, 0.001, 0.5, 10)
    assert torch.equal(top, dets[:10])


def test_regionclip_head_nms_backend_option():
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = dict(type='RegionCLIPBBoxHead', embed_dim=8,
               train_vocabulary=torch.randn(3, 8), nms_backend='cuda')
    with pytest.raises(ValueError, match="nms_backend must be one of"):
        MODELS.build(cfg)
    head = MODELS.build(dict(cfg, nms_backend='torchvision'))
    boxes, scores = _candidates(20)
    test_cfg = ConfigDict(score_thr=0.001, max_per_img=100,
                          nms=dict(type='soft_nms', iou_threshold=0.5))
    with pytest.raises(ValueError, match='runs hard NMS only'):
        head._nms(boxes, scores, test_cfg)
    test_cfg.nms.type = 'nms'
    dets, labels = head._nms(boxes, scores, test_cfg)
    # 22 candidates: torchvision (and so detectron2) also offsets by class
    # below 1000 boxes, rounding alike: the pair survives, as officially
    assert labels[0] == NUM_CLASSES - 1 and len(dets) == 22
