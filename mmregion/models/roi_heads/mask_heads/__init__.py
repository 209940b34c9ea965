from .maskiou_rescoring_head import MaskIoURescoringHead

__all__ = ['MaskIoURescoringHead']
