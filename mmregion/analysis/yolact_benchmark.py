"""Per-image latency of mmregion's YOLACT against mmdet's, same weights.

Both models are built from one config (mmdet's heads swapped in for the
reference) and share one random state dict. Each timed iteration runs a batch
through

* the network: backbone, neck, box-head convs and the protonet convs;
* the post-processing: score / top-k / decode / NMS, mask assembly, crop,
  (re-scoring), upsampling to the original image size and thresholding.

The protonet output of the network stage is handed to the post-processing
stage through :class:`_FrozenOutput`, so neither stage runs twice.
"""
import copy
import logging
import statistics
import time
from contextlib import contextmanager
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import Config, ConfigDict
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from torch import Tensor, nn


class _FrozenOutput(nn.Module):
    """A module that returns a stored tensor (the protonet's output)."""

    def __init__(self, output: Tensor) -> None:
        super().__init__()
        self.output = output

    def forward(self, x: Tensor) -> Tensor:
        """Return the stored output.

        Args:
            x (Tensor): Ignored.

        Returns:
            Tensor: The stored output.
        """
        return self.output


def reference_config(model_cfg: ConfigDict) -> ConfigDict:
    """The same model with mmdet's ``YOLACTHead`` and ``YOLACTProtonet``.

    Args:
        model_cfg (ConfigDict): An mmregion YOLACT model config.

    Returns:
        ConfigDict: The mmdet model config.
    """
    ref = copy.deepcopy(model_cfg)
    ref.bbox_head.type = 'YOLACTHead'
    ref.bbox_head.pop('nms_type', None)
    ref.mask_head.type = 'YOLACTProtonet'
    if ref.mask_head.pop('mask_iou_head', None) is not None:
        raise ValueError('mmdet has no YOLACT++ re-scoring; benchmark a '
                         'YOLACT (not YOLACT++) config')
    ref.mask_head.pop('discard_mask_area', None)
    return ref


def build_models(config: str,
                 seed: int = 0,
                 cls_logit_scale: float = 0.5,
                 bg_logit_bias: float = 9.0) -> Dict[str, nn.Module]:
    """Build mmregion's and mmdet's YOLACT with identical random weights.

    A random model is unlike a trained one where post-processing time is
    concerned: with default BatchNorm statistics every score saturates at
    1.0, and with calibrated statistics every anchor still has some class
    above the 0.05 threshold. So the BatchNorm statistics are set from a few
    random images, the class logits are scaled by ``cls_logit_scale`` and
    the background logit raised by ``bg_logit_bias``; the defaults leave a
    few hundred (anchor, class) candidates above the threshold per image, in
    a few dozen classes, as a trained detector does.
    ``cls_logit_scale=1, bg_logit_bias=0`` is the dense worst case.

    Args:
        config (str): mmregion YOLACT config path.
        seed (int): Weight seed.
        cls_logit_scale (float): Factor on the class conv.
        bg_logit_bias (float): Added to the background logit of each anchor.

    Returns:
        dict[str, nn.Module]: ``{'mmdet': ..., 'mmregion': ...}`` in eval
        mode.
    """
    cfg = Config.fromfile(config)
    model_cfg = cfg.model
    model_cfg.backbone.init_cfg = None
    torch.manual_seed(seed)
    ours = MODELS.build(model_cfg)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        ours.init_weights()
    finally:
        logger.setLevel(level)
    size = cfg.get('input_size', 550)
    for m in ours.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average over the calibration
    ours.train()
    head = ours.bbox_head
    with torch.no_grad():
        for _ in range(2):
            ours.extract_feat(torch.randn(2, 3, size, size))
        head.conv_cls.weight.mul_(cls_logit_scale)
        head.conv_cls.bias.mul_(cls_logit_scale)
        if not head.use_sigmoid_cls:
            head.conv_cls.bias.view(-1, head.cls_out_channels)[:, -1] += \
                bg_logit_bias
    ref = MODELS.build(reference_config(model_cfg))
    ref.load_state_dict(ours.state_dict())
    return {'mmdet': ref.eval(), 'mmregion': ours.eval()}


def make_batch(batch_size: int,
               input_size: int = 550,
               ori_shape: Sequence[int] = (480, 640),
               seed: int = 0,
               device: str = 'cpu') -> tuple:
    """A batch of random images resized from ``ori_shape``.

    Args:
        batch_size (int): Images per batch.
        input_size (int): Square network input size.
        ori_shape (Sequence[int]): (H, W) of the original images.
        seed (int): Pixel seed.
        device (str): Device of the inputs.

    Returns:
        tuple[Tensor, list[DetDataSample]]: (B, 3, S, S) inputs and samples.
    """
    g = torch.Generator().manual_seed(seed)
    inputs = torch.randn(
        batch_size, 3, input_size, input_size, generator=g).to(device)
    h, w = ori_shape
    meta = dict(
        img_shape=(input_size, input_size),
        ori_shape=(h, w),
        pad_shape=(input_size, input_size),
        batch_input_shape=(input_size, input_size),
        scale_factor=(input_size / w, input_size / h))
    return inputs, [DetDataSample(metainfo=meta) for _ in range(batch_size)]


@contextmanager
def _frozen_protonet(mask_head: nn.Module, output: Tensor) -> Iterator:
    """Temporarily replace the protonet by its precomputed output."""
    protonet = mask_head.protonet
    mask_head.protonet = _FrozenOutput(output)
    try:
        yield
    finally:
        mask_head.protonet = protonet


