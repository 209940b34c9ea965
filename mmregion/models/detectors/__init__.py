from .regionclip import RegionCLIP

__all__ = ['RegionCLIP']
