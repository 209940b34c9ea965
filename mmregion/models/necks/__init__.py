from .yolact_fpn import YOLACTFPN

__all__ = ['YOLACTFPN']
