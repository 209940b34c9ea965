from .export import export_student
from .ovd_experiment import format_results, run_ovd_experiment
from .runner import load_config, test, train
from .tiny_clip import train_tiny_clip

__all__ = [
    'load_config', 'train', 'test', 'export_student', 'train_tiny_clip',
    'run_ovd_experiment', 'format_results'
]
