from .clip_resnet import (
                          CLIP_PIXEL_MEAN,
                          CLIP_PIXEL_STD,
                          CLIP_RESNET_VARIANTS,
                          CLIPResNet,
                          CLIPResNetVariant,
                          load_clip_visual_state_dict,
)
from .interval_dcn_resnet import IntervalDCNResNet
from .resnet_se import ResNetSE

__all__ = [
    'ResNetSE', 'IntervalDCNResNet', 'CLIPResNet', 'CLIPResNetVariant',
    'CLIP_RESNET_VARIANTS',
    'CLIP_PIXEL_MEAN', 'CLIP_PIXEL_STD', 'load_clip_visual_state_dict'
]
