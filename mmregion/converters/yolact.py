"""Official YOLACT / YOLACT++ checkpoints (dbolya/yolact) ⇄ mmregion.

An official checkpoint (``yolact_base_54_800000.pth``,
``yolact_resnet50_54_800000.pth``, ``yolact_plus_base_54_800000.pth``,
``yolact_plus_resnet50_54_800000.pth``; ``yolact_im700`` has the layout of
``yolact_base``) is the plain state dict of the official ``Yolact`` module.
Key by key, with ``{i}`` a ResNet stage (0-3), ``{j}`` a block, ``L`` = 3
FPN input levels, ``P`` = ``prediction_layers.0`` (shared by all levels) and
``I`` = ``mask_head.mask_iou_head``:

=======================================  ====================================
official key                             mmregion key
=======================================  ====================================
``backbone.conv1``, ``backbone.bn1``     the same
``backbone.layers.{i}.{j}.{m}``, ``m``:  ``backbone.layer{i+1}.{j}.{m}``
conv1-3, bn1-3, downsample.{0,1}
``...{j}.conv2.conv_offset_mask`` (DCN)  ``...{j}.conv2.conv_offset``
``...{j}.conv2.bias`` (DCN)              folded into ``...{j}.bn2`` (below)
``fpn.lat_layers.{k}``                   ``neck.lateral_convs.{L-1-k}.conv``
``fpn.pred_layers.{k}``                  ``neck.fpn_convs.{L-1-k}.conv``
``fpn.downsample_layers.{k}`` (P6, P7)   ``neck.fpn_convs.{L+k}.conv``
``P.upfeature.{2n}``                     ``bbox_head.head_convs.{n}.conv``
``P.bbox_layer``                         ``bbox_head.conv_reg`` (anchors)
``P.conf_layer``                         ``bbox_head.conv_cls`` (anchors,
                                         classes)
``P.mask_layer``                         ``bbox_head.conv_coeff`` (anchors)
``proto_net.{n}``, n = 0, 2, 4, 8, 10    ``mask_head.protonet.{n}``
``semantic_seg_conv``                    ``mask_head.segm_branch.segm_conv``
``maskiou_net.maskiou_net.{2n}``         ``I.convs.{n}``; the last (the 1x1
                                         conv to the classes):
                                         ``I.fc_mask_iou``
=======================================  ====================================

* **FPN order.** The official FPN stores its lateral and output convs in
  reversed level order (index 0 is C5 / P5); mmdet's FPN lists them from the
  finest level up.
* **DCN.** The official DCNv2 (``external/DCNv2``) computes its offsets and
  masks with ``conv_offset_mask`` and splits the output ``(o1, o2, mask)``
  exactly as mmcv's ``ModulatedDeformConv2dPack`` (``conv_offset``) does,
  with the same per-position (dy, dx) layout, so the tensors copy unchanged.
  It also has a bias, which mmdet's bottleneck (``bias=False``) has not; the
  bias is followed by ``bn2``, so it is folded into that BatchNorm's running
  mean (``running_mean - bias``): exact in inference, and in training the
  batch mean absorbs a constant bias anyway. The inverse writes a zero bias.
* **Classes.** The official softmax puts background first (channel 0 of each
  anchor's block of ``C + 1``), mmdet last: the channels of each block are
  rotated.
* **Anchors.** Per location, the official model lists its anchors
  scale-major (``for scale in scales: for ar in [1, 1/2, 2]``, ``ar = w / h``),
  mmdet's ``AnchorGenerator`` ratio-major with ``ratio = h / w``: the
  per-anchor channel blocks of the three output convs move to the mmdet
  anchor with the same width and height (:func:`anchor_permutation`).
  YOLACT (v1) has ``use_square_anchors=True`` (a kept bug: ``h = w``, so its
  three anchors are squares of sides 24/√2, 24 and 24·√2 on P3); the
  ``configs/yolact/official`` configs reproduce that with ratio 1 and three
  scales (:func:`mmregion_anchor_generator`).

BatchNorm ``num_batches_tracked`` counters, when a checkpoint lacks them, are
added as zeros.
"""
import math
import os.path as osp
import re
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Set, Tuple

import torch
from torch import Tensor

from ..fileio import atomic_save, load_checkpoint_file

StateDict = Dict[str, Tensor]

OFFICIAL_ASPECT_RATIOS = (1.0, 0.5, 2.0)
"""Official anchor aspect ratios (``w / h``), in the order of the official
``pred_aspect_ratios``."""
MMDET_RATIOS = (0.5, 1.0, 2.0)
"""Anchor ratios (``h / w``) of mmdet's and mmregion's YOLACT configs."""
OCTAVE_BASE_SCALE = 3
"""mmdet's YOLACT anchors: ``octave_base_scale`` 3 x base size 8 = 24 px on
P3, as the official ``pred_scales`` [24, 48, 96, 192, 384]."""
RESNET_DEPTHS = {(3, 4, 6, 3): 50, (3, 4, 23, 3): 101}
"""Bottlenecks per stage → ResNet depth."""
PROTONET_CONVS = (0, 2, 4, 8, 10)
"""Conv indices of the protonet (6 is the bilinear upsample, odd ones are
ReLUs), the same in both."""
NUM_FPN_DOWNSAMPLES = 2
"""Official ``fpn.num_downsample`` (P6, P7) of every YOLACT config."""

