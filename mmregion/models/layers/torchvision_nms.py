"""Per-class NMS through torchvision, as detectron2 (RegionCLIP) runs it.

mmcv's ``batched_nms`` (under mmdet's ``multiclass_nms``) always offsets
each box by ``class index x (max coordinate + 1)`` before one NMS call,
also on its per-class path. In float32 that rounds the coordinates: with
1203 LVIS classes and 1333-px images the offsets reach 1.6e6, where
float32 steps are 0.125 px, enough to move a small box's IoU across the
threshold (tests/test_models/test_layers/test_torchvision_nms.py).
torchvision's ``batched_nms``, which detectron2 calls, uses the offsets
only for small inputs (1000 boxes on a CPU) and otherwise runs NMS per
class on the boxes themselves. :func:`multiclass_nms_torchvision` is
mmdet's ``multiclass_nms`` contract (class-agnostic boxes, scores with the
background last) on torchvision's op, with detectron2's order of
candidates (proposal-major).
"""
from typing import Tuple

import torch
from torch import Tensor
from torchvision.ops import batched_nms


def multiclass_nms_torchvision(boxes: Tensor, scores: Tensor,
                               score_thr: float, iou_threshold: float,
                               max_per_img: int) -> Tuple[Tensor, Tensor]:
    """Threshold, per-class NMS and top-k of class-agnostic boxes.

    Args:
        boxes (Tensor): (n, 4) boxes, one per proposal.
        scores (Tensor): (n, C + 1) class scores, background last.
        score_thr (float): Candidates score strictly above it.
        iou_threshold (float): NMS IoU threshold.
        max_per_img (int): Detections kept (< 0: all).

    Returns:
        tuple[Tensor, Tensor]: Detections (k, 5) as ``x1, y1, x2, y2,
        score``, best first, and their labels (k, ).
    """
    scores = scores[:, :-1]
    keep_mask = scores > score_thr
    inds = keep_mask.nonzero()
    cand_boxes = boxes[inds[:, 0]]
    cand_scores = scores[keep_mask]
    keep = batched_nms(cand_boxes.float(), cand_scores, inds[:, 1],
                       iou_threshold)
    if max_per_img >= 0:
        keep = keep[:max_per_img]
    dets = torch.cat([cand_boxes[keep], cand_scores[keep, None]], dim=1)
    return dets, inds[keep, 1]
