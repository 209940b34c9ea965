from .lvis_ovd_metric import LVISOVDMetric, numpy_float_alias
from .ovd_metric import OVDMetric

__all__ = ['OVDMetric', 'LVISOVDMetric', 'numpy_float_alias']
