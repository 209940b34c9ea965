"""RegionCLIP as exportable graphs.

* Zero-shot with given boxes (``proposal_source='gt'``): one graph,
  image + boxes in, region logits and class probabilities out.
* With an RPN (``proposal_source='rpn'``): two graphs. The first runs the
  backbone and the RPN head and returns the res4 map and the raw RPN maps;
  proposal selection (top-k, decoding, NMS) stays mmdet's Python
  ``RPNHead.predict_by_feat``, as in PyTorch. The second takes the res4 map
  and the RoIs and returns the box head's raw logits and deltas, which
  ``RegionCLIPBBoxHead.predict_by_feat`` turns into detections.
"""
from typing import Tuple

import torch
from torch import Tensor, nn

GT_OUTPUTS = ('logits', 'scores', 'deltas')
ROI_OUTPUTS = ('cls_score', 'bbox_pred')


def boxes_to_rois(boxes: Tensor) -> Tensor:
    """Padded per-image boxes as RoIs with their batch index.

    Args:
        boxes (Tensor): (B, N, 4) boxes.

    Returns:
        Tensor: (B * N, 5) RoIs (batch index, x1, y1, x2, y2).
    """
    b, n = boxes.shape[:2]
    index = torch.arange(b, device=boxes.device, dtype=boxes.dtype)
    index = index[:, None, None].expand(-1, n, 1)
    return torch.cat([index, boxes], -1).reshape(-1, 5)


class RegionCLIPBoxesGraph(nn.Module):
    """Classify given boxes (zero-shot GT-box mode).

    Args:
        detector (nn.Module): A ``RegionCLIP`` detector in eval mode.
    """

    output_names = list(GT_OUTPUTS)

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, img: Tensor, boxes: Tensor) -> Tuple[Tensor, ...]:
        """Score every box against the vocabulary.

        Args:
            img (Tensor): (B, 3, H, W) normalised images.
            boxes (Tensor): (B, N, 4) boxes in input pixels.

        Returns:
            tuple[Tensor, ...]: ``logits`` (B, N, C + 1) (background last),
            ``scores`` (B, N, C + 1) softmax probabilities and ``deltas``
            (B, N, 4) box deltas.
        """
        b, n = boxes.shape[:2]
        x = self.detector.extract_feat(img)
        out = self.detector.roi_head._bbox_forward(x, boxes_to_rois(boxes))
        logits = out['cls_score'].view(b, n, -1)
        return (logits, logits.softmax(-1), out['bbox_pred'].view(b, n, 4))


def rpn_module(detector: nn.Module) -> nn.Module:
    """The head whose proposals a RegionCLIP detector uses.

    Args:
        detector (nn.Module): A ``RegionCLIP`` detector.

    Returns:
        nn.Module: ``rpn_head`` (source ``'rpn'``) or the offline RPN
        detector's ``bbox_head`` (source ``'offline_rpn'``).
    """
    if detector.proposal_source == 'rpn':
        return detector.rpn_head
    return detector.offline_rpn.bbox_head


class RegionCLIPRPNGraph(nn.Module):
    """Backbone and RPN (RPN mode, first graph): the trainable ``rpn_head``
    on res4, or the frozen offline RPN with its own backbone and pixel
    normalisation (as :func:`offline_rpn_proposals`).

    Args:
        detector (nn.Module): A ``RegionCLIP`` detector with proposal source
            ``'rpn'`` or ``'offline_rpn'``.
        num_levels (int): Feature levels of the RPN head.
    """

    def __init__(self, detector: nn.Module, num_levels: int) -> None:
        super().__init__()
        self.detector = detector
        self.output_names = ['res4'] + [
            f'rpn_{kind}_{i}' for kind in ('cls', 'reg')
            for i in range(num_levels)
        ]

    def forward(self, img: Tensor) -> Tuple[Tensor, ...]:
        """Features and raw RPN maps.

        Args:
            img (Tensor): (B, 3, H, W) normalised images.

        Returns:
            tuple[Tensor, ...]: ``res4`` (B, C4, H/16, W/16), then per RPN
            level the objectness logits (B, A, h, w), then per level the
            deltas (B, 4A, h, w).
        """
        det = self.detector
        x = det.extract_feat(img)
        if det.proposal_source == 'rpn':
            feats = x
        else:
            ours, theirs = det.data_preprocessor, det.offline_rpn.\
                data_preprocessor
            raw = img * ours.std + ours.mean
            if ours._channel_conversion != theirs._channel_conversion:
                raw = raw[:, [2, 1, 0]]
            feats = det.offline_rpn.extract_feat(
                (raw - theirs.mean) / theirs.std)
        cls_scores, bbox_preds = rpn_module(det)(feats)
        return (x[0], *cls_scores, *bbox_preds)


class RegionCLIPRoIGraph(nn.Module):
    """RoIAlign, res5, attention pool, classifier and regressor (RPN mode,
    second graph).

    Args:
        detector (nn.Module): A ``RegionCLIP`` detector.
    """

    output_names = list(ROI_OUTPUTS)

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, res4: Tensor, rois: Tensor) -> Tuple[Tensor, Tensor]:
        """Classify and regress RoIs.

        Args:
            res4 (Tensor): (B, C4, h, w) features of the first graph.
            rois (Tensor): (R, 5) RoIs (batch index, x1, y1, x2, y2).

        Returns:
            tuple[Tensor, Tensor]: ``cls_score`` (R, C + 1) logits and
            ``bbox_pred`` (R, 4) deltas.
        """
        out = self.detector.roi_head._bbox_forward((res4, ), rois)
        return out['cls_score'], out['bbox_pred']
