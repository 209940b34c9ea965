"""``demo/image_demo.py --backend onnxruntime``: an exported model on images,
with the outputs of mmdet's ``DetInferencer`` (``vis/``, ``preds/``)."""
import os.path as osp
from typing import Optional, Tuple

import mmcv

from ..apis.region_features import list_images
from ..fileio import dump_json_atomic
from .runner import ONNXDetector


def _prediction_dict(instances) -> dict:
    """A prediction as ``DetInferencer`` writes it (masks as RLE)."""
    out = dict(
        labels=instances.labels.tolist(),
        scores=instances.scores.tolist(),
        bboxes=instances.bboxes.tolist())
    if 'masks' in instances:
        from mmdet.structures.mask import encode_mask_results
        rles = encode_mask_results(instances.masks.numpy())
        for rle in rles:
            rle['counts'] = rle['counts'].decode()
        out['masks'] = rles
    return out


def onnx_image_demo(model: str,
                    inputs: str,
                    out_dir: str,
                    score_thr: float = 0.3,
                    batch_size: Optional[int] = None
                    ) -> Tuple[int, Tuple[str, ...]]:
    """Detect with an exported model; write ``out_dir/vis/*`` (drawn
    detections above ``score_thr``) and ``out_dir/preds/*.json`` (all).

    Args:
        model (str): The ``.onnx`` file.
        inputs (str): An image or a folder of images.
        out_dir (str): Output folder.
        score_thr (float): Score threshold of the drawings.
        batch_size (int, optional): Images per call (default: the graph's
            fixed batch size, or 8 for a dynamic one).

    Returns:
        tuple[int, tuple[str, ...]]: Number of images and the class names.
    """
    from mmdet.visualization import DetLocalVisualizer
    runner = ONNXDetector(model)
    images = list_images(inputs)
    step = batch_size or runner.contract['batch_size'] or 8
    vis = DetLocalVisualizer(name=f'onnx_demo_{id(runner)}')
    vis.dataset_meta = runner.dataset_meta
    for start in range(0, len(images), step):
        paths = images[start:start + step]
        for path, sample in zip(paths, runner(paths)):
            name = osp.splitext(osp.basename(path))[0]
            dump_json_atomic(
                _prediction_dict(sample.pred_instances),
                osp.join(out_dir, 'preds', f'{name}.json'))
            shown = sample.clone()
            keep = shown.pred_instances.scores > score_thr
            shown.pred_instances = shown.pred_instances[keep]
            vis.add_datasample(
                name, mmcv.imread(path, channel_order='rgb'), shown,
                draw_gt=False, show=False,
                out_file=osp.join(out_dir, 'vis', osp.basename(path)))
    return len(images), runner.dataset_meta['classes']
