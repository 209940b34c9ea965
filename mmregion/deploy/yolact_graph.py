"""YOLACT (and open-vocabulary YOLACT, YOLACT++) as one exportable graph.

The graph runs backbone, neck, heads, box decoding, batched Fast NMS and
mask assembly with fixed-size tensor operations only, and returns padded
outputs with a valid count per image. What stays in Python is what depends
on each image's original size: upsampling the cropped masks to it
(:func:`mmregion.models.layers.mask_upsample.upsample_cropped_masks`, the
function the PyTorch model uses) and dividing the boxes by the scale factor.
"""
from typing import Dict, List, Tuple

import torch
from torch import Tensor, nn

YOLACT_OUTPUTS = ('bboxes', 'scores', 'labels', 'num_dets', 'coeffs',
                  'masks', 'windows')


def pairwise_iou(boxes: Tensor, eps: float = 1e-6) -> Tensor:
    """IoU of every pair of boxes within each group, with the arithmetic of
    :func:`mmdet.structures.bbox.bbox_overlaps` (same values), on separate
    coordinate planes: no (k, k, 2) intermediates to slice in the graph.

    Args:
        boxes (Tensor): (..., k, 4) boxes.
        eps (float): Smallest union, as ``bbox_overlaps``.

    Returns:
        Tensor: (..., k, k) IoUs.
    """
    x1, y1, x2, y2 = boxes.unbind(-1)
    area = (x2 - x1) * (y2 - y1)
    w = (torch.minimum(x2[..., :, None], x2[..., None, :]) -
         torch.maximum(x1[..., :, None], x1[..., None, :])).clamp(min=0)
    h = (torch.minimum(y2[..., :, None], y2[..., None, :]) -
         torch.maximum(y1[..., :, None], y1[..., None, :])).clamp(min=0)
    overlap = w * h
    union = area[..., :, None] + area[..., None, :] - overlap
    return overlap / torch.maximum(union, union.new_tensor([eps]))


def fixed_fast_nms(bboxes: Tensor, scores: Tensor, coeffs: Tensor,
                   score_thr: float, iou_thr: float, top_k: int,
                   max_num: int) -> Tuple[Tensor, ...]:
    """Batched Fast NMS with fixed output shapes.

    The keeps of :func:`mmregion.models.layers.fast_nms.batched_fast_nms`
    (``top_k`` candidates per image and class, the strict upper triangle of
    their IoU matrix, column maxima against ``iou_thr``), computed at full
    width ``top_k`` for every (image, class) pair instead of only over the
    candidates above the threshold: a column's maximum depends only on the
    better candidates, so the kept candidates are the same.

    Args:
        bboxes (Tensor): (B, N, 4) boxes.
        scores (Tensor): (B, N, C) foreground class scores.
        coeffs (Tensor): (B, N, K) mask coefficients.
        score_thr (float): Minimum score (exclusive).
        iou_thr (float): Suppression IoU threshold.
        top_k (int): Candidates per image and class.
        max_num (int): Detections per image (the padded size M; capped at
            ``C * top_k``).

    Returns:
        tuple[Tensor, ...]: ``bboxes`` (B, M, 4), ``scores`` (B, M),
        ``labels`` (B, M) int64, ``coeffs`` (B, M, K), ``num_dets`` (B,)
        int64; rows past ``num_dets`` are zero.
    """
    b, n, c = scores.shape
    k = min(top_k, n)
    cls_scores, idx = scores.transpose(1, 2).topk(k, dim=2)  # (B, C, k)
    flat_idx = idx.reshape(b, c * k, 1)
    boxes = bboxes.gather(1, flat_idx.expand(-1, -1, 4))
    iou = pairwise_iou(boxes.view(b, c, k, 4))
    iou_max = iou.triu(diagonal=1).max(dim=2).values  # (B, C, k)
    keep = (iou_max <= iou_thr) & (cls_scores > score_thr)
    masked = cls_scores.masked_fill(~keep, float('-inf')).view(b, c * k)
    m = min(max_num, c * k) if max_num > 0 else c * k
    top_scores, order = masked.topk(m, dim=1)
    valid = top_scores > float('-inf')
    labels = torch.arange(
        c, device=scores.device).repeat_interleave(k)[order]
    cand_coeffs = coeffs.gather(1, flat_idx.expand(-1, -1, coeffs.shape[-1]))
    out_coeffs = cand_coeffs.gather(
        1, order[..., None].expand(-1, -1, coeffs.shape[-1]))
    out_boxes = boxes.gather(1, order[..., None].expand(-1, -1, 4))
    fvalid = valid.to(bboxes.dtype)
    return (out_boxes * fvalid[..., None], top_scores.masked_fill(~valid, 0.),
            labels * valid.long(), out_coeffs * fvalid[..., None],
            valid.long().sum(1))


