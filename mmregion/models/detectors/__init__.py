from .folded_yolact import FoldedYOLACT
from .region_pretrainer import RegionPretrainer
from .regionclip import RegionCLIP, offline_rpn_proposals

__all__ = [
    'FoldedYOLACT', 'RegionCLIP', 'RegionPretrainer', 'offline_rpn_proposals'
]
