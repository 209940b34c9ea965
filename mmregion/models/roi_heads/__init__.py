from .bbox_heads import RegionCLIPBBoxHead, load_embeddings
from .mask_heads import MaskIoURescoringHead
from .quality_heads import RegionQualityHead
from .regionclip_roi_head import RegionCLIPRoIHead

__all__ = [
    'RegionCLIPBBoxHead', 'RegionCLIPRoIHead', 'load_embeddings',
    'MaskIoURescoringHead', 'RegionQualityHead'
]
