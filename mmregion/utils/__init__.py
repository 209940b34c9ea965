from .config_check import RUNNER_KEYS, check_config_keys

__all__ = ['RUNNER_KEYS', 'check_config_keys']