_BN = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
_BN_STATS = ('weight', 'bias', 'running_mean', 'running_var')
_CONV = r'(?:weight|bias)'
_OFFICIAL_BLOCK = re.compile(
    r'^backbone\.layers\.(?P<stage>\d)\.(?P<block>\d+)\.(?P<rest>'
    rf'conv[123]\.weight|bn[123]\.{_BN}|downsample\.0\.weight'
    rf'|downsample\.1\.{_BN}|conv2\.bias|conv2\.conv_offset_mask\.{_CONV})$')
_MM_BLOCK = re.compile(
    r'^backbone\.layer(?P<stage>[1-4])\.(?P<block>\d+)\.(?P<rest>'
    rf'conv[123]\.weight|bn[123]\.{_BN}|downsample\.0\.weight'
    rf'|downsample\.1\.{_BN}|conv2\.conv_offset\.{_CONV})$')
_STEM = re.compile(rf'^backbone\.(?:conv1\.weight|bn1\.{_BN})$')
_OFFICIAL_FPN = re.compile(
    r'^fpn\.(?P<kind>lat_layers|pred_layers|downsample_layers)\.(?P<index>\d+)'
    rf'\.(?P<param>{_CONV})$')
_MM_FPN = re.compile(r'^neck\.(?P<kind>lateral_convs|fpn_convs)\.'
                     rf'(?P<index>\d+)\.conv\.(?P<param>{_CONV})$')
_HEAD = 'prediction_layers.0.'
_OFFICIAL_UPFEATURE = re.compile(
    rf'^prediction_layers\.0\.upfeature\.(?P<index>\d+)\.(?P<param>{_CONV})$')
_MM_HEAD_CONV = re.compile(
    rf'^bbox_head\.head_convs\.(?P<index>\d+)\.conv\.(?P<param>{_CONV})$')
# official output conv → mmregion output conv (channels: anchors x ...)
_OUTPUTS = {
    'bbox_layer': 'conv_reg',
    'conf_layer': 'conv_cls',
    'mask_layer': 'conv_coeff',
}
_OFFICIAL_PROTO = re.compile(
    rf'^proto_net\.(?P<index>\d+)\.(?P<param>{_CONV})$')
_MM_PROTO = re.compile(
    rf'^mask_head\.protonet\.(?P<index>\d+)\.(?P<param>{_CONV})$')
_SEGM = ('semantic_seg_conv.', 'mask_head.segm_branch.segm_conv.')
_OFFICIAL_MASKIOU = re.compile(
    rf'^maskiou_net\.maskiou_net\.(?P<index>\d+)\.(?P<param>{_CONV})$')
_MM_MASKIOU = re.compile(r'^mask_head\.mask_iou_head\.(?:convs\.(?P<index>\d+)'
                         rf'|(?P<last>fc_mask_iou))\.(?P<param>{_CONV})$')
_NAMED = 5

OFFICIAL_CONFIGS = {
    (101, False): 'configs/yolact/official/yolact_base.py',
    (50, False): 'configs/yolact/official/yolact_resnet50.py',
    (101, True): 'configs/yolact/official/yolact_plus_base.py',
    (50, True): 'configs/yolact/official/yolact_plus_resnet50.py',
}
"""(ResNet depth, YOLACT++) → the mmregion config that the converted weights
reproduce the official model with."""


