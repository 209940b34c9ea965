"""End-to-end CPU latency of exported models under onnxruntime against the
PyTorch models (eager), same weights, same inputs, interleaved.

End to end means from the preprocessed batch to the final
``DetDataSample`` results (masks at the original size included) for both.
"""
import logging
import os
import os.path as osp
import statistics
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from torch import nn

from ..deploy.export import export_onnx
from ..deploy.runner import ONNXDetector
from .region_benchmark import random_boxes
from .yolact_benchmark import build_models, make_batch

YOLACT_CONFIG = 'configs/yolact/yolact_r50_1xb8-55e_coco.py'
REGIONCLIP_CONFIG = (
    'configs/regionclip/regionclip_rn50_c4_zeroshot-gt_coco-ovd.py')


def _export(cfg: Config, model: nn.Module, folder: str, name: str,
            **kwargs) -> ONNXDetector:
    """Export ``model`` (its weights through a checkpoint file) and load
    the runner."""
    ckpt = osp.join(folder, f'{name}.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    path = osp.join(folder, f'{name}.onnx')
    export_onnx(cfg, ckpt, path, dynamic_batch=True, **kwargs)
    return ONNXDetector(path, num_threads=torch.get_num_threads())


def yolact_case(folder: str, config: str = YOLACT_CONFIG) -> tuple:
    """YOLACT-R50-550 with the benchmark's realistic random weights
    (:func:`build_models`): the model, its config and its runner."""
    model = build_models(config)['mmregion']
    cfg = Config.fromfile(config)
    return model, _export(cfg, model, folder, 'yolact')


def regionclip_case(folder: str, config: str = REGIONCLIP_CONFIG,
                    num_classes: int = 65, seed: int = 0) -> tuple:
    """Zero-shot RegionCLIP RN50 with given boxes: a random CLIP RN50 and a
    random vocabulary of ``num_classes`` (COCO OVD's 65)."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    torch.manual_seed(seed)
    vocab = F.normalize(torch.randn(num_classes, 1024), dim=-1)
    cfg.model.backbone.checkpoint = None
    cfg.model.roi_head.bbox_head.update(
        train_vocabulary=vocab, test_vocabulary=vocab)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # mmengine logs every tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return model.eval(), _export(cfg, model, folder, 'regionclip')


def regionclip_batch(num_boxes: int, size=(800, 1216), ori=(480, 730),
                     seed: int = 0) -> tuple:
    """One image of ``size`` (resized from ``ori``) with ``num_boxes``
    random boxes in original coordinates."""
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(1, 3, *size, generator=g)
    sample = DetDataSample(metainfo=dict(
        img_shape=size, ori_shape=ori, pad_shape=size,
        batch_input_shape=size,
        scale_factor=(size[1] / ori[1], size[0] / ori[0])))
    sample.gt_instances = InstanceData(
        bboxes=random_boxes(num_boxes, *ori, seed=seed) * 0.5,
        labels=torch.zeros(num_boxes, dtype=torch.long))
    return inputs, [sample]


def interleaved(fns: Dict[str, Callable[[], list]],
                iters: int) -> Dict[str, dict]:
    """Time callables in turn (one warm-up each): per name the median and
    the detections of the last call.

    Args:
        fns (dict[str, callable]): Named callables returning samples.
        iters (int): Timed calls per callable.

    Returns:
        dict[str, dict]: ``median`` seconds, ``times`` and ``detections``
        (per image).
    """
    out = {name: dict(times=[]) for name in fns}
    for name, fn in fns.items():
        fn()
    for _ in range(iters):
        for name, fn in fns.items():
            start = time.perf_counter()
            samples = fn()
            out[name]['times'].append(time.perf_counter() - start)
            out[name]['detections'] = sum(
                len(s.pred_instances) for s in samples) / len(samples)
    for stats in out.values():
        stats['median'] = statistics.median(stats['times'])
    return out


def _fns(model: nn.Module, runner: ONNXDetector, make) -> dict:
    """PyTorch and onnxruntime calls on fresh copies of one batch."""

    def pytorch():
        inputs, samples = make()
        with torch.no_grad():
            return model.predict(inputs, samples)

    def onnxruntime():
        inputs, samples = make()
        return runner.predict(inputs, samples)

    return dict(pytorch=pytorch, onnxruntime=onnxruntime)


def run_benchmark(yolact_batches=(1, 8), num_boxes: int = 100,
                  iters: int = 5,
                  folder: Optional[str] = None) -> List[dict]:
    """All cases in one run: YOLACT-R50-550 at each batch size, RegionCLIP
    RN50 with ``num_boxes`` given boxes.

    Args:
        yolact_batches (Sequence[int]): YOLACT batch sizes.
        num_boxes (int): Boxes of the RegionCLIP image.
        iters (int): Timed calls per backend and case.
        folder (str, optional): Where the ONNX files go (a temporary
            folder if None).

    Returns:
        list[dict]: Per case ``case``, ``batch``, per-image ``pytorch`` and
        ``onnxruntime`` medians (s), ``ratio`` (onnxruntime / pytorch) and
        the detections per image of each.
    """
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = folder or tmp
        os.makedirs(folder, exist_ok=True)
        model, runner = yolact_case(folder)
        for b in yolact_batches:
            stats = interleaved(
                _fns(model, runner, lambda b=b: make_batch(b)), iters)
            rows.append(_row('YOLACT-R50-550', b, stats))
        del model, runner
        model, runner = regionclip_case(folder)
        stats = interleaved(
            _fns(model, runner, lambda: regionclip_batch(num_boxes)), iters)
        rows.append(_row(f'RegionCLIP RN50, {num_boxes} boxes', 1, stats))
    return rows


def _row(case: str, batch: int, stats: Dict[str, dict]) -> dict:
    """One result row, times per image."""
    pt, ox = stats['pytorch'], stats['onnxruntime']
    return dict(
        case=case, batch=batch, pytorch=pt['median'] / batch,
        onnxruntime=ox['median'] / batch,
        ratio=ox['median'] / pt['median'],
        detections=(pt['detections'], ox['detections']))
