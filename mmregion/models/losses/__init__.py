from .focal_scaled_ce import FocalScaledCrossEntropyLoss

__all__ = ['FocalScaledCrossEntropyLoss']
