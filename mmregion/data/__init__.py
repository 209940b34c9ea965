"""Data files shipped with mmregion (class lists, prompt templates, configs)."""
import os
import os.path as osp
from typing import List

DATA_DIR = osp.dirname(osp.abspath(__file__))
CLIP_CONFIG_DIR = osp.join(DATA_DIR, 'clip_configs')
"""open_clip model configs of mmregion (``RN-tiny``: a tiny ModifiedResNet
CLIP for tests and the synthetic experiments)."""


def register_clip_configs(config_dir: str = CLIP_CONFIG_DIR) -> List[str]:
    """Add the model configs in ``config_dir`` to open_clip's registry.

    ``import mmregion`` calls it, so ``open_clip.create_model('RN-tiny')``
    works afterwards. Only names open_clip does not know are added; a file
    whose name open_clip already has is left out, so open_clip's own
    configs are never replaced.

    Args:
        config_dir (str): A folder of open_clip model-config json files.

    Returns:
        list[str]: The names added by this call.
    """
    import open_clip
    known = set(open_clip.list_models())
    added = []
    for fname in sorted(os.listdir(config_dir)):
        name, ext = osp.splitext(fname)
        if ext == '.json' and name not in known:
            open_clip.add_model_config(osp.join(config_dir, fname))
            added.append(name)
    return added
