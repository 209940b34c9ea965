"""The synthetic experiment's offline RPN: a small RPN trained on the
base-class boxes (class agnostic), as RegionCLIP's offline RPN is trained
on LVIS base boxes; its proposals are the pretraining regions."""
import os.path as osp
from typing import Callable, Dict, Optional

from mmengine.config import Config

from .ovd_settings import CONFIG_DIR
from .runner import train

RPN_CONFIG = osp.join(CONFIG_DIR, 'rpn_r18-tiny_fpn_shapes-base.py')
"""The offline RPN's config (ResNet-18 at quarter widths + FPN)."""


def train_offline_rpn(data_root: str,
                      work_dir: str,
                      epochs: int = 6,
                      seed: int = 0,
                      num_workers: int = 1,
                      fresh: Optional[Callable[[], None]] = None) -> str:
    """Train the offline RPN on the base boxes of ``train``.

    Args:
        data_root (str): Shapes dataset root (ends with ``/``).
        work_dir (str): Its logs and checkpoint.
        epochs (int): Training epochs (lr step at 75 %). Defaults to 6.
        seed (int): Training seed. Defaults to 0.
        num_workers (int): Data-loading workers. Defaults to 1.
        fresh (Callable, optional): Called before the runner is built
            (forgets a previous runner's logger state).

    Returns:
        str: The checkpoint (``epoch_{epochs}.pth``).
    """
    options = {
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.num_workers': num_workers,
        'train_dataloader.persistent_workers': num_workers > 0,
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': epochs + 1,
        'param_scheduler.1.end': epochs,
        'param_scheduler.1.milestones': [round(epochs * 0.75)],
        'default_hooks.checkpoint.interval': epochs,
        'val_dataloader': None,
        'val_cfg': None,
        'val_evaluator': None,
        'test_dataloader': None,
        'test_cfg': None,
        'test_evaluator': None,
        'randomness': dict(seed=seed),
    }
    if fresh is not None:
        fresh()
    runner = train(RPN_CONFIG, work_dir=work_dir, cfg_options=options)
    return osp.join(work_dir, f'epoch_{runner.epoch}.pth')


def offline_rpn_options(checkpoint: str,
                        max_per_img: int = 20,
                        nms_iou: float = 0.5) -> Dict[str, object]:
    """Pretraining overrides that take the regions from the offline RPN.

    Args:
        checkpoint (str): From :func:`train_offline_rpn`.
        max_per_img (int): Proposals kept per image after NMS (the most
            confident). Defaults to 20.
        nms_iou (float): Their NMS IoU threshold. Defaults to 0.5.

    Returns:
        dict: ``model.offline_rpn`` and ``model.num_regions`` overrides.
    """
    model = Config.fromfile(RPN_CONFIG).model.to_dict()
    model.update(
        _delete_=True,
        train_cfg=None,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint),
        test_cfg=dict(
            rpn=dict(
                nms_pre=1000,
                max_per_img=max_per_img,
                nms=dict(type='nms', iou_threshold=nms_iou),
                min_bbox_size=0)))
    return {'model.offline_rpn': model, 'model.num_regions': max_per_img}
