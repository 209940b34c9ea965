"""Evaluation helpers of the synthetic open-vocabulary experiment: dataset
overrides, zero-shot AP50 on ground-truth boxes, the AP50 figures."""
import os.path as osp
from typing import Dict

from mmengine.logging import MessageHub
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from .ovd_settings import FINETUNE_CONFIG
from .region_diagnostics import dataset_classes
from .runner import load_config

METRIC_KEYS = ('coco/novel_ap50', 'coco/base_ap50', 'coco/all_ap50')


def fresh_run_state() -> None:
    """Forget the previous run's logger state (message hub, visualiser),
    which mmengine keeps per process and a second runner would reuse."""
    from mmdet.visualization import DetLocalVisualizer
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def data_options(data_root: str, num_workers: int) -> Dict[str, object]:
    """Fine-tuning config overrides for a shapes dataset: its root, its
    classes (base for training, all for evaluation) and loaders.

    Args:
        data_root (str): Dataset root (with ``meta.json``).
        num_workers (int): Data-loading workers.

    Returns:
        dict: Config overrides.
    """
    classes, novel = dataset_classes(data_root)
    ann = osp.join(data_root, 'annotations', 'instances_val.json')
    options = {}
    for split in ('train', 'val', 'test'):
        names = [c for c in classes if c not in novel] if \
            split == 'train' else classes
        options.update({
            f'{split}_dataloader.dataset.data_root': data_root,
            f'{split}_dataloader.dataset.class_group': None,
            f'{split}_dataloader.dataset.metainfo': dict(
                classes=names, novel_classes=novel),
            f'{split}_dataloader.num_workers': num_workers,
            f'{split}_dataloader.persistent_workers': num_workers > 0,
        })
    for split in ('val', 'test'):
        options[f'{split}_evaluator.ann_file'] = ann
    return options


def ap50_metrics(metrics: Dict[str, float]) -> Dict[str, float]:
    """Novel/base/all AP50; 0 where the model detected nothing (the metric
    then reports no numbers).

    Args:
        metrics (dict): A test loop's metrics.

    Returns:
        dict: ``novel_ap50``, ``base_ap50``, ``all_ap50``.
    """
    return {
        key.split('/')[-1]: float(metrics.get(key, 0.0))
        for key in METRIC_KEYS
    }


def zero_shot_gt(options: Dict[str, object],
                 work_dir: str) -> Dict[str, float]:
    """Evaluate the fine-tuning config zero-shot on ground-truth boxes,
    its backbone weights loaded from ``model.backbone.checkpoint``.

    ``tools/test.py`` loads a whole detector checkpoint and does not
    initialise the model, which would leave a backbone given only by its
    ``checkpoint`` random; here ``init_weights`` loads it.

    Args:
        options (dict): Fine-tuning config overrides.
        work_dir (str): The test's work dir.

    Returns:
        dict: The test metrics.
    """
    fresh_run_state()
    runner = Runner.from_cfg(
        load_config(
            FINETUNE_CONFIG, {
                **options, 'model.proposal_source': 'gt',
                'model.roi_head.bbox_head.no_box_delta': True,
                # every class of every box, ranked by its probability
                'model.test_cfg.rcnn.score_thr': 0.0
            }, work_dir))
    runner.model.init_weights()
    return runner.test()
