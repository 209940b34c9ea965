from .focal_scaled_ce import FocalScaledCrossEntropyLoss
from .region_text_losses import (
                                 PseudoLabels,
                                 caption_candidates,
                                 concept_pseudo_labels,
                                 gather_with_grad,
                                 image_text_contrastive_loss,
                                 region_distillation_loss,
                                 region_text_contrastive_loss,
)

__all__ = [
    'FocalScaledCrossEntropyLoss', 'PseudoLabels', 'caption_candidates',
    'concept_pseudo_labels',
    'gather_with_grad', 'image_text_contrastive_loss',
    'region_distillation_loss', 'region_text_contrastive_loss'
]
