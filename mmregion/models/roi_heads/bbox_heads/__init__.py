from ...layers.open_vocabulary import load_embeddings
from .regionclip_bbox_head import RegionCLIPBBoxHead

__all__ = ['RegionCLIPBBoxHead', 'load_embeddings']
