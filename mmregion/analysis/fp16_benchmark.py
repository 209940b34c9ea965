"""float32 vs mixed-precision inference time of a detector."""
import statistics
import time
from typing import Dict, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from ..apis.inference import mixed_precision


def _random_model(config: str, device: str):
    """The config's model with random weights: no weight file is read."""
    cfg = Config.fromfile(config)
    register_all_modules()
    if cfg.get('custom_imports'):
        import_modules_from_strings(**cfg.custom_imports)
    backbone = cfg.model.backbone
    if 'checkpoint' in backbone:
        backbone.checkpoint = None
    if cfg.model.get('offline_rpn'):
        cfg.model.offline_rpn.init_cfg = None
    model = MODELS.build(cfg.model).to(device).eval()
    head = getattr(getattr(model, 'roi_head', None), 'bbox_head', None)
    if hasattr(head, 'set_vocabulary'):
        torch.manual_seed(0)
        head.set_vocabulary(torch.randn(80, head.classifier.embed_dim))
    return model


def benchmark_fp16(config: str, batch_size: int = 2, iters: int = 3,
                   size: Tuple[int, int] = (480, 640), threads: int = 0,
                   device: str = 'cpu') -> Dict[str, float]:
    """Time ``predict`` in float32 and under :func:`mixed_precision`,
    interleaved, on one random batch.

    Args:
        config (str): A detector config.
        batch_size (int): Images per batch. Defaults to 2.
        iters (int): Turns per precision. Defaults to 3.
        size (tuple[int, int]): (H, W), a multiple of 32. Defaults to
            (480, 640).
        threads (int): torch threads; 0 keeps the default.
        device (str): Device. Defaults to 'cpu'.

    Returns:
        dict: ``fp32_ms`` / ``mixed_ms`` (median per image), ``ratio``
        (mixed / fp32, median of per-turn ratios), ``score_diff`` (largest
        difference of the top-100 scores of image 0), ``box_diff`` (largest
        coordinate difference of its top detection), ``dtype``.
    """
    if threads:
        torch.set_num_threads(threads)
    model = _random_model(config, device)
    torch.manual_seed(0)
    inputs = torch.randn(batch_size, 3, *size, device=device)
    meta = dict(img_shape=size, ori_shape=size, pad_shape=size,
                scale_factor=(1., 1.), batch_input_shape=size)
    samples = [DetDataSample(metainfo=meta) for _ in range(batch_size)]
    times = {True: [], False: []}
    preds = {}
    with torch.no_grad():
        for _ in range(iters):
            for mixed in (False, True):
                start = time.perf_counter()
                if mixed:
                    with mixed_precision(model, device):
                        out = model.predict(inputs, samples)
                else:
                    out = model.predict(inputs, samples)
                if device.startswith('cuda'):
                    torch.cuda.synchronize()
                times[mixed].append((time.perf_counter() - start) /
                                    batch_size)
                preds[mixed] = out[0].pred_instances
    ratios = [m / f for m, f in zip(times[True], times[False])]
    full, mixed = preds[False], preds[True]
    n = min(len(full), len(mixed))
    return dict(
        fp32_ms=1000 * statistics.median(times[False]),
        mixed_ms=1000 * statistics.median(times[True]),
        ratio=statistics.median(ratios),
        score_diff=float((full.scores[:n] - mixed.scores[:n]).abs().max())
        if n else 0.,
        box_diff=float((full.bboxes[0] - mixed.bboxes[0]).abs().max())
        if n else 0.,
        dtype='float16' if device.startswith('cuda') else 'bfloat16')


def format_fp16_results(results: Dict[str, float]) -> str:
    """One line of :func:`benchmark_fp16`'s figures.

    Args:
        results (dict): Its output.

    Returns:
        str: The line.
    """
    return (f"float32 {results['fp32_ms']:.0f} ms/image, "
            f"{results['dtype']} autocast {results['mixed_ms']:.0f} "
            f"ms/image, ratio {results['ratio']:.2f}; top-100 scores differ "
            f"by <= {results['score_diff']:.3g}, top box by <= "
            f"{results['box_diff']:.3g} px")