@dataclass
class YOLACTLayout:
    """What an official YOLACT state dict holds.

    Args:
        blocks (tuple[int]): Bottlenecks per ResNet stage.
        dcn_blocks (dict[int, list[int]]): Stage → indices of its blocks with
            a deformable conv2.
        num_levels (int): FPN input levels (C3-C5: 3).
        num_anchors (int): Anchors per location.
        num_classes (int): Foreground classes.
        num_protos (int): Prototypes (mask coefficients per anchor).
        head_convs (int): Shared convs before the output convs (official
            ``extra_head_net``: one).
        maskiou_convs (int): Convs of the re-scoring net (the last is the
            1x1 class conv); 0 without re-scoring.
    """
    blocks: Tuple[int, ...]
    dcn_blocks: Dict[int, List[int]]
    num_levels: int
    num_anchors: int
    num_classes: int
    num_protos: int
    head_convs: int
    maskiou_convs: int

    @property
    def depth(self) -> int:
        """ResNet depth (50 or 101)."""
        if self.blocks not in RESNET_DEPTHS:
            known = ', '.join(f'ResNet-{d} {b}'
                              for b, d in RESNET_DEPTHS.items())
            raise ValueError(f'the backbone has {self.blocks} bottlenecks per '
                             f'stage; known layouts: {known}')
        return RESNET_DEPTHS[self.blocks]

    @property
    def num_scales(self) -> int:
        """Anchor scales per level (1: YOLACT, 3: YOLACT++)."""
        return self.num_anchors // len(OFFICIAL_ASPECT_RATIOS)

    @property
    def dcn_interval(self) -> Optional[int]:
        """The interval n such that exactly blocks 0, n, 2n... of every DCN
        stage have DCN (None without DCN, 0 if no interval fits)."""
        if not self.dcn_blocks:
            return None
        for n in range(1, max(self.blocks) + 1):
            if all(blocks == list(range(0, self.blocks[s], n))
                   for s, blocks in self.dcn_blocks.items()):
                return n
        return 0

    @property
    def config(self) -> str:
        """The ``configs/yolact/official`` config of this layout."""
        return OFFICIAL_CONFIGS[(self.depth, bool(self.dcn_blocks))]


def official_anchor_shapes(num_scales: int,
                           square: bool) -> List[Tuple[float, float]]:
    """(w, h) of the official anchors of one location, in channel order.

    The official ``make_priors`` loops ``for scale in scales: for ar in
    [1, 1/2, 2]`` with ``w = scale * sqrt(ar)``, ``h = scale / sqrt(ar)``
    (``use_pixel_scales``, no ``preapply_sqrt``), and ``h = w`` with
    ``use_square_anchors``. Scales are ``2 ** (j / num_scales)``
    (YOLACT++: 24, 24·2^(1/3), 24·2^(2/3) on P3).

    Args:
        num_scales (int): Scales per level (1: YOLACT, 3: YOLACT++).
        square (bool): ``use_square_anchors``.

    Returns:
        list[tuple[float, float]]: ``num_scales * 3`` (w, h), in units of the
        level's base size (24 px on P3).
    """
    shapes = []
    for j in range(num_scales):
        scale = 2**(j / num_scales)
        for ratio in OFFICIAL_ASPECT_RATIOS:
            w = scale * math.sqrt(ratio)
            shapes.append((w, w if square else scale / math.sqrt(ratio)))
    return shapes


def mmregion_anchor_generator(num_scales: int, square: bool) -> dict:
    """The ``anchor_generator`` keys of the ``configs/yolact/official``
    config with this anchor layout (merged into mmdet's YOLACT generator).

    Args:
        num_scales (int): Scales per level.
        square (bool): Square anchors (YOLACT v1): ratio 1 with one scale per
            official anchor, smallest first.

    Returns:
        dict: ``octave_base_scale`` / ``scales_per_octave`` / ``scales`` /
        ``ratios``.
    """
    if not square:
        return dict(
            octave_base_scale=OCTAVE_BASE_SCALE,
            scales_per_octave=num_scales,
            ratios=list(MMDET_RATIOS))
    sides = sorted(w for w, _ in official_anchor_shapes(num_scales, True))
    return dict(
        octave_base_scale=None,
        scales_per_octave=None,
        scales=[OCTAVE_BASE_SCALE * s for s in sides],
        ratios=[1.0])


def mmdet_anchor_shapes(anchor_generator: dict) -> List[Tuple[float, float]]:
    """(w, h) of mmdet's anchors of one location on P3, in channel order.

    Args:
        anchor_generator (dict): ``scales`` or ``octave_base_scale`` +
            ``scales_per_octave``, and ``ratios``, of an mmdet
            ``AnchorGenerator`` with base size 8 on P3.

    Returns:
        list[tuple[float, float]]: (w, h) in units of 24 px.
    """
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    keys = ('scales', 'octave_base_scale', 'scales_per_octave', 'ratios')
    generator = AnchorGenerator(
        strides=[8], **{k: anchor_generator.get(k)
                        for k in keys if anchor_generator.get(k) is not None})
    anchors = generator.base_anchors[0] / (OCTAVE_BASE_SCALE * 8)
    return [(float(x2 - x1), float(y2 - y1)) for x1, y1, x2, y2 in anchors]


