"""``--time`` for YOLACT: ours against dbolya/yolact on the same weights.

Per batch size and thread count, each timed turn runs, interleaved, the
official model and ours on the same batch of preprocessed 550x550 images:
the network alone (the official ``Detect`` bypassed; our backbone, neck and
head convolutions) and the whole inference (network, decoding, Fast NMS,
mask assembly, crop, re-scoring, upsampling to 550x550 and thresholding:
``Yolact()`` + ``postprocess`` per image against our ``predict``). Ours
runs as the config builds it and, as a third side, with mmcv's
``fuse_conv_bn`` (BatchNorm folded into the convolutions at inference).
Medians over the turns and the ratios to the official time are printed.
"""
import copy
import statistics
import time
from typing import Callable, Dict, List, Sequence

import torch
from torch import Tensor

from .yolact_official import OfficialYolact


class _Passthrough:
    """Stands in for the official ``Detect``: returns the predictions."""

    def __call__(self, predictions: dict, net) -> dict:
        return predictions


def _official_fns(official: OfficialYolact, x: Tensor) -> Dict[str, Callable]:
    from layers.output_utils import postprocess
    net = official.net
    h, w = x.shape[-2:]

    def network():
        detect, net.detect = net.detect, _Passthrough()
        try:
            net(x)
        finally:
            net.detect = detect

    def total():
        dets = net(x)
        for i in range(len(x)):
            postprocess(dets, w, h, batch_idx=i, crop_masks=True,
                        score_threshold=0)

    return dict(network=network, total=total)


def _our_fns(model, x: Tensor) -> Dict[str, Callable]:
    from mmdet.structures import DetDataSample
    h, w = x.shape[-2:]
    samples = [
        DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                    scale_factor=(1., 1.)))
        for _ in range(len(x))
    ]

    def network():
        feats = model.neck(model.backbone(x))
        model.bbox_head(feats)
        model.mask_head.protonet(feats[0])

    return dict(network=network,
                total=lambda: model.predict(x, samples, rescale=True))


@torch.no_grad()
def time_pair(official: OfficialYolact, model, x: Tensor, iters: int = 5,
              warmup: int = 1) -> Dict[str, List[float]]:
    """Interleaved timings of both sides on one batch.

    Args:
        official (OfficialYolact): The official model.
        model: Our detector.
        x (Tensor): (B, 3, 550, 550) official-preprocessed batch.
        iters (int): Timed turns.
        warmup (int): Untimed turns first.

    Returns:
        dict[str, list[float]]: Seconds per turn for ``{side}/network`` and
        ``{side}/total``, side ``official``, ``ours`` and ``fused``.
    """
    from mmcv.cnn import fuse_conv_bn
    fns = {f'official/{k}': f for k, f in _official_fns(official, x).items()}
    fns.update({f'ours/{k}': f for k, f in _our_fns(model, x).items()})
    fused = fuse_conv_bn(copy.deepcopy(model))
    fns.update({f'fused/{k}': f for k, f in _our_fns(fused, x).items()})
    times: Dict[str, List[float]] = {k: [] for k in fns}
    for turn in range(warmup + iters):
        keys = list(fns) if turn % 2 == 0 else list(fns)[::-1]
        for key in keys:
            start = time.perf_counter()
            fns[key]()
            if turn >= warmup:
                times[key].append(time.perf_counter() - start)
    return times


def time_yolact(official: OfficialYolact, model, images: Tensor,
                batch_sizes: Sequence[int] = (1, 8),
                threads: Sequence[int] = (1, 2), iters: int = 5) -> str:
    """The timing table of ``--time``.

    Args:
        official (OfficialYolact): The official model.
        model: Our detector (same weights).
        images (Tensor): (N, 3, 550, 550) official-preprocessed images; a
            batch of B repeats them.
        batch_sizes (Sequence[int]): Batch sizes.
        threads (Sequence[int]): ``torch.set_num_threads`` values.
        iters (int): Timed turns (medians over them).

    Returns:
        str: The table (ms per image, medians) with the ratios to the
        official time.
    """
    old = torch.get_num_threads()
    lines = [
        '  timing: ms per image, median of '
        f'{iters} interleaved turns (1 untimed first), 550x550 inputs; '
        '(x) = / official',
        '  | threads | batch | official net | ours net | fused net | '
        'official total | ours total | fused total |',
        '  | --- | --- | --- | --- | --- | --- | --- | --- |'
    ]
    try:
        for n in threads:
            torch.set_num_threads(n)
            for b in batch_sizes:
                x = images[torch.arange(b) % len(images)].contiguous()
                t = {k: statistics.median(v) * 1e3 / b
                     for k, v in time_pair(official, model, x,
                                           iters).items()}
                cells = []
                for stage in ('network', 'total'):
                    ref = t[f'official/{stage}']
                    cells.append(f'{ref:.0f}')
                    cells += [
                        f"{t[f'{side}/{stage}']:.0f} "
                        f"({t[f'{side}/{stage}'] / ref:.2f})"
                        for side in ('ours', 'fused')
                    ]
                lines.append(f'  | {n} | {b} | ' + ' | '.join(cells) + ' |')
    finally:
        torch.set_num_threads(old)
    return '\n'.join(lines)
