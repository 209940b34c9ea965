from .runner import load_config, test, train

__all__ = ['load_config', 'train', 'test']
