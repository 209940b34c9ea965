from .ovd_metric import OVDMetric

__all__ = ['OVDMetric']