def anchor_permutation(num_scales: int,
                       square: bool,
                       anchor_generator: Optional[dict] = None) -> List[int]:
    """Where each official anchor of a location sits in mmdet's order.

    Args:
        num_scales (int): Scales per level.
        square (bool): The official ``use_square_anchors``.
        anchor_generator (dict, optional): The target model's anchor
            generator keys; defaults to
            ``mmregion_anchor_generator(num_scales, square)``.

    Returns:
        list[int]: ``perm``: official anchor ``d`` is mmdet anchor
        ``perm[d]`` (same width and height).

    Raises:
        ValueError: If an official anchor has no mmdet anchor of the same
            shape.
    """
    if anchor_generator is None:
        anchor_generator = mmregion_anchor_generator(num_scales, square)
    official = official_anchor_shapes(num_scales, square)
    mmdet = mmdet_anchor_shapes(anchor_generator)
    perm = []
    for w, h in official:
        same = [
            m for m, (mw, mh) in enumerate(mmdet)
            if math.isclose(w, mw, rel_tol=1e-4)
            and math.isclose(h, mh, rel_tol=1e-4)
        ]
        if len(same) != 1 or len(official) != len(mmdet):
            raise ValueError(
                f'official anchor (w, h) = ({w:.4f}, {h:.4f}) x 24 px has '
                f'{len(same)} counterparts among the {len(mmdet)} anchors of '
                f'{anchor_generator} (square anchors: {square})')
        perm.append(same[0])
    return perm


def _to_mmdet_anchor_order(tensor: Tensor, perm: List[int]) -> Tensor:
    """Move dim 0 (anchors x per-anchor channels) from official order."""
    blocks = tensor.reshape(len(perm), -1, *tensor.shape[1:])
    out = torch.empty_like(blocks)
    out[perm] = blocks
    return out.reshape(tensor.shape)


def _to_official_anchor_order(tensor: Tensor, perm: List[int]) -> Tensor:
    """Move dim 0 (anchors x per-anchor channels) from mmdet's order."""
    blocks = tensor.reshape(len(perm), -1, *tensor.shape[1:])
    return blocks[perm].reshape(tensor.shape)


def _background_last(tensor: Tensor, num_anchors: int) -> Tensor:
    """Rotate each anchor's ``C + 1`` class channels: background 0 → C."""
    blocks = tensor.reshape(num_anchors, -1, *tensor.shape[1:])
    return torch.cat([blocks[:, 1:], blocks[:, :1]], 1).reshape(tensor.shape)


def _background_first(tensor: Tensor, num_anchors: int) -> Tensor:
    """Rotate each anchor's ``C + 1`` class channels: background C → 0."""
    blocks = tensor.reshape(num_anchors, -1, *tensor.shape[1:])
    return torch.cat([blocks[:, -1:], blocks[:, :-1]],
                     1).reshape(tensor.shape)


def _strip(ckpt: Mapping) -> Mapping:
    """The state dict inside a checkpoint (official files are bare)."""
    for wrapper in ('state_dict', 'model'):
        if isinstance(ckpt.get(wrapper), Mapping):
            return ckpt[wrapper]
    return ckpt


def inspect_official(state_dict: Mapping[str, Tensor]) -> YOLACTLayout:
    """Read the model layout off an official state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Official ``Yolact`` weights.

    Returns:
        YOLACTLayout: Backbone blocks and DCN blocks, FPN levels, anchors,
        classes, prototypes, head convs and re-scoring convs.

    Raises:
        ValueError: If the prediction head is missing or its output
            channels do not split into anchors.
    """
    for name in _OUTPUTS:
        if f'{_HEAD}{name}.weight' not in state_dict:
            raise ValueError(
                f'{_HEAD}{name}.weight is missing: not an official YOLACT '
                f'state dict (it has {len(state_dict)} keys, e.g. '
                f'{", ".join(list(state_dict)[:_NAMED])})')
    blocks: Dict[int, Set[int]] = {}
    dcn: Dict[int, Set[int]] = {}
    for key in state_dict:
        match = _OFFICIAL_BLOCK.match(key)
        if match:
            stage, block = int(match['stage']), int(match['block'])
            blocks.setdefault(stage, set()).add(block)
            if 'conv_offset_mask' in match['rest']:
                dcn.setdefault(stage, set()).add(block)
    num_blocks = tuple(
        max(blocks.get(s, {-1})) + 1
        for s in range(max(blocks, default=-1) + 1))
    num_anchors, rem = divmod(
        state_dict[f'{_HEAD}bbox_layer.weight'].shape[0], 4)
    if rem or num_anchors % len(OFFICIAL_ASPECT_RATIOS):
        raise ValueError(
            f'{_HEAD}bbox_layer has {num_anchors * 4 + rem} output channels: '
            f'not 4 per anchor with {len(OFFICIAL_ASPECT_RATIOS)} aspect '
            f'ratios per scale')
    conf = state_dict[f'{_HEAD}conf_layer.weight'].shape[0]
    coeff = state_dict[f'{_HEAD}mask_layer.weight'].shape[0]
    if conf % num_anchors or coeff % num_anchors:
        raise ValueError(
            f'{_HEAD}conf_layer / mask_layer have {conf} / {coeff} output '
            f'channels: not a multiple of the {num_anchors} anchors of '
            f'bbox_layer')
    def last_index(pattern: re.Pattern, kinds=None) -> int:
        indices = [
            int(m['index']) for m in map(pattern.match, state_dict)
            if m and (kinds is None or m['kind'] in kinds)
        ]
        return max(indices, default=-1)

    # counted up to the highest index seen, so that a gap is a missing key
    levels = last_index(_OFFICIAL_FPN, ('lat_layers', 'pred_layers')) + 1
    head_convs = max(last_index(_OFFICIAL_UPFEATURE), 0) // 2 + 1
    maskiou_convs = (last_index(_OFFICIAL_MASKIOU) + 2) // 2
    return YOLACTLayout(
        blocks=num_blocks,
        dcn_blocks={s: sorted(b)
                    for s, b in sorted(dcn.items())},
        num_levels=levels,
        num_anchors=num_anchors,
        num_classes=conf // num_anchors - 1,
        num_protos=coeff // num_anchors,
        head_convs=head_convs,
        maskiou_convs=maskiou_convs)


