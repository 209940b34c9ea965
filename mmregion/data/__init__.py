"""Data files shipped with mmregion (class lists, prompt templates, configs)."""
import os
import os.path as osp

DATA_DIR = osp.dirname(osp.abspath(__file__))
CLIP_CONFIG_DIR = osp.join(DATA_DIR, 'clip_configs')
"""open_clip model configs of mmregion (``RN-tiny``: a tiny ModifiedResNet
CLIP for tests and the synthetic experiments)."""


def register_clip_configs(config_dir: str = CLIP_CONFIG_DIR) -> None:
    """Make open_clip's factory know the model configs in ``config_dir``.

    ``import mmregion`` calls it, so ``open_clip.create_model('RN-tiny')``
    works afterwards.

    Args:
        config_dir (str): A folder of open_clip model-config json files.
    """
    import open_clip
    known = set(open_clip.list_models())
    if not all(
            osp.splitext(f)[0] in known for f in os.listdir(config_dir)):
        open_clip.add_model_config(config_dir)
