"""YOLACT box head with batched, vectorised post-processing."""
from typing import List, Optional

import torch
from mmdet.models.dense_heads import YOLACTHead
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptConfigType
from mmengine.structures import InstanceData
from torch import Tensor

from ..layers.fast_nms import (
    BatchedDetections,
    batched_fast_nms,
    batched_standard_nms,
)

NMS_FUNCTIONS = dict(fast=batched_fast_nms, standard=batched_standard_nms)


@MODELS.register_module()
class BatchedYOLACTHead(YOLACTHead):
    """mmdet's ``YOLACTHead`` with the test-time post-processing batched.

    Layers, anchors (24..384 px with ratios 1, 1/2, 2 in the standard
    config), the shared conv, tanh coefficients and the OHEM loss are
    mmdet's. Prediction differs only in *how* it runs: scores, top-k, box
    decoding and NMS process the whole batch as padded tensors, with Fast NMS
    batched over images and classes (:func:`batched_fast_nms`); given the
    same weights the detections equal mmdet's.

    Two options reproduce dbolya/yolact's ``Detect`` (the
    ``configs/yolact/official`` configs set them; the defaults are mmdet's):

    * ``score_thr_mode='max_class'``: anchors whose best class score exceeds
      ``score_thr`` go into every class's Fast NMS, with no per-class
      threshold (mmdet: ``'per_class'``, a detection's own class score must
      exceed it);
    * ``wh_ratio_clip=None``: box widths and heights are decoded without
      mmdet's clamp of ``dw, dh`` at ``|log(16 / 1000)|``.

    Boxes are clipped to the image before NMS when the coder's
    ``clip_border`` is True (mmdet); dbolya/yolact clips after NMS and mask
    cropping (``clip_border=False`` here and ``clip_boxes='official'`` on
    :class:`BatchedYOLACTProtonet`).

    Args:
        nms_type (str): ``'fast'`` (YOLACT's Fast NMS) or ``'standard'``
            (greedy NMS, for comparison). Defaults to ``'fast'``.
        score_thr_mode (str): ``'per_class'`` or ``'max_class'`` (see
            :func:`batched_fast_nms`). Defaults to ``'per_class'``.
        wh_ratio_clip (float, optional): Passed to the coder's ``decode``;
            None decodes without a clamp. Defaults to 16 / 1000.
        **kwargs: Arguments of :class:`mmdet.models.dense_heads.YOLACTHead`.
    """

    def __init__(self,
                 *args,
                 nms_type: str = 'fast',
                 score_thr_mode: str = 'per_class',
                 wh_ratio_clip: Optional[float] = 16 / 1000,
                 **kwargs) -> None:
        if nms_type not in NMS_FUNCTIONS:
            raise ValueError(f'nms_type must be one of '
                             f'{sorted(NMS_FUNCTIONS)}, got {nms_type!r}')
        if score_thr_mode not in ('per_class', 'max_class'):
            raise ValueError("score_thr_mode must be 'per_class' or "
                             f"'max_class', got {score_thr_mode!r}")
        self.nms_type = nms_type
        self.score_thr_mode = score_thr_mode
        self.wh_ratio_clip = wh_ratio_clip
        super().__init__(*args, **kwargs)

    def _scores(self, cls_logits: Tensor) -> Tensor:
        """Turn class logits into foreground class scores.

        Args:
            cls_logits (Tensor): (B, N, cls_out_channels) logits.

        Returns:
            Tensor: (B, N, num_classes) scores (background dropped).
        """
        if self.use_sigmoid_cls:
            return cls_logits.sigmoid()
        return cls_logits.softmax(-1)[..., :self.num_classes]

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        coeff_preds: List[Tensor],
                        batch_img_metas: List[dict],
                        cfg: OptConfigType = None,
                        rescale: bool = True,
                        **kwargs) -> InstanceList:
        """Decode and suppress the detections of a whole batch at once.

        Args:
            cls_scores (list[Tensor]): Per level (B, A * cls_out_channels,
                H, W).
            bbox_preds (list[Tensor]): Per level (B, A * 4, H, W).
            coeff_preds (list[Tensor]): Per level (B, A * num_protos, H, W).
            batch_img_metas (list[dict]): Image metas (``img_shape``,
                ``scale_factor``).
            cfg (ConfigDict, optional): Test config; ``self.test_cfg`` if
                None. Uses ``nms_pre``, ``score_thr``, ``iou_thr``,
                ``top_k``, ``max_per_img``.
            rescale (bool): Map boxes back to the original image size.

        Returns:
            list[InstanceData]: Per image ``bboxes`` (n, 4), ``scores`` (n,),
            ``labels`` (n,), ``coeffs`` (n, num_protos).
        """
        dets = self.batched_detections(cls_scores, bbox_preds, coeff_preds,
                                       batch_img_metas, cfg, rescale)
        results_list = []
        for i in range(len(batch_img_metas)):
            valid = dets.valid[i]
            results = InstanceData()
            results.bboxes = dets.bboxes[i][valid]
            results.scores = dets.scores[i][valid]
            results.labels = dets.labels[i][valid]
            results.coeffs = dets.coeffs[i][valid]
            results_list.append(results)
        return results_list

    def batched_detections(self,
                           cls_scores: List[Tensor],
                           bbox_preds: List[Tensor],
                           coeff_preds: List[Tensor],
                           batch_img_metas: List[dict],
                           cfg: OptConfigType = None,
                           rescale: bool = True) -> BatchedDetections:
        """The padded detections of :meth:`predict_by_feat`.

        Args:
            cls_scores (list[Tensor]): Per level (B, A * cls_out_channels,
                H, W).
            bbox_preds (list[Tensor]): Per level (B, A * 4, H, W).
            coeff_preds (list[Tensor]): Per level (B, A * num_protos, H, W).
            batch_img_metas (list[dict]): Image metas.
            cfg (ConfigDict, optional): Test config.
            rescale (bool): Map boxes back to the original image size.

        Returns:
            BatchedDetections: (B, M, ...) padded detections, best first.
        """
        cfg = self.test_cfg if cfg is None else cfg
        b = len(batch_img_metas)
        device = cls_scores[0].device
        mlvl_priors = self.prior_generator.grid_priors(
            [s.shape[-2:] for s in cls_scores], device=device)
        nms_pre = cfg.get('nms_pre', -1)
        scores, deltas, coeffs, priors = [], [], [], []
        for cls, reg, coeff, prior in zip(cls_scores, bbox_preds, coeff_preds,
                                          mlvl_priors):
            score = self._scores(
                cls.permute(0, 2, 3, 1).reshape(b, -1, self.cls_out_channels))
            reg = reg.permute(0, 2, 3, 1).reshape(b, -1, 4)
            coeff = coeff.permute(0, 2, 3, 1).reshape(b, -1, self.num_protos)
            prior = prior.expand(b, -1, -1)
            if 0 < nms_pre < score.shape[1]:
                _, top = score.max(-1).values.topk(nms_pre, dim=1)
                score = score.gather(
                    1, top[..., None].expand(-1, -1, score.shape[-1]))
                reg = reg.gather(1, top[..., None].expand(-1, -1, 4))
                coeff = coeff.gather(
                    1, top[..., None].expand(-1, -1, self.num_protos))
                prior = prior.gather(1, top[..., None].expand(-1, -1, 4))
            scores.append(score)
            deltas.append(reg)
            coeffs.append(coeff)
            priors.append(prior)
        bboxes = self._decode(
            torch.cat(priors, 1), torch.cat(deltas, 1), batch_img_metas)
        if rescale:
            bboxes = bboxes / bboxes.new_tensor(
                [m['scale_factor'] for m in batch_img_metas]).repeat(
                    1, 2)[:, None]
        return NMS_FUNCTIONS[self.nms_type](
            bboxes, torch.cat(scores, 1), torch.cat(coeffs, 1),
            cfg.score_thr, cfg.iou_thr, cfg.top_k, cfg.max_per_img,
            self.score_thr_mode)

    def _decode(self, priors: Tensor, deltas: Tensor,
                batch_img_metas: List[dict]) -> Tensor:
        """Decode deltas of a batch and clip to each image.

        Args:
            priors (Tensor): (B, N, 4) anchors.
            deltas (Tensor): (B, N, 4) predicted deltas.
            batch_img_metas (list[dict]): Image metas with ``img_shape``.

        Returns:
            Tensor: (B, N, 4) boxes, clipped to ``img_shape`` like mmdet's
            single-image decode when the coder's ``clip_border`` is True.
        """
        b, n, _ = deltas.shape
        # an infinite ratio clip is no clamp (|log(inf)| = inf)
        clip = float('inf') if self.wh_ratio_clip is None \
            else self.wh_ratio_clip
        bboxes = self.bbox_coder.decode(
            priors.reshape(b * n, 4), deltas.reshape(b * n, 4),
            wh_ratio_clip=clip)
        bboxes = bboxes.view(b, n, 4)
        if self.bbox_coder.clip_border:
            hw = bboxes.new_tensor(
                [m['img_shape'][:2] for m in batch_img_metas])
            bound = hw.flip(1).repeat(1, 2)[:, None]  # (B, 1, 4): w h w h
            bboxes = torch.minimum(bboxes.clamp(min=0), bound)
        return bboxes

