"""A tiny RegionCLIP with a mask head, built in seconds, for the web demo
tests: a random RN-tiny CLIP, its shape-name embeddings, a config that
points at them and a detector checkpoint of random weights."""
import os.path as osp

import open_clip
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from conftest import REPO
from mmregion.synthetic import SHAPE_CLASSES

CONFIG = osp.join(REPO,
                  'configs/synthetic/regionclip_rn-tiny_c4-mask_shapes-ovd.py')


def make_tiny_regionclip(root: str) -> dict:
    """Write ``clip.pth``, ``emb_all.pth``, ``config.py`` and
    ``detector.pth`` (with the shape names as its classes) into ``root``.

    Returns:
        dict: ``config``, ``weights`` and ``clip`` paths.
    """
    init_default_scope('mmdet')
    torch.manual_seed(0)
    clip = open_clip.create_model('RN-tiny', pretrained=None).eval()
    files = dict(clip=osp.join(root, 'clip.pth'),
                 emb=osp.join(root, 'emb_all.pth'),
                 config=osp.join(root, 'config.py'),
                 weights=osp.join(root, 'detector.pth'))
    torch.save(clip.state_dict(), files['clip'])
    tokenizer = open_clip.get_tokenizer('RN-tiny')
    with torch.no_grad():
        emb = clip.encode_text(
            tokenizer([f'a photo of a {c}.' for c in SHAPE_CLASSES]))
    torch.save(F.normalize(emb, dim=-1), files['emb'])
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'model.backbone.checkpoint': files['clip'],
        'model.roi_head.bbox_head.train_vocabulary': files['emb'],
        'model.roi_head.bbox_head.test_vocabulary': files['emb'],
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
    })
    cfg.dump(files['config'])
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=tuple(SHAPE_CLASSES)))),
        files['weights'])
    return files
