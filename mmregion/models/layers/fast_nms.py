"""Fast NMS (YOLACT) and standard NMS, batched over images and classes.

mmdet's :func:`mmdet.models.layers.fast_nms` handles one image at a time; the
functions here take a whole batch as padded tensors and return padded
tensors, so a batch is post-processed with one set of tensor operations and no
Python loop over images or classes.
"""
from typing import NamedTuple

import torch
from mmcv.ops import batched_nms
from mmdet.structures.bbox import bbox_overlaps
from torch import Tensor

from .size_groups import round_up_pow2


class BatchedDetections(NamedTuple):
    """Padded per-image detections, best first.

    Attributes:
        bboxes (Tensor): (B, M, 4) boxes (x1, y1, x2, y2).
        scores (Tensor): (B, M) scores.
        labels (Tensor): (B, M) 0-based class indices.
        coeffs (Tensor): (B, M, K) mask coefficients.
        valid (Tensor): (B, M) bool; ``False`` marks padding.
    """
    bboxes: Tensor
    scores: Tensor
    labels: Tensor
    coeffs: Tensor
    valid: Tensor


def _select_best(scores: Tensor, keep: Tensor, bboxes: Tensor,
                 coeffs: Tensor, labels: Tensor,
                 max_num: int) -> BatchedDetections:
    """Keep the ``max_num`` best kept candidates of every image.

    Args:
        scores (Tensor): (B, P) candidate scores.
        keep (Tensor): (B, P) bool, candidates that survived NMS.
        bboxes (Tensor): (B, P, 4).
        coeffs (Tensor): (B, P, K).
        labels (Tensor): (B, P) class indices.
        max_num (int): Detections per image; ``<= 0`` keeps all survivors.

    Returns:
        BatchedDetections: Padded to the largest survivor count (at most
        ``max_num``).
    """
    num_kept = int(keep.sum(1).max()) if keep.numel() else 0
    m = num_kept if max_num <= 0 else min(max_num, num_kept)
    masked = scores.masked_fill(~keep, float('-inf'))
    top_scores, order = masked.topk(m, dim=1)
    valid = top_scores > float('-inf')
    return BatchedDetections(
        bboxes=bboxes.gather(1, order[..., None].expand(-1, -1, 4)),
        scores=top_scores.masked_fill(~valid, 0.),
        labels=labels.gather(1, order),
        coeffs=coeffs.gather(
            1, order[..., None].expand(-1, -1, coeffs.shape[-1])),
        valid=valid)


def _top_candidates(bboxes: Tensor, scores: Tensor, coeffs: Tensor,
                    score_thr: float, top_k: int,
                    score_thr_mode: str = 'per_class') -> tuple:
    """The best candidates of every (image, class), above the threshold.

    The ``top_k`` best per image and class, sorted, cut to the longest
    prefix above the threshold over the batch. With ``'per_class'`` a
    candidate is above when its class score exceeds ``score_thr``: one at or
    below it is never kept, and in a sorted list it can only suppress
    candidates that are below the threshold too, so dropping it changes no
    result of either NMS. With ``'max_class'`` (dbolya/yolact's ``Detect``)
    an anchor is a candidate of every class when its best class score
    exceeds ``score_thr``, whatever its score in that class.

    Args:
        bboxes (Tensor): (B, N, 4) boxes.
        scores (Tensor): (B, N, C) class scores.
        coeffs (Tensor): (B, N, K) mask coefficients.
        score_thr (float): Score threshold.
        top_k (int): Candidates per image and class.
        score_thr_mode (str): ``'per_class'`` or ``'max_class'``.

    Returns:
        tuple: ``scores`` (B, C, k) sorted descending, ``above`` (B, C, k)
        bool, ``bboxes`` (B, C, k, 4), ``coeffs`` (B, C * k, K), ``labels``
        (B, C * k).
    """
    b, n, c = scores.shape
    if score_thr_mode == 'max_class':
        valid = scores.max(-1, keepdim=True).values > score_thr
        scores = scores.masked_fill(~valid, float('-inf'))
        cls_scores, idx = scores.transpose(1, 2).topk(min(top_k, n), dim=2)
        above = cls_scores > float('-inf')
    elif score_thr_mode == 'per_class':
        cls_scores, idx = scores.transpose(1, 2).topk(min(top_k, n), dim=2)
        above = cls_scores > score_thr
    else:
        raise ValueError("score_thr_mode must be 'per_class' or "
                         f"'max_class', got {score_thr_mode!r}")
    k = int(above.sum(-1).max()) if above.numel() else 0
    cls_scores, idx, above = cls_scores[..., :k], idx[..., :k], above[..., :k]
    flat_idx = idx.reshape(b, c * k, 1)
    cand_boxes = bboxes.gather(1, flat_idx.expand(-1, -1, 4))
    cand_coeffs = coeffs.gather(1, flat_idx.expand(-1, -1, coeffs.shape[-1]))
    labels = torch.arange(
        c, device=scores.device).repeat_interleave(k).expand(b, -1)
    return (cls_scores, above, cand_boxes.view(b, c, k, 4), cand_coeffs,
            labels)


