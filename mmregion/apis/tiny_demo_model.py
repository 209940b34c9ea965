"""A tiny open-vocabulary detector with masks, made in seconds, no downloads.

For trying the demos (and testing them): a RegionCLIP with a mask head on
the synthetic shapes config, with a random RN-tiny CLIP. Its scores mean
nothing (use a score threshold of 0); it takes typed words like a trained
one, and draws boxes and masks.
"""
import os
import os.path as osp
from typing import Dict

import torch
import torch.nn.functional as F
from mmengine.config import Config

from ..fileio import atomic_open, atomic_save
from ..synthetic.shapes import SHAPE_CLASSES

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim',
                  'configs', 'synthetic',
                  'regionclip_rn-tiny_c4-mask_shapes-ovd.py')


def make_tiny_regionclip(out_dir: str, seed: int = 0) -> Dict[str, str]:
    """Write a random tiny RegionCLIP (with masks) and its CLIP.

    Args:
        out_dir (str): Folder for ``clip_rn-tiny.pth`` (open_clip RN-tiny
            weights), ``emb_rn-tiny_all.pth`` ((8, 64) embeddings of the
            shape names), ``config.py`` (pointing at both) and
            ``detector.pth`` (the detector; the shape names as its
            ``dataset_meta`` classes).
        seed (int): Seed of the random weights. Defaults to 0.

    Returns:
        dict: Paths: ``clip``, ``emb``, ``config``, ``weights``.
    """
    import open_clip
    from mmdet.registry import MODELS
    from mmengine.registry import init_default_scope

    import mmregion  # noqa: F401  (registers the RN-tiny CLIP and modules)
    init_default_scope('mmdet')
    os.makedirs(out_dir, exist_ok=True)
    files = dict(clip=osp.join(out_dir, 'clip_rn-tiny.pth'),
                 emb=osp.join(out_dir, 'emb_rn-tiny_all.pth'),
                 config=osp.join(out_dir, 'config.py'),
                 weights=osp.join(out_dir, 'detector.pth'))
    torch.manual_seed(seed)
    clip = open_clip.create_model('RN-tiny', pretrained=None).eval()
    atomic_save(clip.state_dict(), files['clip'])
    tokenizer = open_clip.get_tokenizer('RN-tiny')
    with torch.no_grad():
        emb = clip.encode_text(
            tokenizer([f'a photo of a {c}.' for c in SHAPE_CLASSES]))
    atomic_save(F.normalize(emb, dim=-1), files['emb'])
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'model.backbone.checkpoint': files['clip'],
        'model.roi_head.bbox_head.train_vocabulary': files['emb'],
        'model.roi_head.bbox_head.test_vocabulary': files['emb'],
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
    })
    with atomic_open(files['config'], 'w') as f:
        f.write(cfg.pretty_text)
    model = MODELS.build(cfg.model)
    model.init_weights()
    atomic_save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=tuple(SHAPE_CLASSES)))),
        files['weights'])
    return files
