"""``--time`` for YOLACT: ours against dbolya/yolact on the same weights.

Per batch size and thread count, each timed turn runs, interleaved, the
official model and ours on the same batch of preprocessed 550x550 images,
split into the network (backbone, FPN, prediction head, protonet; the
official ``Detect`` bypassed) and the post-processing on those outputs
(decoding, Fast NMS, mask assembly, crop, re-scoring, upsampling to
550x550 and thresholding: ``Detect`` + ``postprocess`` per image against
our heads' ``predict_by_feat`` / ``predict``). Ours runs as the official
config builds it (mmdet's ``YOLACT``, the outputs of the parity rows) and,
as a third side, ``folded``: ``FoldedYOLACT`` with the same weights (BN
folded into the convolutions, channels-last; equal to float rounding
only). Medians over the turns and the ratios to the official time are printed.
"""
import statistics
import time
from typing import Dict, List, Sequence

import torch
from torch import Tensor

from .yolact_official import OfficialYolact


class _Passthrough:
    """Stands in for the official ``Detect``: returns the predictions."""

    def __call__(self, predictions: dict, net) -> dict:
        return predictions


def _official_once(official: OfficialYolact, x: Tensor) -> tuple:
    """Network, then ``Detect`` + ``postprocess`` of each image."""
    from layers.output_utils import postprocess
    net = official.net
    h, w = x.shape[-2:]
    start = time.perf_counter()
    detect, net.detect = net.detect, _Passthrough()
    try:
        preds = net(x)
    finally:
        net.detect = detect
    mid = time.perf_counter()
    dets = net.detect(preds, net)
    for i in range(len(x)):
        postprocess(dets, w, h, batch_idx=i, crop_masks=True,
                    score_threshold=0)
    return mid - start, time.perf_counter() - mid


def _ours_once(model, x: Tensor) -> tuple:
    """Our network, then our post-processing (``run_once`` of the
    YOLACT benchmark)."""
    from mmdet.structures import DetDataSample

    from ..yolact_benchmark import run_once
    h, w = x.shape[-2:]
    samples = [
        DetDataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                    scale_factor=(1., 1.)))
        for _ in range(len(x))
    ]
    net, post, _ = run_once(model, x, samples)
    return net, post


def _folded(model):
    """``FoldedYOLACT`` with the weights of ``model`` (from
    ``init_detector``, which sets ``model.cfg``)."""
    from mmdet.registry import MODELS
    cfg = model.cfg.model.copy()
    cfg.type = 'FoldedYOLACT'
    folded = MODELS.build(cfg)
    folded.load_state_dict(model.state_dict())
    return folded.eval()


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
        dict[str, list[float]]: Seconds per turn for ``{side}/network``,
        ``{side}/post`` and ``{side}/total``, side ``official``, ``ours``
        and ``folded``.
    """
    folded = _folded(model)
    sides = dict(official=lambda: _official_once(official, x),
                 ours=lambda: _ours_once(model, x),
                 folded=lambda: _ours_once(folded, x))
    times: Dict[str, List[float]] = {
        f'{side}/{stage}': []
        for side in sides for stage in ('network', 'post', 'total')
    }
    for turn in range(warmup + iters):
        order = list(sides) if turn % 2 == 0 else list(sides)[::-1]
        for side in order:
            net, post = sides[side]()
            if turn >= warmup:
                times[f'{side}/network'].append(net)
                times[f'{side}/post'].append(post)
                times[f'{side}/total'].append(net + post)
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
        '  | threads | batch | official net | ours net | folded net | '
        'official post | ours post | official total | ours total | '
        'folded total |',
        '  | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
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
                for stage, ours in (('network', ('ours', 'folded')),
                                    ('post', ('ours', )),
                                    ('total', ('ours', 'folded'))):
                    ref = t[f'official/{stage}']
                    cells.append(f'{ref:.0f}')
                    cells += [
                        f"{t[f'{side}/{stage}']:.0f} "
                        f"({t[f'{side}/{stage}'] / ref:.2f})"
                        for side in ours
                    ]
                lines.append(f'  | {n} | {b} | ' + ' | '.join(cells) + ' |')
    finally:
        torch.set_num_threads(old)
    return '\n'.join(lines)
