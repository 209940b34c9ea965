"""Settings of the synthetic open-vocabulary experiment: its data, the
fine-tuning recipes and the schedules."""
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

from ..synthetic import (
    ShapesConfig,
    generate_shapes_dataset,
    generate_split,
    shapes_preset,
)
from ..synthetic.captions import CAPTION_TEMPLATES

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim',
                      'configs', 'synthetic')
"""The synthetic configs, as installed with the package."""
PRETRAIN_CONFIG = osp.join(CONFIG_DIR, 'region-pretrain_rn-tiny_shapes.py')
FINETUNE_CONFIG = osp.join(CONFIG_DIR, 'regionclip_rn-tiny_c4_shapes-ovd.py')

_FROZEN: Dict[str, object] = {
    'model.backbone.frozen_stages': 4,
    'optim_wrapper.paramwise_cfg': dict(
        custom_keys=dict(backbone=dict(lr_mult=0.0, decay_mult=0.0))),
    'model.roi_head.use_objectness': True,
}

FINETUNE_RECIPES: Dict[str, Dict[str, object]] = dict(
    # the synthetic config as it is: the `frozen` recipe below
    config={},
    # the region embedding kept as pretrained: the whole backbone frozen,
    # only the RPN and the box regressor learn; as nothing learns the
    # background, test scores are sqrt(p * objectness) (RegionCLIP's
    # MULTIPLY_RPN_SCORE); the config's default
    frozen={**_FROZEN, 'model.roi_head.quality_head': None},
    # `frozen`, the objectness multiplied by a class-agnostic localization
    # quality learnt from the base boxes (RegionQualityHead), to the 4th
    # power (stop 22's experiment; not exportable to ONNX yet)
    quality={
        **_FROZEN, 'model.roi_head.quality_head':
        dict(
            type='RegionQualityHead',
            in_channels=128,
            roi_size=4,
            score_power=4.0)
    },
    # RegionCLIP's COCO recipe: stem and res2 frozen (FREEZE_AT 2), the
    # backbone (res5 and the attention pool included) at a tenth of the
    # learning rate; background weight 0.2 and focal scaling 0.5 are the
    # config's already
    regionclip={
        'model.backbone.frozen_stages': 1,
        'optim_wrapper.paramwise_cfg': dict(
            custom_keys=dict(backbone=dict(lr_mult=0.1, decay_mult=1.0))),
        'model.roi_head.use_objectness': False,
        'model.roi_head.quality_head': None,
    },
    # every stage trained at lr 0.01 (the synthetic config before the
    # frozen recipe won)
    trained={
        'model.backbone.frozen_stages': -1,
        'optim_wrapper.paramwise_cfg': dict(
            custom_keys=dict(backbone=dict(lr_mult=1.0, decay_mult=1.0))),
        'model.roi_head.use_objectness': False,
        'model.roi_head.quality_head': None,
    })
"""Fine-tuning settings of the experiment (config overrides)."""


PRETRAIN_RECIPES: Dict[str, Dict[str, object]] = dict(
    # the synthetic pretraining config as it is (SGD at lr 0.01, T 0.01,
    # threshold 0.1)
    config={},
    # RegionCLIP's pretraining, its step size made to fit the tiny CLIP:
    # at lr 0.01 the image-text loss wipes the teacher out of the student
    # in 20 iterations (docs/ovd_experiment.md); threshold 0.9
    regionclip={
        'model.concept_threshold': 0.9,
        'optim_wrapper.optimizer.lr': 0.001,
    },
    # caption-grounded pseudo labels: each region's concept among those
    # its image's captions name (RegionCLIP ranges over the whole pool),
    # AdamW at lr 1e-4 (SGD does not move the student off its teacher
    # within the budget: region losses of ~10 at T = 0.01)
    grounded={
        'model.caption_concepts': True,
        'model.concept_threshold': 0.9,
        'optim_wrapper.optimizer': dict(
            _delete_=True, type='AdamW', lr=1e-4, weight_decay=0.01),
    })
"""Pretraining settings of the experiment (config overrides)."""


def prepare_data(data_root: str,
                 seed: int = 0,
                 preset: Optional[str] = None,
                 clip_corpus: Optional[Dict[str, object]] = None) -> None:
    """Generate the shapes dataset into ``data_root`` unless its
    ``meta.json`` exists.

    Args:
        data_root (str): Dataset root.
        seed (int): Seed of the data. Defaults to 0.
        preset (str, optional): A :data:`~mmregion.synthetic.PRESETS`
            name; None: the generator's defaults (600 train and 100 val
            images, 8 classes). Defaults to None.
        clip_corpus (dict, optional): When given, also write the split
            ``clip``, the tiny CLIP's own image-caption corpus (as CLIP's
            web photos are not the detection data): ``images`` (default:
            as many as ``train``) and :class:`ShapesConfig` fields that
            differ from the preset's, e.g. ``dict(images=4000,
            object_centric=0.5, colour_words=False)``. Defaults to None
            (the CLIP trains on the ``train`` captions).
    """
    if osp.isfile(osp.join(data_root, 'meta.json')):
        return
    cfg, splits = shapes_preset(preset or 'demo')
    if clip_corpus:
        changes = dict(clip_corpus)
        images = int(changes.pop('images', splits['train']))
        generate_split(data_root, 'clip', images, seed * 1000 + 99,
                       ShapesConfig(**{**vars(cfg), **changes}))
    # meta.json last: it marks the data complete
    generate_shapes_dataset(data_root, splits, seed, cfg)


def finetune_schedule(epochs: int) -> Dict[str, object]:
    """Fine-tuning overrides for ``epochs`` epochs (lr steps at 75% and
    92%), without validation: the experiment tests once after training and
    keeps the last checkpoint only.

    Args:
        epochs (int): Training epochs.

    Returns:
        dict: Config overrides.
    """
    return {
        'train_cfg.max_epochs': epochs,
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'val_dataloader': None,
        'val_cfg': None,
        'val_evaluator': None,
        'param_scheduler.1.end': epochs,
        'param_scheduler.1.milestones': [
            round(epochs * 0.75), round(epochs * 0.92)
        ],
    }


def pretrain_schedule(iters: int) -> Dict[str, object]:
    """Pretraining overrides for ``iters`` iterations (lr step at 80%,
    one checkpoint at the end).

    Args:
        iters (int): Training iterations.

    Returns:
        dict: Config overrides.
    """
    return {
        'train_cfg.max_iters': iters,
        'param_scheduler.1.end': iters,
        'param_scheduler.1.milestones': [int(iters * 0.8)],
        'default_hooks.checkpoint.interval': iters,
    }


def object_words(names: Sequence[str]) -> List[str]:
    """The concepts that name objects: the pool less the nouns of the
    synthetic caption templates ('background', 'picture', 'image').

    Args:
        names (Sequence[str]): Concept names.

    Returns:
        list[str]: The object concepts, in order.
    """
    template_words = set(re.findall(r'[a-z]+',
                                    ' '.join(CAPTION_TEMPLATES)))
    return [n for n in names if n not in template_words]


def caption_templates() -> List[str]:
    """The prompt templates of the synthetic pretraining config.

    Returns:
        list[str]: Templates with ``{}`` for the class name.
    """
    from mmengine.config import Config
    return list(Config.fromfile(PRETRAIN_CONFIG).caption_templates)
