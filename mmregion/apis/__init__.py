from .export import export_student
from .ovd_experiment import run_ovd_experiment
from .ovd_seeds import run_ovd_seeds
from .ovd_summary import format_results, format_summary, summarise
from .runner import load_config, test, train
from .tiny_clip import train_tiny_clip

__all__ = [
    'load_config', 'train', 'test', 'export_student', 'train_tiny_clip',
    'run_ovd_experiment', 'run_ovd_seeds', 'format_results',
    'format_summary', 'summarise'
]
