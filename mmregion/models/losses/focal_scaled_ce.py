"""RegionCLIP's classification loss: focal-scaled softmax cross-entropy."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class FocalScaledCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy, focal-scaled, with a background weight.

    Per region: ``CE(x, y) * (1 - p_y) ** gamma * w_y`` where ``w_y`` is
    ``bg_weight`` for background rows (label ``C``, the last column) and 1
    otherwise; the mean is over all rows. This is RegionCLIP's fine-tuning
    loss (COCO: gamma 0.5, background weight 0.2), which keeps the few base
    classes from overwriting the pretrained concept space.

    With ``gamma=None`` it is RegionCLIP's plain class-weighted cross-entropy
    (LVIS: background weight 0.8), whose mean is PyTorch's weighted mean (the
    sum divided by the sum of the row weights), as in the official code.

    Args:
        gamma (float, optional): Focal scaling exponent; None for plain
            weighted cross-entropy. Defaults to 0.5.
        bg_weight (float): Weight of background rows. Defaults to 0.2.
        loss_weight (float): Multiplier of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 gamma: Optional[float] = 0.5,
                 bg_weight: float = 0.2,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if gamma is not None and gamma < 0:
            raise ValueError(f'gamma must be >= 0 or None, got {gamma}')
        self.gamma = gamma
        self.bg_weight = bg_weight
        self.loss_weight = loss_weight

    def forward(self,
                cls_score: Tensor,
                label: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape (N, C + 1), background last.
            label (Tensor): Labels in [0, C], shape (N,); C is background.
            weight (Tensor, optional): Per-row weights from the sampler,
                shape (N,); rows with weight 0 are ignored.
            avg_factor (float, optional): Ignored: the mean is over the rows
                (or the row weights), as in RegionCLIP.
            reduction_override (str, optional): ``'none'``, ``'mean'`` or
                ``'sum'``.

        Returns:
            Tensor: The loss, a scalar (or (N,) for ``'none'``).
        """
        reduction = reduction_override or 'mean'
        if label.numel() == 0:
            return cls_score.sum() * 0.0
        num_classes = cls_score.shape[1] - 1
        row_weight = torch.ones_like(cls_score[:, 0])
        row_weight[label == num_classes] = self.bg_weight
        if weight is not None:
            row_weight = row_weight * weight.float()
        ce = F.cross_entropy(cls_score, label, reduction='none')
        if self.gamma is not None:
            # 1 - p_t, kept above 0 where p_t rounds to 1 so that the
            # power's gradient stays finite (it is 0 there)
            one_minus_p_t = (-torch.expm1(-ce)).clamp(
                min=torch.finfo(ce.dtype).tiny)
            loss = ce * one_minus_p_t**self.gamma * row_weight
            denominator = row_weight.new_tensor(float(len(loss)))
            if weight is not None:
                denominator = (weight > 0).sum().clamp(min=1).float()
        else:
            loss = ce * row_weight
            denominator = row_weight.sum().clamp(min=1e-12)
        if reduction == 'none':
            return self.loss_weight * loss
        if reduction == 'sum':
            return self.loss_weight * loss.sum()
        return self.loss_weight * loss.sum() / denominator
