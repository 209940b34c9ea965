"""Draw dataset samples after the pipeline (what the model is fed)."""
import os
import os.path as osp
from typing import List, Optional

import mmcv
from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.structures.bbox import BaseBoxes
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData


def browse_dataset(cfg: Config,
                   out_dir: str,
                   num_images: int = 10,
                   phase: str = 'train') -> List[str]:
    """Write images of a dataset with its ground truth drawn on them.

    Args:
        cfg (Config): A loaded config.
        out_dir (str): Folder for the images (created).
        num_images (int): How many samples to draw. Defaults to 10.
        phase (str): ``'train'``, ``'val'`` or ``'test'``; which dataloader's
            dataset (and pipeline) to use. Defaults to ``'train'``.

    Returns:
        list[str]: Paths of the written images.
    """
    if phase not in ('train', 'val', 'test'):
        raise ValueError(f'phase must be train, val or test, got {phase!r}')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    dataset = DATASETS.build(cfg[f'{phase}_dataloader'].dataset)
    visualizer = VISUALIZERS.build(cfg.visualizer)
    visualizer.dataset_meta = dataset.metainfo
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for idx in range(min(num_images, len(dataset))):
        item = dataset[idx]
        img = item['inputs'].permute(1, 2, 0).numpy()
        sample = item['data_samples'].numpy()
        gt: InstanceData = sample.gt_instances
        if isinstance(gt.get('bboxes'), BaseBoxes):
            gt.bboxes = gt.bboxes.tensor
        sample.gt_instances = gt
        img = mmcv.bgr2rgb(img)
        name = osp.basename(sample.get('img_path', f'{idx:06d}.png'))
        out_file = osp.join(out_dir, name)
        visualizer.add_datasample(
            osp.splitext(name)[0],
            img,
            data_sample=sample,
            draw_pred=False,
            show=False,
            out_file=out_file)
        written.append(out_file)
    return written


def browse(config: str,
           out_dir: str,
           num_images: int = 10,
           phase: str = 'train',
           cfg_options: Optional[dict] = None) -> List[str]:
    """Load a config and call :func:`browse_dataset`.

    Args:
        config (str): Path of the config file.
        out_dir (str): Folder for the images.
        num_images (int): How many samples to draw. Defaults to 10.
        phase (str): Which dataloader's dataset to use. Defaults to 'train'.
        cfg_options (dict, optional): Config overrides.

    Returns:
        list[str]: Paths of the written images.
    """
    from .runner import load_config
    cfg = load_config(config, cfg_options)
    return browse_dataset(cfg, out_dir, num_images, phase)