def _max_iou_with_better(boxes: Tensor, counts: Tensor,
                         min_width: int = 16) -> Tensor:
    """Per candidate, its largest IoU with a higher-scored candidate of the
    same (image, class) pair: the column maxima of the strictly upper
    triangular IoU matrix of Fast NMS.

    Pairs are padded to the largest candidate count, but most have a few
    candidates and a few have many. So the pairs are grouped by their count
    rounded up to a power of two (at least ``min_width``), and each group's
    IoU matrices are built only that wide: a handful of groups, each one
    batched tensor operation, instead of every pair at full width. Column
    ``j`` depends only on rows ``i < j``, so the maxima of the first
    ``counts`` columns are exactly those of the full-width matrix; the
    columns beyond are candidates at or below the score threshold and are
    returned as 0.

    Args:
        boxes (Tensor): (P, k, 4) candidates of each pair, best first.
        counts (Tensor): (P,) candidates above the threshold per pair
            (a prefix of each row).
        min_width (int): Narrowest group.

    Returns:
        Tensor: (P, k) maximum IoU with a better candidate.
    """
    k = boxes.shape[1]
    iou_max = boxes.new_zeros(boxes.shape[:2])
    widths = round_up_pow2(counts, min_width).clamp(max=k)
    for width in widths.unique().tolist():
        group = (widths == width).nonzero().squeeze(1)
        group_boxes = boxes[group, :width]
        iou_max[group, :width] = bbox_overlaps(
            group_boxes, group_boxes).triu_(diagonal=1).max(dim=1).values
    return iou_max


def batched_fast_nms(bboxes: Tensor,
                     scores: Tensor,
                     coeffs: Tensor,
                     score_thr: float,
                     iou_thr: float,
                     top_k: int,
                     max_num: int = -1,
                     score_thr_mode: str = 'per_class') -> BatchedDetections:
    """Fast NMS over a batch of images and all classes at once.

    Per image and class: take the ``top_k`` highest-scored candidates, build
    their IoU matrix, keep its strict upper triangle (IoU with higher-scored
    boxes), and drop a box whose column maximum exceeds ``iou_thr`` or whose
    score is at most ``score_thr``. Suppressed boxes may still suppress, as
    in the paper; the keeps equal mmdet's per-image ``fast_nms``. The IoU
    matrices are built only for (image, class) pairs with a candidate above
    the threshold, only over those candidates, and in a few groups of
    similar candidate counts (:func:`_max_iou_with_better`); there is no
    loop over images or classes.

    Args:
        bboxes (Tensor): (B, N, 4) class-agnostic candidate boxes.
        scores (Tensor): (B, N, C) foreground class scores (no background
            column).
        coeffs (Tensor): (B, N, K) mask coefficients of the candidates.
        score_thr (float): Minimum score (exclusive).
        iou_thr (float): Suppression IoU threshold (a box is kept when its
            max IoU with a higher-scored box is ``<= iou_thr``).
        top_k (int): Candidates per image and class before NMS.
        max_num (int): Detections per image after NMS; ``<= 0`` keeps all.
        score_thr_mode (str): ``'per_class'`` (mmdet): a detection's class
            score must exceed ``score_thr``. ``'max_class'`` (dbolya/yolact):
            anchors whose best class score exceeds it are candidates of
            every class, and Fast NMS keeps them whatever their score.

    Returns:
        BatchedDetections: Padded detections, best first per image.
    """
    cls_scores, above, boxes, cand_coeffs, labels = _top_candidates(
        bboxes, scores, coeffs, score_thr, top_k, score_thr_mode)
    b, c, k = above.shape
    keep = torch.zeros_like(above)
    if k:
        active = above[..., 0]  # (B, C): pairs with any candidate
        iou_max = _max_iou_with_better(boxes[active],
                                       above[active].sum(-1))
        keep[active] = (iou_max <= iou_thr) & above[active]
    return _select_best(
        cls_scores.reshape(b, c * k), keep.view(b, c * k),
        boxes.view(b, c * k, 4), cand_coeffs, labels, max_num)


def batched_standard_nms(bboxes: Tensor,
                         scores: Tensor,
                         coeffs: Tensor,
                         score_thr: float,
                         iou_thr: float,
                         top_k: int,
                         max_num: int = -1,
                         score_thr_mode: str = 'per_class'
                         ) -> BatchedDetections:
    """Standard (greedy) NMS with the same inputs and outputs as Fast NMS.

    All (image, class) groups go through one call of mmcv's ``batched_nms``
    (boxes of different groups never overlap after its coordinate offset),
    so this too has no Python loop over images or classes. It is the exact
    NMS that Fast NMS approximates, for comparison.

    Args:
        bboxes (Tensor): (B, N, 4) class-agnostic candidate boxes.
        scores (Tensor): (B, N, C) foreground class scores.
        coeffs (Tensor): (B, N, K) mask coefficients.
        score_thr (float): Minimum score (exclusive).
        iou_thr (float): IoU threshold of greedy NMS.
        top_k (int): Candidates per image and class before NMS.
        max_num (int): Detections per image after NMS; ``<= 0`` keeps all.
        score_thr_mode (str): As :func:`batched_fast_nms`.

    Returns:
        BatchedDetections: Padded detections, best first per image.
    """
    cls_scores, above, boxes, cand_coeffs, labels = _top_candidates(
        bboxes, scores, coeffs, score_thr, top_k, score_thr_mode)
    b, c, k = above.shape
    flat_scores = cls_scores.reshape(b, c * k)
    above = above.view(b, c * k)
    boxes = boxes.view(b, c * k, 4)
    groups = labels + c * torch.arange(b, device=scores.device)[:, None]
    keep = torch.zeros_like(above)
    if above.any():
        _, kept = batched_nms(boxes[above], flat_scores[above],
                              groups[above],
                              dict(type='nms', iou_threshold=iou_thr,
                                   split_thr=above.numel() + 1))
        keep.view(-1)[above.view(-1).nonzero().squeeze(1)[kept]] = True
    return _select_best(flat_scores, keep, boxes, cand_coeffs, labels,
                        max_num)
