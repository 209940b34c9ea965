"""mmregion: an MMDetection 3.x plugin for region-language and real-time
instance-segmentation models.

Importing the package registers its modules into mmdet's registries (configs
do it with ``custom_imports = dict(imports=['mmregion'])``) and installs the
compatibility fixes of :mod:`mmregion.compat`.
"""
from . import compat
from .data import register_clip_configs

compat.apply()
register_clip_configs()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'