def expected_official_keys(layout: YOLACTLayout) -> Set[str]:
    """The keys an official state dict of this layout must have.

    ``num_batches_tracked`` counters are optional (old checkpoints lack
    them) and not listed.

    Args:
        layout (YOLACTLayout): The layout.

    Returns:
        set[str]: Official keys.
    """
    keys = {'backbone.conv1.weight'}
    keys |= {f'backbone.bn1.{s}' for s in _BN_STATS}
    for stage, num in enumerate(layout.blocks):
        for block in range(num):
            prefix = f'backbone.layers.{stage}.{block}.'
            keys |= {f'{prefix}conv{i}.weight' for i in (1, 2, 3)}
            keys |= {f'{prefix}bn{i}.{s}' for i in (1, 2, 3) for s in _BN_STATS}
            if block == 0:
                keys.add(f'{prefix}downsample.0.weight')
                keys |= {f'{prefix}downsample.1.{s}' for s in _BN_STATS}
            if block in layout.dcn_blocks.get(stage, ()):
                keys.add(f'{prefix}conv2.bias')
                keys |= {f'{prefix}conv2.conv_offset_mask.{p}'
                         for p in ('weight', 'bias')}
    convs = [f'fpn.lat_layers.{k}' for k in range(layout.num_levels)]
    convs += [f'fpn.pred_layers.{k}' for k in range(layout.num_levels)]
    convs += [f'fpn.downsample_layers.{k}' for k in range(NUM_FPN_DOWNSAMPLES)]
    convs += [f'{_HEAD}upfeature.{2 * n}' for n in range(layout.head_convs)]
    convs += [f'{_HEAD}{name}' for name in _OUTPUTS]
    convs += [f'proto_net.{i}' for i in PROTONET_CONVS]
    convs.append('semantic_seg_conv')
    convs += [
        f'maskiou_net.maskiou_net.{2 * n}' for n in range(layout.maskiou_convs)
    ]
    keys |= {f'{conv}.{p}' for conv in convs for p in ('weight', 'bias')}
    return keys


def _mmregion_key(key: str, num_levels: int,
                  maskiou_convs: int) -> Optional[str]:
    """Official name → mmregion name (None: not a YOLACT weight; DCN
    ``conv2.bias`` is folded by the caller)."""
    if _STEM.match(key):
        return key
    match = _OFFICIAL_BLOCK.match(key)
    if match:
        rest = match['rest'].replace('conv_offset_mask', 'conv_offset')
        return (f'backbone.layer{int(match["stage"]) + 1}.{match["block"]}.'
                f'{rest}')
    match = _OFFICIAL_FPN.match(key)
    if match:
        index = int(match['index'])
        if match['kind'] == 'lat_layers':
            kind, level = 'lateral_convs', num_levels - 1 - index
        elif match['kind'] == 'pred_layers':
            kind, level = 'fpn_convs', num_levels - 1 - index
        else:
            kind, level = 'fpn_convs', num_levels + index
        return f'neck.{kind}.{level}.conv.{match["param"]}'
    match = _OFFICIAL_UPFEATURE.match(key)
    if match and int(match['index']) % 2 == 0:
        return (f'bbox_head.head_convs.{int(match["index"]) // 2}.conv.'
                f'{match["param"]}')
    if key.startswith(_HEAD):
        layer, _, param = key[len(_HEAD):].partition('.')
        if layer in _OUTPUTS and param in ('weight', 'bias'):
            return f'bbox_head.{_OUTPUTS[layer]}.{param}'
        return None
    match = _OFFICIAL_PROTO.match(key)
    if match and int(match['index']) in PROTONET_CONVS:
        return f'mask_head.protonet.{match["index"]}.{match["param"]}'
    if key in (f'{_SEGM[0]}weight', f'{_SEGM[0]}bias'):
        return _SEGM[1] + key[len(_SEGM[0]):]
    match = _OFFICIAL_MASKIOU.match(key)
    if match and int(match['index']) % 2 == 0:
        index = int(match['index']) // 2
        layer = ('fc_mask_iou'
                 if index == maskiou_convs - 1 else f'convs.{index}')
        return f'mask_head.mask_iou_head.{layer}.{match["param"]}'
    return None