class YOLACTGraph(nn.Module):
    """An mmdet ``YOLACT`` with mmregion's batched heads, as a graph.

    Args:
        detector (nn.Module): The detector (``BatchedYOLACTHead`` or
            ``OpenVocabYOLACTHead`` box head, ``BatchedYOLACTProtonet``
            mask head), in eval mode.
        input_size (tuple[int, int]): The network input (H, W); anchors and
            the crop bounds are constants of this size.
    """

    def __init__(self, detector: nn.Module,
                 input_size: Tuple[int, int]) -> None:
        super().__init__()
        self.detector = detector
        self.input_size = tuple(input_size)
        self.metas = [dict(img_shape=self.input_size)]
        self.rescore = (detector.mask_head.rescore
                        if detector.mask_head.mask_iou_head is not None else
                        None)

    @property
    def output_names(self) -> List[str]:
        """Names of the graph's outputs, in order."""
        names = list(YOLACT_OUTPUTS)
        if self.rescore == 'mask':
            names.append('mask_scores')
        return names

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        """Detect and assemble masks for a batch.

        Args:
            img (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor, ...]: ``bboxes`` (B, M, 4) in input pixels,
            ``scores`` (B, M), ``labels`` (B, M), ``num_dets`` (B,),
            ``coeffs`` (B, M, K) mask coefficients, ``masks``
            (B, M, h, w) cropped prototype-resolution masks, ``windows``
            (B, M, 4) int64 crop windows (x1, y1, x2, y2) in
            mask pixels, and ``mask_scores`` (B, M) with
            ``rescore='mask'``.
        """
        det = self.detector
        x = det.extract_feat(img)
        cls_scores, bbox_preds, coeff_preds = det.bbox_head(x)
        bboxes, scores, coeffs = self._candidates(cls_scores, bbox_preds,
                                                  coeff_preds)
        cfg = det.bbox_head.test_cfg
        bboxes, scores, labels, coeffs, num_dets = fixed_fast_nms(
            bboxes, scores, coeffs, cfg.score_thr, cfg.iou_thr, cfg.top_k,
            cfg.max_per_img)
        masks, windows = self._masks(x, coeffs, bboxes)
        outs = dict(bboxes=bboxes, scores=scores, labels=labels,
                    num_dets=num_dets, coeffs=coeffs, masks=masks,
                    windows=windows)
        if self.rescore is not None:
            b, m = labels.shape
            iou = det.mask_head.mask_iou_head(None, masks.flatten(0, 1))
            iou = iou.gather(1, labels.reshape(-1, 1)).view(b, m)
            key = 'mask_scores' if self.rescore == 'mask' else 'scores'
            outs[key] = scores * iou
        return tuple(outs[name] for name in self.output_names)

    def _candidates(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                    coeff_preds: List[Tensor]) -> Tuple[Tensor, ...]:
        """Per-level top ``nms_pre`` candidates, decoded and clipped, as
        ``BatchedYOLACTHead.batched_detections`` selects them.

        Args:
            cls_scores (list[Tensor]): Per level (B, A * C', H, W).
            bbox_preds (list[Tensor]): Per level (B, A * 4, H, W).
            coeff_preds (list[Tensor]): Per level (B, A * K, H, W).

        Returns:
            tuple[Tensor, ...]: ``bboxes`` (B, N, 4), ``scores`` (B, N, C),
            ``coeffs`` (B, N, K).
        """
        head = self.detector.bbox_head
        b = cls_scores[0].shape[0]
        priors = head.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=cls_scores[0].device)
        nms_pre = head.test_cfg.get('nms_pre', -1)
        out: Dict[str, list] = dict(score=[], reg=[], coeff=[], prior=[])
        for cls, reg, coeff, prior in zip(cls_scores, bbox_preds, coeff_preds,
                                          priors):
            score = head._scores(
                cls.permute(0, 2, 3, 1).reshape(b, -1, head.cls_out_channels))
            reg = reg.permute(0, 2, 3, 1).reshape(b, -1, 4)
            coeff = coeff.permute(0, 2, 3, 1).reshape(b, -1, head.num_protos)
            prior = prior[None].expand(b, -1, -1)
            if 0 < nms_pre < score.shape[1]:
                top = score.max(-1).values.topk(nms_pre, dim=1).indices
                score, reg, coeff, prior = (
                    t.gather(1, top[..., None].expand(-1, -1, t.shape[-1]))
                    for t in (score, reg, coeff, prior))
            for key, value in zip(('score', 'reg', 'coeff', 'prior'),
                                  (score, reg, coeff, prior)):
                out[key].append(value)
        bboxes = head._decode(
            torch.cat(out['prior'], 1), torch.cat(out['reg'], 1), self.metas)
        return bboxes, torch.cat(out['score'], 1), torch.cat(out['coeff'], 1)

    def _masks(self, x: Tuple[Tensor], coeffs: Tensor,
               bboxes: Tensor) -> Tuple[Tensor, Tensor]:
        """Assemble and crop the masks of the detections.

        Args:
            x (tuple[Tensor]): Neck features.
            coeffs (Tensor): (B, M, K) coefficients.
            bboxes (Tensor): (B, M, 4) boxes in input pixels.

        Returns:
            tuple[Tensor, Tensor]: (B, M, h, w) masks cropped to their boxes
            and (B, M, 4) int64 crop windows.
        """
        head = self.detector.mask_head
        protos = head.protonet(x[0])
        b, k, h, w = protos.shape
        masks = torch.sigmoid(coeffs @ protos.view(b, k, h * w))
        masks = head.crop_masks(masks.view(b, -1, h, w), bboxes, self.metas)
        windows = torch.stack(
            head.crop_windows(bboxes, self.metas, h, w),
            -1)[..., [0, 2, 1, 3]].ceil().long()
        return masks, windows
