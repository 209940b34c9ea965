"""A class-agnostic localization-quality head: how well a proposal covers
an object, learnt from the training boxes and blind to their classes."""
from typing import List, Tuple

import torch
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import ConfigType
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class RegionQualityHead(BaseModule):
    """Predict a proposal's IoU with the object it covers, class-agnostic.

    An open-vocabulary detector's class scores come from a frozen
    region-text classifier that names a shape as readily from a box cutting
    it in half as from one framing it; the RPN's objectness, trained with
    boxes under IoU 0.7 ignored, barely tells the two apart. This head
    learns a localization quality score from the training (base) boxes as
    OLN does (Kim et al., *Learning Open-World Object Proposals without
    Learning to Classify*, 2022): its targets are the IoU of each proposal
    with the closest ground-truth box, and only proposals overlapping a box
    by at least ``min_iou`` (and the boxes themselves) are sampled, so the
    unlabelled objects of other classes in the training images, which
    overlap no box, are never taught as background. At test time
    :class:`RegionCLIPRoIHead` multiplies the objectness by it, raised to
    ``score_power``: a power above 1 sharpens the gap between a box framing
    a shape (quality near 1) and one cutting it (0.5 or below).

    Input: RoI features (N, C, P, P) (res4 RoIAligned, detached from the
    backbone), with ``context_scale`` those of the boxes enlarged by that
    factor concatenated (N, 2C, P, P): whether a shape goes on past the
    box's sides is seen around it. Output: (N,) quality in [0, 1].

    Args:
        in_channels (int): RoI feature channels C (of one box).
        roi_size (int): RoI feature side P.
        context_scale (float): Also read the boxes enlarged by this factor
            (> 1); 0: the boxes alone. Defaults to 0.
        conv_channels (int): Channels of the 3x3 convolution.
        fc_channels (int): Width of the hidden fully connected layer.
        score_power (float): The quality's exponent in the test score
            (> 0). Defaults to 1.
        min_iou (float): Sample proposals with at least this IoU with a box.
        num_samples (int): Proposals sampled per image (at most).
        loss (dict): mmdet loss config on (prediction, IoU target).
        init_cfg (dict | list[dict], optional): Initialisation.
    """

    def __init__(self,
                 in_channels: int,
                 roi_size: int,
                 context_scale: float = 0.0,
                 conv_channels: int = 64,
                 fc_channels: int = 256,
                 score_power: float = 1.0,
                 min_iou: float = 0.1,
                 num_samples: int = 64,
                 loss: ConfigType = dict(type='L1Loss', loss_weight=1.0),
                 init_cfg=None) -> None:
        super().__init__(init_cfg=init_cfg)
        if not 0.0 <= min_iou < 1.0:
            raise ValueError(f'RegionQualityHead: min_iou must be in [0, 1), '
                             f'got {min_iou}')
        if num_samples < 1:
            raise ValueError(f'RegionQualityHead: num_samples must be >= 1, '
                             f'got {num_samples}')
        if context_scale and context_scale <= 1.0:
            raise ValueError(f'RegionQualityHead: context_scale must be > 1 '
                             f'(or 0: no context), got {context_scale}')
        if score_power <= 0:
            raise ValueError(f'RegionQualityHead: score_power must be > 0, '
                             f'got {score_power}')
        self.in_channels = in_channels
        self.roi_size = roi_size
        self.score_power = score_power
        self.min_iou = min_iou
        self.num_samples = num_samples
        self.context_scale = context_scale
        self.conv = ConvModule(in_channels * (2 if context_scale else 1),
                               conv_channels, 3, padding=1)
        self.fc = nn.Sequential(
            nn.Flatten(), nn.Linear(conv_channels * roi_size * roi_size,
                                    fc_channels), nn.ReLU(inplace=True),
            nn.Linear(fc_channels, 1))
        self.loss_quality = MODELS.build(loss)

    def forward(self, roi_feats: Tensor) -> Tensor:
        """Quality of RoIs.

        Args:
            roi_feats (Tensor): (N, C, P, P) RoI features ((N, 2C, P, P)
                with ``context_scale``).

        Returns:
            Tensor: (N,) predicted IoU in [0, 1].
        """
        return self.fc(self.conv(roi_feats.detach())).squeeze(1).sigmoid()

    def sample(self, priors: List[Tensor],
               gt_bboxes: List[Tensor]) -> Tuple[List[Tensor], Tensor]:
        """Training RoIs and their IoU targets.

        Args:
            priors (list[Tensor]): Per image, (n, 4) proposals.
            gt_bboxes (list[Tensor]): Per image, (g, 4) ground-truth boxes.

        Returns:
            tuple: per image the (k, 4) sampled boxes (drawn from the
            ground-truth boxes and the proposals), and the (sum k,) IoU
            targets.
        """
        boxes, targets = [], []
        for prior, gt in zip(priors, gt_bboxes):
            cand = torch.cat([gt, prior]) if len(gt) else prior[:0]
            if len(cand) == 0:
                boxes.append(cand)
                continue
            iou = bbox_overlaps(cand, gt).max(dim=1).values
            keep = torch.nonzero(iou >= self.min_iou).flatten()
            if len(keep) > self.num_samples:
                keep = keep[torch.randperm(
                    len(keep), device=keep.device)[:self.num_samples]]
            boxes.append(cand[keep])
            targets.append(iou[keep])
        target = torch.cat(targets) if targets else priors[0].new_zeros(0)
        return boxes, target

    def loss(self, pred: Tensor, target: Tensor) -> dict:
        """The quality loss.

        Args:
            pred (Tensor): (N,) predicted quality.
            target (Tensor): (N,) IoU targets.

        Returns:
            dict[str, Tensor]: ``loss_quality`` (zero without samples).
        """
        if pred.numel() == 0:
            return dict(loss_quality=pred.sum())
        return dict(loss_quality=self.loss_quality(pred, target))
