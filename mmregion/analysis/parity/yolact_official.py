"""The dbolya/yolact side of the YOLACT parity runs.

Everything here calls the official code as its own ``eval.py`` does
(``set_cfg``, ``Yolact()``, ``load_weights``, ``FastBaseTransform``,
``Detect`` with Fast NMS, ``postprocess`` as ``prep_metrics`` calls it);
intermediate tensors are recorded by wrapping the official modules, not by
re-implementing their forward.
"""
import math
from typing import Dict, List

import numpy as np
import torch
from torch import Tensor, nn

#: Files identifying a dbolya/yolact clone.
MARKERS = ('yolact.py', 'data/config.py', 'layers/output_utils.py',
           'utils/augmentations.py')


class _Recorder(nn.Module):
    """Call a module and keep a copy of its output."""

    def __init__(self, module: nn.Module, store: dict, key: str) -> None:
        super().__init__()
        self.module, self.store, self.key = module, store, key

    def forward(self, *args):
        """Run the wrapped module and record (a copy of) its output."""
        out = self.module(*args)
        self.store[self.key] = [t.clone() for t in out] \
            if isinstance(out, (list, tuple)) else out.clone()
        return out


class _DetectRecorder:
    """Record the predictions handed to the official ``Detect``."""

    def __init__(self, detect, store: dict) -> None:
        self.detect, self.store = detect, store

    def __call__(self, predictions: dict, net: nn.Module):
        self.store['pred'] = {k: v.clone() for k, v in predictions.items()}
        out = self.detect(predictions, net)
        dets = out[0]['detection']
        if dets is not None:  # postprocess changes them in place
            self.store['detect_boxes'] = dets['box'].clone()
        return out


class OfficialYolact:
    """An official ``Yolact`` built from its own config, in eval mode.

    Must be created and used inside :func:`official_code` for the clone.

    Args:
        config_name (str): Official config, e.g. ``yolact_resnet50_config``.
    """

    def __init__(self, config_name: str) -> None:
        from data.config import cfg, set_cfg
        set_cfg(config_name)
        cfg.mask_proto_debug = False  # eval.py's default
        import yolact
        self.cfg = cfg
        self.net = yolact.Yolact()
        self.net.eval()
        # eval.py's defaults: Fast NMS, per class
        self.net.detect.use_fast_nms = True
        self.net.detect.use_cross_class_nms = False

    def save(self, path: str) -> None:
        """Save as the official training code does (``save_weights``)."""
        self.net.save_weights(path)

    def load(self, path: str) -> None:
        """Load as ``eval.py`` does (``load_weights``)."""
        self.net.load_weights(path)
        self.net.eval()

    def preprocess(self, img_bgr: np.ndarray) -> Tensor:
        """``evalimage``'s input: ``FastBaseTransform`` of the BGR image.

        Args:
            img_bgr (np.ndarray): (H, W, 3) uint8 as ``cv2.imread`` gives.

        Returns:
            Tensor: (1, 3, 550, 550) network input.
        """
        from utils.augmentations import FastBaseTransform
        frame = torch.from_numpy(img_bgr).float()
        with torch.no_grad():
            return FastBaseTransform()(frame.unsqueeze(0))

    @torch.no_grad()
    def run(self, x: Tensor, h: int, w: int,
            record: bool = True) -> Dict[str, object]:
        """Network, ``Detect`` and ``postprocess`` (as ``prep_metrics``).

        Args:
            x (Tensor): (1, 3, H', W') input.
            h (int): Original image height (``postprocess``'s ``h``).
            w (int): Original image width.
            record (bool): Keep the intermediate tensors.

        Returns:
            dict: ``dets`` (``boxes`` (n, 4), ``scores``, ``labels``,
            ``masks`` (n, h, w) bool, ``mask_scores`` with re-scoring;
            when recorded ``boxes_float``: the boxes before the integer
            truncation, unclipped) and,
            when recorded, ``backbone`` (4 stages), ``fpn`` (5 levels) and
            ``pred`` (``loc``, ``conf``, ``mask``, ``priors``, ``proto``).
        """
        from layers.output_utils import postprocess
        store: dict = {}
        net = self.net
        originals = (net.backbone, net.fpn, net.detect)
        if record:
            net.backbone = _Recorder(net.backbone, store, 'backbone')
            net.fpn = _Recorder(net.fpn, store, 'fpn')
            net.detect = _DetectRecorder(net.detect, store)
        try:
            preds = net(x)
        finally:
            net.backbone, net.fpn, net.detect = originals
        classes, scores, boxes, masks = postprocess(
            preds, w, h, crop_masks=True, score_threshold=0)
        dets = dict(labels=classes.long().reshape(-1),
                    boxes=boxes.float().reshape(-1, 4),
                    masks=masks.bool().reshape(-1, h, w))
        if 'detect_boxes' in store:  # before the integer truncation
            dets['boxes_float'] = store['detect_boxes'] * torch.tensor(
                [w, h, w, h], dtype=torch.float32)
        if isinstance(scores, list):
            dets['scores'], dets['mask_scores'] = scores
        else:
            dets['scores'] = scores.reshape(-1)
        store['dets'] = dets
        return store


