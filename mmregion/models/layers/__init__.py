from .se_plugin import SEPlugin
from .text_classifier import TextClassifier

__all__ = ['SEPlugin', 'TextClassifier']
