from .region_quality_head import RegionQualityHead

__all__ = ['RegionQualityHead']
