from .se_plugin import SEPlugin

__all__ = ['SEPlugin']
