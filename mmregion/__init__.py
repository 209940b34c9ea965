"""mmregion: an MMDetection 3.x plugin for region-language and real-time
instance-segmentation models.

Importing the package registers its modules into mmdet's registries (configs
do it with ``custom_imports = dict(imports=['mmregion'])``) and adds
mmregion's own model names (``RN-tiny``) to open_clip's model registry,
never replacing one of open_clip's. It changes nothing else: mmengine's
checkpoint loaders and ``torch.load`` are untouched. The torch >= 2.6
checkpoint fix is :mod:`mmregion.engine.checkpoint_loader`, which our
configs name in ``custom_imports``.
"""
from .data import register_clip_configs

register_clip_configs()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__version__ = '0.1.0'