def _official_key(key: str, num_levels: int,
                  maskiou_convs: int) -> Optional[str]:
    """mmregion name → official name (the inverse of :func:`_mmregion_key`
    and of the re-scoring mapping; None: no official counterpart)."""
    if _STEM.match(key):
        return key
    match = _MM_BLOCK.match(key)
    if match:
        rest = match['rest'].replace('conv_offset', 'conv_offset_mask')
        return (f'backbone.layers.{int(match["stage"]) - 1}.{match["block"]}.'
                f'{rest}')
    match = _MM_FPN.match(key)
    if match:
        index = int(match['index'])
        if match['kind'] == 'lateral_convs':
            name = f'lat_layers.{num_levels - 1 - index}'
        elif index < num_levels:
            name = f'pred_layers.{num_levels - 1 - index}'
        else:
            name = f'downsample_layers.{index - num_levels}'
        return f'fpn.{name}.{match["param"]}'
    match = _MM_HEAD_CONV.match(key)
    if match:
        return (f'{_HEAD}upfeature.{2 * int(match["index"])}.'
                f'{match["param"]}')
    for official, mm in _OUTPUTS.items():
        if key in (f'bbox_head.{mm}.weight', f'bbox_head.{mm}.bias'):
            return f'{_HEAD}{official}.{key.rsplit(".", 1)[1]}'
    match = _MM_PROTO.match(key)
    if match:
        return f'proto_net.{match["index"]}.{match["param"]}'
    if key.startswith(_SEGM[1]):
        return _SEGM[0] + key[len(_SEGM[1]):]
    match = _MM_MASKIOU.match(key)
    if match:
        index = maskiou_convs - 1 if match['last'] else int(match['index'])
        return f'maskiou_net.maskiou_net.{2 * index}.{match["param"]}'
    return None


def _describe(keys: List[str]) -> str:
    """'n keys: a, b, c, ...'."""
    more = ', ...' if len(keys) > _NAMED else ''
    noun = 'key' if len(keys) == 1 else 'keys'
    return f'{len(keys)} {noun}: {", ".join(sorted(keys)[:_NAMED])}{more}'


def _check_classes(layout: YOLACTLayout, state_dict: Mapping[str, Tensor],
                   num_classes: Optional[int]) -> None:
    """Check the class count of the conf, semantic and re-scoring convs."""
    counts = {
        f'{_HEAD}conf_layer ({layout.num_anchors} anchors x (C + 1))':
        layout.num_classes
    }
    if f'{_SEGM[0]}weight' in state_dict:
        counts[f'{_SEGM[0]}weight'] = state_dict[f'{_SEGM[0]}weight'].shape[0]
    last = f'maskiou_net.maskiou_net.{2 * layout.maskiou_convs - 2}.weight'
    if layout.maskiou_convs and last in state_dict:
        counts[last] = state_dict[last].shape[0]
    if len(set(counts.values())) > 1:
        raise ValueError('the checkpoint disagrees on its number of classes: ' +
                         ', '.join(f'{k}: {v}' for k, v in counts.items()))
    if num_classes is not None and layout.num_classes != num_classes:
        raise ValueError(
            f'the checkpoint has {layout.num_classes} classes '
            f'({_HEAD}conf_layer: {layout.num_anchors} anchors x '
            f'({layout.num_classes} + background)), but num_classes='
            f'{num_classes} was asked for')


