from .regionclip_bbox_head import RegionCLIPBBoxHead, load_embeddings

__all__ = ['RegionCLIPBBoxHead', 'load_embeddings']