def _fan_in_normal_(weight: Tensor, gen: torch.Generator,
                    gain: float = 2.**0.5) -> None:
    fan_in = weight[0].numel()
    weight.copy_(torch.randn(weight.shape, generator=gen) * gain /
                 math.sqrt(fan_in))


@torch.no_grad()
def randomize(official: OfficialYolact, seed: int,
              images: Tensor) -> List[str]:
    """Seeded random weights: nothing zero or identity, BN variance > 0.

    Convolutions: He-normal weights, biases N(0, 0.1); BatchNorm affine
    U(0.5, 1.5) / N(0, 0.1), running statistics calibrated on ``images``
    (so activations stay O(1)); DCN offset convs random (offsets of about a
    pixel) and DCN biases random. Then the prediction layer is scaled from
    a forward pass of each image (robustly: by the 99.9th percentile of the
    magnitudes, the features being heavy tailed): box deltas and
    coefficient pre-activations to 3, class logits to 4, with the
    background logit raised so that at least 0.2% of the anchors of every
    image have a class above the score threshold. Scores are then spread
    out, none saturated at 1 (no ties in the sorts of either side). So few
    anchors pass the threshold that the official 100 detections include
    many scoring below it (the official Fast NMS has no per-class
    threshold: a difference the run must see).

    Args:
        official (OfficialYolact): The model to fill.
        seed (int): Seed.
        images (Tensor): (N, 3, H, W) official network inputs (the images
            the parity run uses).

    Returns:
        list[str]: Notes for the report.
    """
    gen = torch.Generator().manual_seed(seed)
    net = official.net
    for name, p in net.named_parameters():
        if p.ndim > 1:
            gain = 0.1 if 'conv_offset_mask' in name else 2.**0.5
            _fan_in_normal_(p, gen, gain)
        else:
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in bns:
        bn.weight.copy_(torch.rand(bn.weight.shape, generator=gen) + 0.5)
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
        bn.train()
    net.backbone(images)
    for bn in bns:
        bn.momentum = 0.1
        bn.eval()
    notes = [f'random weights, seed {seed}; BatchNorm statistics of '
             f'{len(bns)} layers calibrated on the {len(images)} test '
             'images']
    notes.append(_scale_prediction_layer(official, images))
    return notes


def _scale_prediction_layer(official: OfficialYolact,
                            images: Tensor) -> str:
    net, cfg = official.net, official.cfg
    layer = net.prediction_layers[0]
    outs: Dict[str, List[Tensor]] = dict(bbox=[], conf=[], mask=[])
    hooks = [getattr(layer, f'{k}_layer').register_forward_hook(
        lambda m, i, o, k=k: outs[k].append(o)) for k in outs]
    try:
        h, w = images.shape[-2:]
        for image in images:
            official.run(image[None], h, w, record=False)
    finally:
        for hook in hooks:
            hook.remove()
    c = cfg.num_classes
    factors = {}
    for key, target in (('bbox', 3.), ('mask', 3.), ('conf', 4.)):
        conv = getattr(layer, f'{key}_layer')
        values = torch.cat([o.flatten() for o in outs[key]]).abs()
        factors[key] = target / float(values.quantile(0.999)) \
            if values.numel() <= 2**24 else target / float(
                values[torch.randperm(values.numel())[:2**24]]
                .quantile(0.999))
        conv.weight.mul_(factors[key])
        conv.bias.mul_(factors[key])
    levels = len(net.prediction_layers)
    bias = min(
        _background_bias(
            torch.cat([
                o.permute(0, 2, 3, 1).reshape(-1, c)
                for o in outs['conf'][i:i + levels]
            ]) * factors['conf'], 0.002, cfg.nms_conf_thresh)
        for i in range(0, len(outs['conf']), levels))
    layer.conf_layer.bias.view(-1, c)[:, 0] += bias
    return ('prediction layer scaled (99.9th percentile of |output| on the '
            'test images): deltas and coefficients 3, class logits 4, '
            f'background logit {bias:+.2f} (>= 0.2% of the anchors of '
            'each image above the score threshold)')


def _background_bias(logits: Tensor, fraction: float, thr: float) -> float:
    """Bias on the background logit (column 0) leaving ``fraction`` of the
    rows with a foreground softmax score above ``thr`` (bisection)."""
    lo, hi = -20., 40.
    for _ in range(40):
        mid = (lo + hi) / 2
        shifted = logits.clone()
        shifted[:, 0] += mid
        above = shifted.softmax(-1)[:, 1:].max(-1).values > thr
        lo, hi = (mid, hi) if above.float().mean() > fraction else (lo, mid)
    return (lo + hi) / 2

