from .export import export_student
from .runner import load_config, test, train

__all__ = ['load_config', 'train', 'test', 'export_student']
