"""YOLACT protonet with vectorised mask assembly and YOLACT++ re-scoring."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import YOLACTProtonet
from mmdet.models.utils.misc import empty_instances
from mmdet.registry import MODELS
from mmdet.utils import InstanceList, OptConfigType
from torch import Tensor

from ..layers.mask_upsample import upsample_cropped_masks


def pad_instances(values: List[Tensor]) -> Tensor:
    """Stack per-image tensors of different lengths, zero-padded.

    Args:
        values (list[Tensor]): Per image (n_i, ...) tensors.

    Returns:
        Tensor: (B, max n_i, ...).
    """
    return torch.nn.utils.rnn.pad_sequence(values, batch_first=True)


def official_box_clip(bboxes: Tensor, h: int, w: int) -> Tensor:
    """dbolya/yolact's final boxes: ``sanitize_coordinates`` and ``long()``.

    Per axis ``lo, hi = min(a, b), max(a, b)``; ``lo`` is clamped at 0 and
    ``hi`` at the size (only those two bounds, as the official code), then
    both are truncated towards zero.

    Args:
        bboxes (Tensor): (n, 4) x1, y1, x2, y2 at the output size.
        h (int): Output height.
        w (int): Output width.

    Returns:
        Tensor: (n, 4) integer-valued boxes, same dtype.
    """
    x1 = torch.minimum(bboxes[:, 0], bboxes[:, 2]).clamp(min=0)
    x2 = torch.maximum(bboxes[:, 0], bboxes[:, 2]).clamp(max=w)
    y1 = torch.minimum(bboxes[:, 1], bboxes[:, 3]).clamp(min=0)
    y2 = torch.maximum(bboxes[:, 1], bboxes[:, 3]).clamp(max=h)
    return torch.stack([x1, y1, x2, y2], 1).trunc()


@MODELS.register_module()
class BatchedYOLACTProtonet(YOLACTProtonet):
    """mmdet's ``YOLACTProtonet``, vectorised, fixed, and with re-scoring.

    * Assembly ``M = sigmoid(P C^T)`` is one batched matrix product over all
      images and instances (coefficients zero-padded per image), and the box
      crop is one broadcast comparison; prediction upsamples each mask only
      inside its crop window (outside it the upsampled mask is exactly zero),
      with the sample positions and weights of PyTorch's bilinear kernel.
      With the same weights, masks equal mmdet's.
    * Fixes in mmdet 3.3.0's protonet: the semantic-segmentation targets put
      class ``c`` in channel ``c - 1`` (a 1-based leftover; class 0 lands in
      the last channel); the loss crashed with ``with_seg_branch=False``;
      images without ground truth now train the semantic map towards
      all-background instead of contributing nothing.
    * YOLACT++ fast mask re-scoring: with ``mask_iou_head`` (a
      :class:`MaskIoURescoringHead` on the full assembled mask), training
      regresses the IoU of each binarised predicted mask with its ground
      truth (masks with a ground-truth area of at most ``discard_mask_area``
      proto pixels are skipped) and prediction multiplies each score by the
      predicted IoU of its class.

    Args:
        mask_iou_head (dict, optional): Config of the re-scoring head.
        discard_mask_area (int): Ground-truth area, in proto pixels, at or
            below which a mask is not used to train the re-scoring head.
            Defaults to 25 (YOLACT++).
        rescore (str): What the predicted IoU re-scores. ``'all'``: the one
            ``scores`` of each detection, used for boxes and masks.
            ``'mask'``: as the official YOLACT++ evaluation
            (``rescore_bbox=False``), ``scores`` stays the class score and
            ``mask_scores`` (class score x IoU) is added, which mmdet's
            ``CocoMetric`` uses for the mask results. Defaults to ``'all'``.
        clip_boxes (str): What happens to the final boxes. ``'none'``
            (mmdet): left as the box head gives them (the head clips
            before NMS when its coder's ``clip_border`` is True).
            ``'official'`` (dbolya/yolact's ``postprocess``, with a head
            that does not clip): after the masks are cropped with the
            unclipped boxes, ``x1, y1`` are clamped at 0 and ``x2, y2`` at
            the output width and height, and the boxes are truncated to
            integers. Defaults to ``'none'``.
        **kwargs: Arguments of :class:`mmdet.models.dense_heads.
            YOLACTProtonet`.
    """

    def __init__(self,
                 *args,
                 mask_iou_head: OptConfigType = None,
                 discard_mask_area: int = 25,
                 rescore: str = 'all',
                 clip_boxes: str = 'none',
                 **kwargs) -> None:
        if rescore not in ('all', 'mask'):
            raise ValueError(
                f"rescore must be 'all' or 'mask', got {rescore!r}")
        if clip_boxes not in ('none', 'official'):
            raise ValueError("clip_boxes must be 'none' or 'official', "
                             f'got {clip_boxes!r}')
        self.clip_boxes = clip_boxes
        super().__init__(*args, **kwargs)
        self.mask_iou_head = (
            MODELS.build(mask_iou_head) if mask_iou_head else None)
        self.discard_mask_area = discard_mask_area
        self.rescore = rescore

    def forward(self, x: Tuple[Tensor],
                positive_infos: InstanceList) -> Tuple[Tensor, Tensor]:
        """Prototypes, assembled masks and (training) the semantic map.

        Args:
            x (tuple[Tensor]): FPN features; ``x[0]`` (B, C, h, w) is used.
            positive_infos (list[InstanceData]): Per image, ``coeffs``
                (n_i, num_protos) of the instances to assemble.

        Returns:
            tuple[Tensor, Tensor | None]: Masks (B, max n_i, H, W) in [0, 1]
            (zero rows pad images with fewer instances) and the semantic map
            (B, num_classes, h, w) in training with the branch on, else None.
        """
        feat = x[0]
        segm_preds = (
            self.segm_branch(feat)
            if self.segm_branch is not None and self.training else None)
        protos = self.protonet(feat)  # (B, K, H, W)
        b, k, h, w = protos.shape
        coeffs = pad_instances([info.coeffs for info in positive_infos])
        masks = torch.sigmoid(coeffs @ protos.view(b, k, h * w))
        return masks.view(b, -1, h, w), segm_preds

    def crop_windows(self, bboxes: Tensor, batch_img_metas: List[dict],
                     h: int, w: int) -> Tuple[Tensor, ...]:
        """Crop windows of boxes in mask pixels (mmdet's rule, 1 px pad).

        Args:
            bboxes (Tensor): (B, M, 4) boxes in input-image pixels.
            batch_img_metas (list[dict]): Metas with ``img_shape``.
            h (int): Mask height.
            w (int): Mask width.

        Returns:
            tuple[Tensor, ...]: ``x1, x2, y1, y2`` (B, M) float bounds; a
            pixel ``(r, c)`` is inside when ``x1 <= c < x2`` and
            ``y1 <= r < y2``.
        """
        img_hw = bboxes.new_tensor(
            [meta['img_shape'][:2] for meta in batch_img_metas])
        rel = bboxes / img_hw.flip(1).repeat(1, 2)[:, None]
        x1, x2 = self.sanitize_coordinates(
            rel[..., 0], rel[..., 2], w, padding=1, cast=False)
        y1, y2 = self.sanitize_coordinates(
            rel[..., 1], rel[..., 3], h, padding=1, cast=False)
        return x1, x2, y1, y2

    def crop_masks(self, masks: Tensor, bboxes: Tensor,
                   batch_img_metas: List[dict]) -> Tensor:
        """Zero every mask outside its box (mmdet's rule, 1 px padding).

        Args:
            masks (Tensor): (B, M, H, W) masks.
            bboxes (Tensor): (B, M, 4) boxes in input-image pixels.
            batch_img_metas (list[dict]): Metas with ``img_shape``.

        Returns:
            Tensor: (B, M, H, W) cropped masks.
        """
        h, w = masks.shape[-2:]
        x1, x2, y1, y2 = self.crop_windows(bboxes, batch_img_metas, h, w)
        cols = torch.arange(w, device=masks.device, dtype=x1.dtype)
        rows = torch.arange(h, device=masks.device, dtype=y1.dtype)
        in_x = (cols >= x1[..., None]) & (cols < x2[..., None])  # (B, M, W)
        in_y = (rows >= y1[..., None]) & (rows < y2[..., None])  # (B, M, H)
        # two broadcast products: cheaper than building the (B, M, H, W)
        # window and exact, the factors being 0 and 1
        return masks * in_y[..., None].to(masks.dtype) * in_x[
            ..., None, :].to(masks.dtype)

    def loss_by_feat(self, mask_preds: Tensor, segm_preds: Optional[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     positive_infos: InstanceList, **kwargs) -> dict:
        """Mask, semantic-segmentation and mask-IoU losses.

        Args:
            mask_preds (Tensor): (B, M, H, W) assembled masks.
            segm_preds (Tensor, optional): (B, num_classes, h, w) logits.
            batch_gt_instances (list[InstanceData]): ``bboxes``, ``labels``,
                ``masks`` per image.
            batch_img_metas (list[dict]): Image metas.
            positive_infos (list[InstanceData]): Per image positives from the
                box head: ``coeffs``, ``bboxes`` (matched gt boxes) and
                ``pos_assigned_gt_inds``.

        Returns:
            dict[str, Tensor]: ``loss_mask``, plus ``loss_segm`` with the
            segmentation branch and ``loss_mask_iou`` with re-scoring.
        """
        masks = self.crop_masks(
            mask_preds, pad_instances([p.bboxes for p in positive_infos]),
            batch_img_metas)
        h, w = masks.shape[-2:]
        loss_mask, loss_segm, iou_terms = [], [], []
        total_pos = 0
        for i, (gt, pos, meta) in enumerate(
                zip(batch_gt_instances, positive_infos, batch_img_metas)):
            gt_masks = gt.masks.to_tensor(
                dtype=torch.bool, device=masks.device).float()
            if segm_preds is not None:
                loss_segm.append(
                    self._segm_loss(segm_preds[i], gt_masks, gt.labels,
                                    segm_preds.shape[0]))
            pred = masks[i, :len(pos.coeffs)]
            inds = pos.pos_assigned_gt_inds
            if len(gt_masks) == 0 or len(inds) == 0:
                loss_mask.append(pred.sum() * 0.)
                continue
            if len(inds) > self.max_masks_to_train:
                select = torch.randperm(len(inds))[:self.max_masks_to_train]
                pred, inds = pred[select], inds[select]
            target = F.interpolate(
                gt_masks[None], (h, w), mode='bilinear',
                align_corners=False)[0].gt(0.5).float()[inds]
            bce = F.binary_cross_entropy(
                pred.clamp(0, 1), target, reduction='none')
            img_h, img_w = meta['img_shape'][:2]
            box = gt.bboxes[inds]
            box_area = ((box[:, 2] - box[:, 0]) / img_w) * (
                (box[:, 3] - box[:, 1]) / img_h)
            loss_mask.append(
                (bce.mean((1, 2)) * self.loss_mask_weight / box_area).sum())
            total_pos += len(inds)
            iou_terms.append((pred, target, gt.labels[inds]))
        losses = dict(loss_mask=sum(loss_mask) / max(total_pos, 1))
        if segm_preds is not None:
            losses['loss_segm'] = sum(loss_segm)
        if self.mask_iou_head is not None:
            losses['loss_mask_iou'] = self._mask_iou_loss(
                iou_terms, masks, max(total_pos, 1))
        return losses

    def _segm_loss(self, segm_pred: Tensor, gt_masks: Tensor,
                   gt_labels: Tensor, num_imgs: int) -> Tensor:
        """Sigmoid semantic-segmentation loss of one image.

        Args:
            segm_pred (Tensor): (num_classes, h, w) logits.
            gt_masks (Tensor): (G, H_img, W_img) binary masks.
            gt_labels (Tensor): (G,) 0-based labels.
            num_imgs (int): Batch size (the loss averages over all pixels of
                the batch, as mmdet).

        Returns:
            Tensor: Scalar loss.
        """
        num_classes, h, w = segm_pred.shape
        target = segm_pred.new_zeros(num_classes, h, w)
        if len(gt_masks):
            small = F.interpolate(
                gt_masks[None], (h, w), mode='bilinear',
                align_corners=False)[0].gt(0.5).float()
            # per class, the union of its instances' masks
            owner = F.one_hot(gt_labels, num_classes).t().float()  # (C, G)
            target = (owner[..., None] * small.flatten(1)[None]).amax(1).view(
                num_classes, h, w)
        return self.loss_segm(
            segm_pred, target, avg_factor=num_imgs * h * w)

    def _mask_iou_loss(self, iou_terms: list, masks: Tensor,
                       avg_factor: int) -> Tensor:
        """Re-scoring loss: predicted vs actual IoU of the binarised masks.

        Args:
            iou_terms (list[tuple]): Per image (pred (n, H, W) masks,
                target (n, H, W) binary masks, labels (n,)).
            masks (Tensor): (B, M, H, W) masks (keeps the graph when there
                is nothing to train).
            avg_factor (int): Positives in the batch.

        Returns:
            Tensor: Scalar loss.
        """
        preds = [p for p, _, _ in iou_terms]
        if not preds:
            no_masks = masks[:, :0].flatten(0, 1)
            return self.mask_iou_head(None, no_masks).sum() * 0.
        pred = torch.cat(preds).detach()
        target = torch.cat([t for _, t, _ in iou_terms])
        labels = torch.cat([lab for _, _, lab in iou_terms])
        keep = target.sum((1, 2)) > self.discard_mask_area
        binary = pred[keep].gt(0.5).float()
        inter = (binary * target[keep]).sum((1, 2))
        union = binary.sum((1, 2)) + target[keep].sum((1, 2)) - inter
        iou_pred = self.mask_iou_head(None, pred[keep])
        iou_pred = iou_pred[torch.arange(len(iou_pred)), labels[keep]]
        if len(iou_pred) == 0:
            return iou_pred.sum() * 0.
        return self.mask_iou_head.loss_iou(
            iou_pred, inter / union, avg_factor=avg_factor)

    def predict_by_feat(self,
                        mask_preds: Tensor,
                        segm_preds: Optional[Tensor],
                        results_list: InstanceList,
                        batch_img_metas: List[dict],
                        rescale: bool = True,
                        **kwargs) -> InstanceList:
        """Crop, re-score and upsample the masks of a whole batch.

        Args:
            mask_preds (Tensor): (B, M, H, W) assembled masks.
            segm_preds (Tensor, optional): Unused at test time.
            results_list (list[InstanceData]): Box head results (``bboxes``
                in input-image pixels, ``scores``, ``labels``).
            batch_img_metas (list[dict]): Image metas.
            rescale (bool): Return masks and boxes at the original size.

        Returns:
            list[InstanceData]: Results with ``masks`` (n, H_out, W_out)
            bool added, boxes rescaled and, with re-scoring, ``scores``
            multiplied by the predicted mask IoU (or, with
            ``rescore='mask'``, ``mask_scores`` added).
        """
        counts = [len(r) for r in results_list]
        boxes = pad_instances([r.bboxes for r in results_list])
        masks = self.crop_masks(mask_preds, boxes, batch_img_metas)
        # integer crop windows: columns ceil(x1) .. ceil(x2) - 1
        windows = torch.stack(
            self.crop_windows(boxes, batch_img_metas, *masks.shape[-2:]),
            -1)[..., [0, 2, 1, 3]].ceil().long()  # (B, M, 4) x1 y1 x2 y2
        if self.mask_iou_head is not None and sum(counts):
            valid = torch.cat([
                torch.arange(masks.shape[1], device=masks.device) < n
                for n in counts
            ]).view(masks.shape[:2])
            labels = torch.cat([r.labels for r in results_list])
            iou = self.mask_iou_head(None, masks[valid])
            iou = iou[torch.arange(len(labels)), labels].split(counts)
            for results, image_iou in zip(results_list, iou):
                if self.rescore == 'mask':
                    results.mask_scores = results.scores * image_iou
                else:
                    results.scores = results.scores * image_iou
        self._upsample_batch(masks, windows, results_list, batch_img_metas,
                             rescale)
        for i, (results, meta) in enumerate(
                zip(results_list, batch_img_metas)):
            if counts[i] == 0:
                results_list[i] = empty_instances(
                    [meta],
                    masks.device,
                    task_type='mask',
                    instance_results=[results])[0]
                continue
            if rescale:
                results.bboxes = results.bboxes / results.bboxes.new_tensor(
                    meta['scale_factor']).repeat(1, 2)
            if self.clip_boxes == 'official':
                results.bboxes = official_box_clip(
                    results.bboxes, *self._output_size(meta, rescale))
        return results_list

    def _upsample_batch(self, masks: Tensor, windows: Tensor,
                        results_list: InstanceList,
                        batch_img_metas: List[dict], rescale: bool) -> None:
        """Set ``masks`` of every image with detections, upsampling the
        images of one output size together.

        Args:
            masks (Tensor): (B, M, h, w) cropped masks.
            windows (Tensor): (B, M, 4) integer crop windows.
            results_list (list[InstanceData]): Per image results; those
                with detections get ``masks`` (n, H_out, W_out) bool.
            batch_img_metas (list[dict]): Image metas.
            rescale (bool): Output at the original size.
        """
        m = masks.shape[1]
        counts = [len(results) for results in results_list]
        sizes = [self._output_size(meta, rescale) for meta in batch_img_metas]
        for size in dict.fromkeys(sizes):
            images = [
                i for i, n in enumerate(counts) if n and sizes[i] == size
            ]
            if not images:
                continue
            index = torch.cat([
                torch.arange(counts[i], device=masks.device) + i * m
                for i in images
            ])
            upsampled = upsample_cropped_masks(
                masks.flatten(0, 1), windows.flatten(0, 1)[index], size,
                self.test_cfg.mask_thr, index, [counts[i] for i in images])
            for i, image_masks in zip(images, upsampled):
                results_list[i].masks = image_masks

    @staticmethod
    def _output_size(meta: dict, rescale: bool) -> Tuple[int, int]:
        """Mask output size of one image (mmdet's rule).

        Args:
            meta (dict): Image meta with ``ori_shape`` and ``scale_factor``.
            rescale (bool): Original size if True, else the resized size.

        Returns:
            tuple[int, int]: (height, width).
        """
        h, w = meta['ori_shape'][:2]
        if rescale:
            return int(h), int(w)
        w_scale, h_scale = meta['scale_factor'][:2]
        return int(round(h * h_scale)), int(round(w * w_scale))