@torch.no_grad()
def run_once(model: nn.Module, inputs: Tensor,
             samples: List[DetDataSample]) -> tuple:
    """One timed batch, split into network and post-processing.

    Args:
        model (nn.Module): A YOLACT detector in eval mode.
        inputs (Tensor): (B, 3, H, W) normalised images.
        samples (list[DetDataSample]): Their metas.

    Returns:
        tuple[float, float, list]: Network seconds, post-processing seconds,
        and the per-image ``InstanceData`` results.
    """
    metas = [s.metainfo for s in samples]
    sync = torch.cuda.synchronize if inputs.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    feats = model.extract_feat(inputs)
    head_outs = model.bbox_head(feats)
    protos = model.mask_head.protonet(feats[0])
    sync()
    mid = time.perf_counter()
    results = model.bbox_head.predict_by_feat(
        *head_outs, batch_img_metas=metas, rescale=False)
    with _frozen_protonet(model.mask_head, protos):
        results = model.mask_head.predict(
            feats, samples, rescale=True, results_list=results)
    sync()
    end = time.perf_counter()
    return mid - start, end - mid, results


def _spread(values: List[float]) -> Dict[str, float]:
    """Median and interquartile range (seconds)."""
    values = sorted(values)
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return dict(median=statistics.median(values), iqr=q[2] - q[0])


def _pair(x: InstanceData, y: InstanceData) -> Optional[Tensor]:
    """For each detection of ``x``, its counterpart in ``y``: the same
    position when the labels agree in order, else the same label with the
    largest box overlap (a variant that changes the floats may swap two
    nearly tied scores, and with them the order of the detections).

    Args:
        x (InstanceData): Results of one image.
        y (InstanceData): Results of the same image from another model.

    Returns:
        Tensor | None: (n,) indices into ``y``, or None when the counts or
        the labels (as multisets) differ, or two detections of ``x`` pair
        with the same one of ``y``.
    """
    if len(x) != len(y) or not torch.equal(
            x.labels.sort().values, y.labels.sort().values):
        return None
    if torch.equal(x.labels, y.labels):
        return torch.arange(len(x), device=x.labels.device)
    same_label = x.labels[:, None] == y.labels[None]
    overlaps = bbox_overlaps(x.bboxes, y.bboxes).masked_fill(~same_label, -1)
    match = overlaps.argmax(1) if len(x) else x.labels.new_zeros(0)
    return match if len(match.unique()) == len(match) else None


def mask_mismatch(a: list, b: list) -> float:
    """Fraction of mask pixels that differ between paired detections.

    Args:
        a (list[InstanceData]): Results of one model.
        b (list[InstanceData]): Results of the other.

    Returns:
        float: 0 when identical; 1 when detections cannot be paired (see
        :func:`_pair`).
    """
    diff, total = 0, 0
    for x, y in zip(a, b):
        match = _pair(x, y)
        if match is None:
            return 1.0
        diff += int((x.masks != y.masks[match]).sum())
        total += x.masks.numel()
    return diff / max(total, 1)


def benchmark(models: Dict[str, nn.Module],
              batch_size: int,
              iters: int = 5,
              warmup: int = 1,
              input_size: int = 550,
              prepare: Optional[Dict[str, Callable[[Tensor], Tensor]]] = None,
              device: str = 'cpu') -> Dict[str, Dict]:
    """Time each model on the same batches.

    Args:
        models (dict[str, nn.Module]): Named detectors; the first is the
            reference of ``mask_mismatch``.
        batch_size (int): Images per batch.
        iters (int): Timed batches.
        warmup (int): Untimed batches first.
        input_size (int): Network input size.
        prepare (dict[str, callable], optional): Per model name, a function
            applied to the inputs (e.g. to channels_last).
        device (str): Device of the inputs (the models must be there).

    Returns:
        dict: Per model, per-image ``net``/``post``/``total`` statistics
        (median and IQR, seconds), ``detections`` per image,
        ``mask_mismatch`` against the first model, and ``post_ratio`` /
        ``total_ratio``: the median over batches of this model's time over
        the first model's time on the same turn (robust to machine load
        that drifts between turns); or ``error`` (a string) for a model that
        failed to run.
    """
    inputs, samples = make_batch(batch_size, input_size, device=device)
    prepare = prepare or {}
    times = {name: ([], []) for name in models}
    results, errors = {}, {}
    # Models take turns batch by batch, so that a change in machine load
    # affects all of them alike.
    for i in range(warmup + iters):
        for name, model in models.items():
            if name in errors:
                continue
            x = prepare[name](inputs) if name in prepare else inputs
            try:
                n, p, results[name] = run_once(model, x,
                                               copy.deepcopy(samples))
            except Exception as err:  # e.g. torch.compile without a compiler
                errors[name] = f'{type(err).__name__}: ' \
                    f'{str(err).splitlines()[0] if str(err) else ""}'
                continue
            if i >= warmup:
                times[name][0].append(n / batch_size)
                times[name][1].append(p / batch_size)
    first = next(iter(models))
    stats = {}
    for name, (net, post) in times.items():
        if name in errors:
            stats[name] = dict(error=errors[name])
            continue
        stats[name] = dict(
            net=_spread(net),
            post=_spread(post),
            total=_spread([a + b for a, b in zip(net, post)]),
            detections=sum(len(r) for r in results[name]) / batch_size,
            mask_mismatch=mask_mismatch(results[first], results[name])
            if first in results else 1.0)
        if first not in errors:
            # paired: this model against the first on the same turn
            ref_net, ref_post = times[first]
            stats[name]['post_ratio'] = statistics.median(
                p / q for p, q in zip(post, ref_post))
            stats[name]['total_ratio'] = statistics.median(
                (a + b) / (c + d)
                for a, b, c, d in zip(net, post, ref_net, ref_post))
    return stats