def yolact_to_mmregion(state_dict: Mapping[str, Tensor],
                       strict: bool = True,
                       num_classes: Optional[int] = None,
                       square_anchors: Optional[bool] = None
                       ) -> Tuple[StateDict, Dict[str, Any]]:
    """Convert official YOLACT / YOLACT++ weights to mmregion's.

    Args:
        state_dict (Mapping[str, Tensor]): An official state dict (or a
            checkpoint dict holding it under ``'state_dict'`` / ``'model'``).
        strict (bool): Fail on keys that cannot be converted and on missing
            keys; when False, unknown keys are skipped and missing ones
            reported (and warned about). Defaults to True.
        num_classes (int, optional): Expected foreground classes (80 for
            COCO); checked when given.
        square_anchors (bool, optional): The official ``use_square_anchors``
            of the checkpoint's config. Defaults to True for one anchor scale
            per level (every official YOLACT v1 config) and False for three
            (YOLACT++).

    Returns:
        tuple[dict, dict]: The mmregion state dict and a report:
        ``layout`` (:class:`YOLACTLayout`), ``config`` (the
        ``configs/yolact/official`` config to use), ``square_anchors``,
        ``anchor_permutation``, ``converted`` (tensors per group),
        ``added`` (``num_batches_tracked`` counters), ``folded_dcn_biases``,
        ``skipped`` and ``missing`` (key lists).

    Raises:
        ValueError: Naming unknown or missing keys (strict), a class count
            other than ``num_classes``, or a layout that does not convert.
    """
    state_dict = _strip(state_dict)
    layout = inspect_official(state_dict)
    _check_classes(layout, state_dict, num_classes)
    if square_anchors is None:
        square_anchors = layout.num_scales == 1
    perm = anchor_permutation(layout.num_scales, square_anchors)
    missing = sorted(expected_official_keys(layout) - set(state_dict))
    out: StateDict = {}
    converted: Counter = Counter()
    skipped: List[str] = []
    dcn_biases: StateDict = {}  # folded into these bn2 running means
    for key, tensor in state_dict.items():
        match = _OFFICIAL_BLOCK.match(key)
        if match and match['rest'] == 'conv2.bias':
            stage = int(match['stage']) + 1
            dcn_biases[f'backbone.layer{stage}.{match["block"]}.bn2.'
                       'running_mean'] = tensor
            continue
        name = _mmregion_key(key, layout.num_levels, layout.maskiou_convs)
        if name is None:
            skipped.append(key)
            continue
        if key.startswith(_HEAD):
            layer = key[len(_HEAD):].split('.')[0]
            if layer in _OUTPUTS:
                if layer == 'conf_layer':
                    tensor = _background_last(tensor, layout.num_anchors)
                tensor = _to_mmdet_anchor_order(tensor, perm)
        out[name] = tensor
        converted[name.split('.')[0]] += 1
    folded = [mean for mean in dcn_biases if mean in out]
    for mean in folded:
        out[mean] = out[mean] - dcn_biases[mean].to(out[mean].dtype)
    if (skipped or missing) and strict:
        parts = []
        if skipped:
            parts.append(f'cannot convert {_describe(skipped)}')
        if missing:
            parts.append(f'missing {_describe(missing)}')
        raise ValueError(
            f'yolact_to_mmregion: {"; ".join(parts)} (a ResNet-'
            f'{_depth_or_unknown(layout)} YOLACT'
            f'{"++" if layout.dcn_blocks else ""} with {layout.num_anchors} '
            f'anchors per location). Pass strict=False (--no-strict) to '
            f'convert the rest.')
    for note in ([f'skipped {_describe(skipped)}'] if skipped else []) + (
            [f'missing {_describe(missing)}'] if missing else []):
        warnings.warn(f'yolact_to_mmregion: {note}')
    added = 0
    for key in list(out):
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            if counter not in out:
                out[counter] = torch.zeros((), dtype=torch.long)
                added += 1
    report = dict(
        layout=layout,
        config=layout.config,
        square_anchors=square_anchors,
        anchor_permutation=perm,
        converted=dict(converted),
        added=added,
        folded_dcn_biases=len(folded),
        skipped=skipped,
        missing=missing)
    return out, report


def _depth_or_unknown(layout: YOLACTLayout) -> str:
    """'50' / '101', or the block counts when they match no depth."""
    depth = RESNET_DEPTHS.get(layout.blocks)
    return str(depth) if depth else f'? {layout.blocks}'


def mmregion_to_yolact(state_dict: Mapping[str, Tensor],
                       square_anchors: Optional[bool] = None) -> StateDict:
    """Export mmregion YOLACT / YOLACT++ weights under the official names.

    The inverse of :func:`yolact_to_mmregion`: keys renamed back, FPN levels
    reversed, output channels back in the official anchor order and class
    order (background first), each deformable conv2 given the zero bias of
    the official DCN.

    Args:
        state_dict (Mapping[str, Tensor]): An mmregion YOLACT state dict
            (``BatchedYOLACTHead`` / ``BatchedYOLACTProtonet``, ``FPN`` or
            ``YOLACTFPN``, ``ResNet`` or ``IntervalDCNResNet``).
        square_anchors (bool, optional): See :func:`yolact_to_mmregion`.

    Returns:
        dict[str, Tensor]: The official ``Yolact`` state dict.

    Raises:
        ValueError: Naming the keys without an official counterpart.
    """
    state_dict = _strip(state_dict)
    num_levels = len({
        m['index']
        for m in map(_MM_FPN.match, state_dict)
        if m and m['kind'] == 'lateral_convs'
    })
    maskiou_convs = len({
        m['index'] or 'last'
        for m in map(_MM_MASKIOU.match, state_dict) if m
    })
    if 'bbox_head.conv_reg.weight' not in state_dict:
        raise ValueError('mmregion_to_yolact: bbox_head.conv_reg.weight is '
                         'missing: not an mmregion YOLACT state dict')
    num_anchors = state_dict['bbox_head.conv_reg.weight'].shape[0] // 4
    num_scales = num_anchors // len(OFFICIAL_ASPECT_RATIOS)
    if square_anchors is None:
        square_anchors = num_scales == 1
    perm = anchor_permutation(num_scales, square_anchors)
    out: StateDict = {}
    unknown = []
    for key, tensor in state_dict.items():
        name = _official_key(key, num_levels, maskiou_convs)
        if name is None:
            unknown.append(key)
            continue
        layer = key.split('.')[1] if key.startswith('bbox_head.') else None
        if layer in _OUTPUTS.values():
            tensor = _to_official_anchor_order(tensor, perm)
            if layer == 'conv_cls':
                tensor = _background_first(tensor, num_anchors)
        out[name] = tensor
        if name.endswith('conv2.conv_offset_mask.weight'):
            weight = state_dict[key.replace('conv_offset.weight', 'weight')]
            out[name.replace('conv_offset_mask.weight', 'bias')] = \
                weight.new_zeros(weight.shape[0])
    if unknown:
        raise ValueError(
            f'mmregion_to_yolact: no official counterpart for '
            f'{_describe(unknown)}')
    return out


def load_official_checkpoint(path: str) -> Mapping[str, Tensor]:
    """Read an official YOLACT checkpoint with ``weights_only=True``.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        Mapping[str, Tensor]: Its state dict.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When it holds no dict of tensors.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'YOLACT checkpoint {path} does not exist')
    ckpt = load_checkpoint_file(path, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{path}: holds a {type(ckpt).__name__}, not a '
                         f'state dict')
    return _strip(ckpt)


def convert_yolact_checkpoint(src: str,
                              dst: str,
                              strict: bool = True,
                              num_classes: Optional[int] = None,
                              square_anchors: Optional[bool] = None
                              ) -> Dict[str, Any]:
    """Convert an official YOLACT checkpoint file to an mmregion checkpoint.

    Writes ``dst`` = ``{'state_dict': ..., 'meta': {'converted_from': src,
    'dataset_meta': COCO classes and palette, 'config': ..., ...}}``
    atomically (load it with ``load_from`` / ``--weights``; mmdet's
    ``init_detector`` reads the class names from ``dataset_meta``).

    Args:
        src (str): The official checkpoint.
        dst (str): The mmregion checkpoint to write.
        strict (bool): See :func:`yolact_to_mmregion`. Defaults to True.
        num_classes (int, optional): Expected classes; checked when given.
        square_anchors (bool, optional): See :func:`yolact_to_mmregion`.

    Returns:
        dict: The report of :func:`yolact_to_mmregion` plus ``src``,
        ``dst`` and ``seconds``.
    """
    from mmdet.datasets import CocoDataset
    start = time.time()
    state, report = yolact_to_mmregion(
        load_official_checkpoint(src), strict, num_classes, square_anchors)
    layout = report['layout']
    dataset_meta = (
        dict(CocoDataset.METAINFO) if layout.num_classes == len(
            CocoDataset.METAINFO['classes']) else {})
    meta = dict(
        converted_from=osp.abspath(src),
        converter='mmregion.converters.yolact_to_mmregion',
        config=report['config'],
        square_anchors=report['square_anchors'],
        anchor_permutation=report['anchor_permutation'],
        skipped=report['skipped'],
        missing=report['missing'])
    if dataset_meta:
        meta['dataset_meta'] = dataset_meta
    atomic_save(dict(state_dict=state, meta=meta), dst)
    report.update(src=src, dst=dst, seconds=time.time() - start)
    return report


def format_yolact_report(report: Mapping[str, Any]) -> str:
    """The report of :func:`convert_yolact_checkpoint` as text.

    Args:
        report (Mapping): The report.

    Returns:
        str: The detected model, tensors per group, folded biases, added
        counters, the anchor permutation, skipped and missing keys and the
        config to use.
    """
    layout = report['layout']
    dcn = 'no DCN'
    if layout.dcn_blocks:
        dcn = (f'DCN in every block of res3-res5' if layout.dcn_interval == 1
               else f'DCN every {layout.dcn_interval} blocks of res3-res5')
    lines = [
        f"converted {report['src']} -> {report['dst']} in "
        f"{report['seconds']:.2f}s",
        f'  model      ResNet-{layout.depth} ({dcn}), {layout.num_classes} '
        f'classes, {layout.num_anchors} anchors per location '
        f"({'square' if report['square_anchors'] else 'w:h 1, 1:2, 2:1'}), "
        f"{'mask re-scoring' if layout.maskiou_convs else 'no re-scoring'}",
    ]
    for group, count in report['converted'].items():
        lines.append(f'  converted {count:5d}  {group}')
    if report['folded_dcn_biases']:
        lines.append(f"  folded    {report['folded_dcn_biases']:5d}  DCN "
                     'conv2 biases into bn2.running_mean')
    if report['added']:
        lines.append(f"  added     {report['added']:5d}  BatchNorm "
                     'num_batches_tracked')
    lines.append('  anchors, official -> mmdet channel block: '
                 f"{report['anchor_permutation']}")
    for title in ('skipped', 'missing'):
        if report[title]:
            lines.append(f'  {title:9s} {_describe(report[title])}')
    lines.append(f"  config    {report['config']}")
    return '\n'.join(lines)
