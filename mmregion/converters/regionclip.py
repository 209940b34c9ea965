"""Official RegionCLIP (detectron2) checkpoints ⇄ mmregion's RegionCLIP.

An official checkpoint (``regionclip_pretrained-cc_rn50.pth``,
``regionclip_finetuned-coco_rn50.pth``, ...) is ``{'model': state_dict}``
(or the state dict itself) of detectron2's ``CLIPFastRCNN`` /
``PretrainFastRCNN``. Its groups and where they go:

==========================================  ==================================
official key                                mmregion key
==========================================  ==================================
``backbone.*`` (CLIP ModifiedResNet)        ``backbone.*`` (same names)
``offline_backbone.*`` (detectron2 R50-C4)  ``offline_rpn.backbone.*`` (mmdet
                                            ResNet names)
``offline_backbone.bottom_up.*`` (R50-FPN)  ``offline_rpn.backbone.*``
``offline_backbone.fpn_{lateral,output}*``  ``offline_rpn.neck.*`` (mmdet FPN)
``offline_proposal_generator.rpn_head.*``   ``offline_rpn.bbox_head.*``
                                            (anchors reordered)
``roi_heads.box_predictor.bbox_pred.*``     ``roi_head.bbox_head.fc_reg.*``
``roi_heads.mask_head.{deconv,predictor}``  ``roi_head.mask_head.{upsample,
                                            conv_logits}`` (class-agnostic)
``roi_heads.box_predictor.cls_score``       train vocabulary (not a weight)
``roi_heads.box_predictor.test_cls_score``  test vocabulary (not a weight)
``roi_heads.box_predictor.cls_bg_score``    dropped (RegionCLIP's fixed zero
                                            background embedding)
``teacher_backbone.*``, ``lang_encoder.*``  dropped (pretraining only)
==========================================  ==================================

The offline RPN's own checkpoint (RegionCLIP's ``MODEL.CLIP.BB_RPN_WEIGHTS``,
e.g. ``rpn_coco_48.pth``: a detectron2 R-CNN with ``backbone.*`` and
``proposal_generator.*``) is read as RegionCLIP reads it: ``backbone.*`` →
``offline_backbone.*``, ``proposal_generator.*`` →
``offline_proposal_generator.*``, the rest (its box and mask heads) dropped.
The LVIS RPN (``rpn_lvis_866.pth``, and the one inside the pretrained
checkpoints) is a detectron2 R50-FPN: its ResNet is under
``offline_backbone.bottom_up.*`` and becomes an mmdet ``ResNet`` + ``FPN``
+ ``RPNHead`` offline RPN (the ``offline_rpn`` of ``configs/regionclip/
regionclip_rn50_c4_1x_lvis-ovd.py``); ``rpn_lvis_866_lsj.pth`` (BN in the
FPN, two RPN convs) converts the same way.

detectron2's anchor generator lists a cell's anchors size-major (``for size
in sizes: for ratio in ratios``), mmdet's ``AnchorGenerator`` ratio-major, so
the RPN's per-anchor output channels are permuted (:func:`anchor_permutation`).
"""
import os.path as osp
import re
import time
import warnings
from collections import Counter, defaultdict
from typing import Any, Dict, List, Mapping, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from ..fileio import atomic_save, load_checkpoint_file
from ..models.language.vocabulary import FORMAT, Vocabulary

StateDict = Dict[str, Tensor]

NUM_SIZES = 5
"""Anchor sizes of RegionCLIP's C4 offline RPN (32, 64, 128, 256, 512)."""
NUM_SIZES_FPN = 1
"""Anchor sizes per level of RegionCLIP's FPN offline RPN (32 on P2 ... 512
on P6)."""
NUM_RATIOS = 3
"""Anchor aspect ratios (h / w) of RegionCLIP's C4 offline RPN (0.5, 1, 2)."""

_BN_STATS = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
_CLIP_RESNET_KEY = re.compile(
    rf'^(?:conv[123]\.weight|bn[123]\.{_BN_STATS}'
    rf'|layer[1-4]\.\d+\.(?:conv[123]\.weight|bn[123]\.{_BN_STATS}'
    rf'|downsample\.0\.weight|downsample\.1\.{_BN_STATS})'
    rf'|attnpool\.(?:positional_embedding|[qkvc]_proj\.(?:weight|bias)))$')
_D2_RESNET_KEY = re.compile(
    r'^(?:stem\.conv1|res(?P<stage>[2-5])\.(?P<block>\d+)\.'
    r'(?P<module>conv[123]|shortcut))'
    rf'\.(?:weight|norm\.(?P<stat>{_BN_STATS}))$')
_MM_RESNET_KEY = re.compile(
    r'^(?:(?P<stem>conv1|bn1)|layer(?P<layer>[1-4])\.(?P<block>\d+)\.'
    r'(?P<module>conv[123]|bn[123]|downsample\.[01]))'
    rf'\.(?P<param>{_BN_STATS})$')

# detectron2 FPN (``fpn_lateral{s}`` / ``fpn_output{s}`` on res{s}, with a
# ``.norm`` when FPN.NORM is set) and mmdet FPN (ConvModules ``lateral_convs.
# {i}`` / ``fpn_convs.{i}``, ``.bn`` with a BN norm_cfg); RegionCLIP's FPN
# reads res2..res5, so stage s is mmdet's level s - 2.
_D2_FPN_KEY = re.compile(
    r'^fpn_(?P<kind>lateral|output)(?P<stage>[2-5])'
    rf'\.(?:(?P<param>weight|bias)|norm\.(?P<stat>{_BN_STATS}))$')
_MM_FPN_KEY = re.compile(
    r'^(?P<kind>lateral_convs|fpn_convs)\.(?P<level>[0-3])'
    rf'\.(?:conv\.(?P<param>weight|bias)|bn\.(?P<stat>{_BN_STATS}))$')
_FPN_KINDS = {'lateral': 'lateral_convs', 'output': 'fpn_convs'}
_FPN_FIRST_STAGE = 2
# detectron2 StandardRPNHead: ``conv`` (RPN.CONV_DIMS of one entry) or
# ``conv.conv{k}`` (several, as in RegionCLIP's LSJ RPN); mmdet RPNHead:
# ``rpn_conv`` or, with num_convs > 1, ConvModules ``rpn_conv.{k}.conv``.
_D2_RPN_KEY = re.compile(
    r'^(?:conv(?:\.conv(?P<index>\d+))?|(?P<out>objectness_logits|'
    r'anchor_deltas))\.(?P<param>weight|bias)$')
_MM_RPN_KEY = re.compile(
    r'^(?:rpn_conv(?:\.(?P<index>\d+)\.conv)?|(?P<out>rpn_cls|rpn_reg))'
    r'\.(?P<param>weight|bias)$')
# official ⇄ mmregion names of the RPN output layers; channels per anchor.
_RPN_OUTPUTS = {'objectness_logits': ('rpn_cls', 1),
                'anchor_deltas': ('rpn_reg', 4)}

_RPN_HEAD = 'offline_proposal_generator.rpn_head.'
_FPN_BACKBONE = ('offline_backbone.bottom_up.', 'offline_backbone.fpn_')
_PREDICTOR = 'roi_heads.box_predictor.'
_MASK_HEAD = 'roi_heads.mask_head.'
# detectron2 MaskRCNNConvUpsampleHead (NUM_CONV 0) ⇄ mmdet FCNMaskHead
# (num_convs=0).
_MASK_LAYERS = {'deconv': 'upsample', 'predictor': 'conv_logits'}
_CELL_ANCHORS = 'offline_proposal_generator.anchor_generator.'
_DROPPED_PREFIXES = ('teacher_backbone.', 'teacher_roi_heads.',
                     'lang_encoder.', _CELL_ANCHORS)
# Normalisation buffers and concept pools; in configs and vocabularies.
_DROPPED_KEYS = ('pixel_mean', 'pixel_std', 'offline_pixel_mean',
                 'offline_pixel_std', 'concept_emb', 'teacher_concept_emb')
_EMBEDDINGS = {
    'cls_score.weight': 'train_embeddings',
    'test_cls_score.weight': 'test_embeddings',
}
_NAMED_PER_REASON = 3


def anchor_permutation(num_sizes: int, num_ratios: int) -> List[int]:
    """Where each detectron2 anchor sits in mmdet's order.

    detectron2's ``DefaultAnchorGenerator.generate_cell_anchors`` lists the
    anchors of a cell size-major (anchor ``d = s * num_ratios + r``); mmdet's
    ``AnchorGenerator`` (``scale_major=True``, its default) ratio-major
    (anchor ``m = r * num_sizes + s``), both for sizes and ratios (h / w)
    given in the same order (mmdet's ``scales * strides`` = detectron2's
    ``sizes``).

    Args:
        num_sizes (int): Anchor sizes (mmdet ``scales``) per cell.
        num_ratios (int): Aspect ratios per cell.

    Returns:
        list[int]: ``perm`` of length ``num_sizes * num_ratios``: detectron2
        anchor ``d`` is mmdet anchor ``perm[d]``.
    """
    if num_sizes < 1 or num_ratios < 1:
        raise ValueError(f'anchor_permutation: num_sizes and num_ratios must '
                         f'be >= 1, got {num_sizes} and {num_ratios}')
    return [
        r * num_sizes + s for s in range(num_sizes) for r in range(num_ratios)
    ]


def _to_mmdet_anchor_order(tensor: Tensor, perm: List[int],
                           per_anchor: int) -> Tensor:
    """Reorder dim 0 (anchors × ``per_anchor``) from detectron2's order."""
    blocks = tensor.reshape(len(perm), per_anchor, *tensor.shape[1:])
    out = torch.empty_like(blocks)
    out[perm] = blocks
    return out.reshape(tensor.shape)


def _to_detectron2_anchor_order(tensor: Tensor, perm: List[int],
                                per_anchor: int) -> Tensor:
    """Reorder dim 0 (anchors × ``per_anchor``) from mmdet's order."""
    blocks = tensor.reshape(len(perm), per_anchor, *tensor.shape[1:])
    return blocks[perm].reshape(tensor.shape)


def _mmdet_resnet_key(d2_key: str) -> Optional[str]:
    """detectron2 ResNet name → mmdet ResNet name (None: not one).

    ``stem.conv1.weight`` → ``conv1.weight``; ``stem.conv1.norm.*`` →
    ``bn1.*``; ``res{s}.{b}.conv{j}.weight`` → ``layer{s-1}.{b}.conv{j}.
    weight``; ``res{s}.{b}.conv{j}.norm.*`` → ``layer{s-1}.{b}.bn{j}.*``;
    ``res{s}.{b}.shortcut.weight`` / ``.norm.*`` → ``layer{s-1}.{b}.
    downsample.0.weight`` / ``downsample.1.*``.
    """
    match = _D2_RESNET_KEY.match(d2_key)
    if match is None:
        return None
    stage, block, module, stat = match.group('stage', 'block', 'module',
                                             'stat')
    if stage is None:
        conv, norm = 'conv1', 'bn1'
    elif module == 'shortcut':
        prefix = f'layer{int(stage) - 1}.{block}.downsample.'
        conv, norm = prefix + '0', prefix + '1'
    else:
        prefix = f'layer{int(stage) - 1}.{block}.'
        conv, norm = prefix + module, prefix + 'bn' + module[-1]
    return f'{norm}.{stat}' if stat else f'{conv}.weight'


def _detectron2_resnet_key(mm_key: str) -> Optional[str]:
    """mmdet ResNet name → detectron2 ResNet name (the inverse of
    :func:`_mmdet_resnet_key`; None: not a ResNet name, or a convolution
    parameter other than ``weight``)."""
    match = _MM_RESNET_KEY.match(mm_key)
    if match is None:
        return None
    stem, layer, block, module, param = match.group('stem', 'layer', 'block',
                                                    'module', 'param')
    if stem is not None:
        base, is_norm = 'stem.conv1', stem == 'bn1'
    else:
        prefix = f'res{int(layer) + 1}.{block}.'
        if module.startswith('downsample'):
            base, is_norm = prefix + 'shortcut', module.endswith('1')
        else:
            base, is_norm = prefix + 'conv' + module[-1], module[:2] == 'bn'
    if is_norm:
        return f'{base}.norm.{param}'
    return f'{base}.weight' if param == 'weight' else None


def _mmdet_fpn_key(d2_key: str) -> Optional[str]:
    """detectron2 FPN name → mmdet FPN name (None: not one).

    ``fpn_lateral{s}.weight`` / ``.bias`` → ``lateral_convs.{s-2}.conv.*``;
    ``fpn_lateral{s}.norm.*`` → ``lateral_convs.{s-2}.bn.*``; the same for
    ``fpn_output{s}`` → ``fpn_convs.{s-2}``.
    """
    match = _D2_FPN_KEY.match(d2_key)
    if match is None:
        return None
    kind, stage, param, stat = match.group('kind', 'stage', 'param', 'stat')
    prefix = f'{_FPN_KINDS[kind]}.{int(stage) - _FPN_FIRST_STAGE}.'
    return prefix + (f'conv.{param}' if param else f'bn.{stat}')


def _detectron2_fpn_key(mm_key: str) -> Optional[str]:
    """mmdet FPN name → detectron2 FPN name (the inverse of
    :func:`_mmdet_fpn_key`; None: not an FPN name)."""
    match = _MM_FPN_KEY.match(mm_key)
    if match is None:
        return None
    kind, level, param, stat = match.group('kind', 'level', 'param', 'stat')
    d2_kind = next(k for k, v in _FPN_KINDS.items() if v == kind)
    prefix = f'fpn_{d2_kind}{int(level) + _FPN_FIRST_STAGE}.'
    return prefix + (param if param else f'norm.{stat}')


def _mmdet_rpn_key(d2_key: str) -> Optional[Tuple[str, int]]:
    """detectron2 StandardRPNHead name → (mmdet RPNHead name, output
    channels per anchor, 0 for the hidden convs); None: not one.

    ``conv.*`` → ``rpn_conv.*``; ``conv.conv{k}.*`` →
    ``rpn_conv.{k}.conv.*``; ``objectness_logits.*`` → ``rpn_cls.*`` (1);
    ``anchor_deltas.*`` → ``rpn_reg.*`` (4).
    """
    match = _D2_RPN_KEY.match(d2_key)
    if match is None:
        return None
    index, out, param = match.group('index', 'out', 'param')
    if out is not None:
        name, per_anchor = _RPN_OUTPUTS[out]
        return f'{name}.{param}', per_anchor
    if index is not None:
        return f'rpn_conv.{index}.conv.{param}', 0
    return f'rpn_conv.{param}', 0


def _detectron2_rpn_key(mm_key: str) -> Optional[Tuple[str, int]]:
    """mmdet RPNHead name → (detectron2 StandardRPNHead name, output
    channels per anchor); the inverse of :func:`_mmdet_rpn_key`."""
    match = _MM_RPN_KEY.match(mm_key)
    if match is None:
        return None
    index, out, param = match.group('index', 'out', 'param')
    if out is not None:
        name, per_anchor = next(
            (d2, n) for d2, (mm, n) in _RPN_OUTPUTS.items() if mm == out)
        return f'{name}.{param}', per_anchor
    if index is not None:
        return f'conv.conv{index}.{param}', 0
    return f'conv.{param}', 0


def _state_dict_of(ckpt: Mapping) -> Tuple[Mapping, Counter]:
    """The detectron2 state dict inside a checkpoint, in CLIPFastRCNN names.

    A checkpoint of the offline RPN alone (a detectron2 R-CNN/RPN with
    ``proposal_generator.*``) is renamed as RegionCLIP's ``BB_RPN_WEIGHTS``
    loading does; its other tensors are dropped.

    Returns:
        tuple[Mapping, Counter]: The state dict and the dropped tensors per
        group.
    """
    state = ckpt
    for wrapper in ('model', 'state_dict'):
        if isinstance(ckpt.get(wrapper), Mapping):
            state = ckpt[wrapper]
            break
    if any(k.startswith(('offline_rpn.', 'roi_head.')) for k in state):
        raise ValueError(
            "regionclip_to_mmregion: this looks like an mmregion state dict "
            "already ('offline_rpn.*' / 'roi_head.*' keys), not an official "
            'RegionCLIP checkpoint')
    dropped: Counter = Counter()
    if not any(k.startswith('proposal_generator.') for k in state):
        return state, dropped
    renamed = {}
    for key, value in state.items():
        group = key.split('.', 1)[0]
        if group in ('backbone', 'proposal_generator'):
            renamed[f'offline_{key}'] = value
        else:
            dropped[f'{group} (of the RPN checkpoint)'] += 1
    return renamed, dropped


def _count(keys: List[str]) -> str:
    """'1 key' / 'n keys'."""
    return f'{len(keys)} key' + ('s' if len(keys) != 1 else '')


def _describe(skipped: Mapping[str, str]) -> str:
    """Skipped keys grouped by reason, a few named per reason."""
    by_reason = defaultdict(list)
    for key, why in skipped.items():
        by_reason[why].append(key)
    parts = []
    for why, keys in by_reason.items():
        named = ', '.join(keys[:_NAMED_PER_REASON])
        more = ', ...' if len(keys) > _NAMED_PER_REASON else ''
        parts.append(f'{why} ({_count(keys)}: {named}{more})')
    return '; '.join(parts)


def _as_tensor(value: Any) -> Optional[Tensor]:
    """A tensor from a tensor or a numpy array or scalar (None for anything
    else)."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(value))
    return None


def _check_cell_anchors(anchors: Tensor, key: str, num_sizes: int,
                        num_ratios: int) -> None:
    """Check saved cell anchors are size-major for num_sizes × num_ratios.

    Raises:
        ValueError: Naming the key, when the anchors do not have one area
            per size and one aspect ratio per ratio in detectron2's order.
    """
    if anchors.shape != (num_sizes * num_ratios, 4):
        raise ValueError(
            f'{key}: {list(anchors.shape)} cell anchors, expected '
            f'[{num_sizes * num_ratios}, 4] for {num_sizes} sizes x '
            f'{num_ratios} ratios')
    wh = (anchors[:, 2:] - anchors[:, :2]).double().reshape(
        num_sizes, num_ratios, 2)
    area, ratio = wh.prod(-1), wh[..., 1] / wh[..., 0]
    if not (torch.allclose(area, area[:, :1].expand_as(area), rtol=1e-3)
            and torch.allclose(ratio, ratio[:1].expand_as(ratio),
                               rtol=1e-3)):
        raise ValueError(
            f'{key}: the cell anchors are not size-major for {num_sizes} '
            f'sizes x {num_ratios} ratios (detectron2 order); pass the '
            f'numbers of sizes and ratios of this RPN')


def _offline_backbone_key(name: str, fpn: bool) -> Tuple[Optional[str], str]:
    """The mmregion key of ``offline_backbone.{name}``, or None and why.

    Args:
        name (str): The key without ``offline_backbone.``.
        fpn (bool): Whether the offline RPN is an R50-FPN (``bottom_up.*``
            ResNet, ``fpn_*`` layers) rather than an R50-C4.

    Returns:
        tuple[str | None, str]: The key (``offline_rpn.backbone.*`` or
        ``offline_rpn.neck.*``) and the reason it is None.
    """
    if not fpn:
        resnet = _mmdet_resnet_key(name)
        return (f'offline_rpn.backbone.{resnet}' if resnet else None,
                'not a detectron2 ResNet weight (R50-C4 offline RPN)')
    why = ('not a detectron2 R50-FPN weight (bottom_up.* ResNet, '
           'fpn_lateral2..5, fpn_output2..5)')
    if name.startswith('bottom_up.'):
        resnet = _mmdet_resnet_key(name[len('bottom_up.'):])
        return (f'offline_rpn.backbone.{resnet}' if resnet else None, why)
    neck = _mmdet_fpn_key(name)
    return (f'offline_rpn.neck.{neck}' if neck else None, why)


def regionclip_to_mmregion(
        ckpt: Mapping,
        strict: bool = True,
        num_sizes: Optional[int] = None,
        num_ratios: int = NUM_RATIOS) -> Tuple[StateDict, Dict[str, Any]]:
    """Convert an official RegionCLIP checkpoint to mmregion's RegionCLIP.

    Args:
        ckpt (Mapping): The loaded checkpoint: ``{'model': state_dict, ...}``
            or the state dict, of RegionCLIP or of its offline RPN alone
            (``backbone.*`` + ``proposal_generator.*``); numpy arrays are
            turned into tensors.
        strict (bool): Raise on keys that cannot be converted (unknown, or
            parts mmregion has no counterpart for: a class-specific box
            regressor or mask predictor, a learned classifier, mask-head
            convs). False skips them and lists them in
            ``report['skipped']``. Defaults to True.
        num_sizes (int, optional): Anchor sizes per cell of the offline RPN
            (per level for an FPN). Defaults to 5 (R50-C4) or 1 (R50-FPN).
        num_ratios (int): Anchor aspect ratios of the offline RPN.
            Defaults to 3.

    Returns:
        tuple[dict, dict]: The mmregion state dict (``backbone.*``,
        ``offline_rpn.backbone.*``, ``offline_rpn.neck.*`` (FPN),
        ``offline_rpn.bbox_head.*``, ``roi_head.bbox_head.fc_reg.*``,
        ``roi_head.mask_head.*``, as far as the checkpoint has them), and
        extras: ``train_embeddings`` (C, D) and ``test_embeddings`` (C', D)
        when present, and ``report``: ``converted`` / ``added`` /
        ``dropped`` (tensor counts per group), ``skipped`` (key → why),
        ``embeddings`` (shapes), ``anchor_permutation`` (None without an
        RPN head) and ``warnings``.

    Raises:
        ValueError: With ``strict``, naming the keys that cannot be
            converted; always, naming the key, when the RPN's anchors do not
            match ``num_sizes`` x ``num_ratios``.
    """
    state, dropped = _state_dict_of(ckpt)
    fpn = any(k.startswith(_FPN_BACKBONE) for k in state)
    if num_sizes is None:
        num_sizes = NUM_SIZES_FPN if fpn else NUM_SIZES
    out: StateDict = {}
    extras: Dict[str, Any] = {}
    converted, added = Counter(), Counter()
    unknown: Dict[str, str] = {}
    notes: List[str] = []
    perm = anchor_permutation(num_sizes, num_ratios)
    has_rpn_head = False

    for key, value in state.items():
        tensor = _as_tensor(value)
        if tensor is None:
            unknown[key] = f'a {type(value).__name__}, not a tensor'
            continue
        group = key.split('.', 1)[0]
        if key in _DROPPED_KEYS or key.startswith(_DROPPED_PREFIXES):
            if key.startswith(_CELL_ANCHORS):
                _check_cell_anchors(tensor, key, num_sizes, num_ratios)
                group = _CELL_ANCHORS.rstrip('.')
            dropped[group] += 1
        elif group == 'backbone':
            name = key[len('backbone.'):]
            if not _CLIP_RESNET_KEY.match(name):
                unknown[key] = 'not a CLIP ModifiedResNet weight'
            elif name.endswith('num_batches_tracked'):
                dropped['backbone num_batches_tracked (frozen BN)'] += 1
            else:
                out[key] = tensor
                converted['backbone'] += 1
        elif group == 'offline_backbone':
            name, why = _offline_backbone_key(
                key[len('offline_backbone.'):], fpn)
            if name is None:
                unknown[key] = why
            else:
                out[name] = tensor
                converted['.'.join(name.split('.')[:2])] += 1
        elif key.startswith(_RPN_HEAD):
            mapped = _mmdet_rpn_key(key[len(_RPN_HEAD):])
            if mapped is None:
                unknown[key] = 'not a detectron2 StandardRPNHead weight'
                continue
            name, per_anchor = mapped
            if per_anchor:
                has_rpn_head = True
                if tensor.shape[0] != len(perm) * per_anchor:
                    raise ValueError(
                        f'{key}: {tensor.shape[0]} output channels, expected '
                        f'{len(perm) * per_anchor} ({num_sizes} sizes x '
                        f'{num_ratios} ratios x {per_anchor}); pass the '
                        f'numbers of anchor sizes and ratios of this RPN')
                tensor = _to_mmdet_anchor_order(tensor, perm, per_anchor)
            out[f'offline_rpn.bbox_head.{name}'] = tensor
            converted['offline_rpn.bbox_head'] += 1
        elif key.startswith(_PREDICTOR):
            name = key[len(_PREDICTOR):]
            if name in _EMBEDDINGS:
                extras[_EMBEDDINGS[name]] = tensor
            elif name.startswith('cls_bg_score.'):
                dropped[_PREDICTOR + 'cls_bg_score'] += 1
                if tensor.count_nonzero():
                    notes.append(
                        f'{key} is not all zero (max |value| '
                        f'{tensor.abs().max().item():.3g}); mmregion\'s '
                        f'background logit is fixed at 0, so predictions '
                        f'will differ from the official model')
            elif name.startswith('bbox_pred.') and tensor.shape[0] == 4:
                out[f'roi_head.bbox_head.fc_reg.{name.split(".", 1)[1]}'] = \
                    tensor
                converted['roi_head.bbox_head'] += 1
            elif name.startswith('bbox_pred.'):
                unknown[key] = (f'a class-specific box regressor '
                                f'({tensor.shape[0]} outputs); mmregion '
                                f'regresses class-agnostic boxes (4)')
            elif name.endswith('.bias'):
                unknown[key] = ('a learned classifier bias; mmregion '
                                'classifies with text embeddings only')
            else:
                unknown[key] = 'not a RegionCLIP box predictor weight'
        elif key.startswith(_MASK_HEAD):
            layer, _, param = key[len(_MASK_HEAD):].partition('.')
            if layer not in _MASK_LAYERS or param not in ('weight', 'bias'):
                unknown[key] = ('not a weight of a mask head without convs '
                                '(MaskRCNNConvUpsampleHead, NUM_CONV 0)')
            elif layer == 'predictor' and tensor.shape[0] != 1:
                unknown[key] = (f'a class-specific mask predictor '
                                f'({tensor.shape[0]} outputs); mmregion '
                                f'predicts class-agnostic masks (1)')
            else:
                out[f'roi_head.mask_head.{_MASK_LAYERS[layer]}.{param}'] = \
                    tensor
                converted['roi_head.mask_head'] += 1
        else:
            unknown[key] = 'not a RegionCLIP weight'

    if unknown and strict:
        raise ValueError(
            f'regionclip_to_mmregion: {_count(list(unknown))} cannot be '
            f'converted: {_describe(unknown)}. Pass strict=False '
            f'(--no-strict) to skip them.')
    for key in list(out):
        if key.startswith('offline_rpn.') and key.endswith('.running_var'):
            counter = key[:-len('running_var')] + 'num_batches_tracked'
            if counter not in out:
                out[counter] = torch.zeros((), dtype=torch.long)
                part = '.'.join(key.split('.')[:2])
                added[f'{part} num_batches_tracked'] += 1
    for note in notes:
        warnings.warn(note)
    extras['report'] = dict(
        converted=dict(converted),
        added=dict(added),
        dropped=dict(dropped),
        skipped=unknown,
        embeddings={
            name: list(extras[name].shape)
            for name in ('train_embeddings', 'test_embeddings')
            if name in extras
        },
        anchor_permutation=perm if has_rpn_head else None,
        warnings=notes)
    return out, extras


def mmregion_to_regionclip(state_dict: Mapping[str, Tensor],
                           train_embeddings: Optional[Tensor] = None,
                           test_embeddings: Optional[Tensor] = None,
                           num_sizes: Optional[int] = None,
                           num_ratios: int = NUM_RATIOS) -> StateDict:
    """Export mmregion's RegionCLIP weights under the official names.

    The inverse of :func:`regionclip_to_mmregion`: ``backbone.*`` as is,
    ``offline_rpn.backbone.*`` in detectron2 ResNet names (under
    ``offline_backbone.bottom_up.`` when the offline RPN has an FPN
    ``neck``, whose layers become ``fpn_lateral*`` / ``fpn_output*``;
    BatchNorm's ``num_batches_tracked`` dropped: detectron2's FrozenBN has
    none), the RPN head with its channels back in detectron2's anchor order,
    ``fc_reg`` as ``bbox_pred``, the mask head's ``upsample`` /
    ``conv_logits`` as ``deconv`` / ``predictor``, and the embeddings as
    ``cls_score`` / ``test_cls_score`` with a zero ``cls_bg_score`` (1, D).

    Args:
        state_dict (Mapping[str, Tensor]): A :class:`RegionCLIP` state dict.
        train_embeddings (Tensor, optional): (C, D) train text embeddings.
        test_embeddings (Tensor, optional): (C', D) test text embeddings.
        num_sizes (int, optional): Anchor sizes per cell of the offline RPN
            (per level for an FPN). Defaults to 5 (R50-C4) or 1 (R50-FPN).
        num_ratios (int): Anchor aspect ratios. Defaults to 3.

    Returns:
        dict[str, Tensor]: The state dict of detectron2's ``CLIPFastRCNN``
        (the value of an official checkpoint's ``'model'``).

    Raises:
        ValueError: Naming the keys that have no official counterpart (e.g.
            a trainable ``rpn_head.*``).
    """
    fpn = any(k.startswith('offline_rpn.neck.') for k in state_dict)
    if num_sizes is None:
        num_sizes = NUM_SIZES_FPN if fpn else NUM_SIZES
    perm = anchor_permutation(num_sizes, num_ratios)
    resnet_prefix = 'offline_backbone.bottom_up.' if fpn else \
        'offline_backbone.'
    out: StateDict = {}
    unknown = []
    for key, tensor in state_dict.items():
        if key.endswith('num_batches_tracked'):
            continue
        name = None
        if key.startswith('backbone.') and _CLIP_RESNET_KEY.match(
                key[len('backbone.'):]):
            name = key
        elif key.startswith('offline_rpn.backbone.'):
            resnet = _detectron2_resnet_key(
                key[len('offline_rpn.backbone.'):])
            name = resnet and resnet_prefix + resnet
        elif key.startswith('offline_rpn.neck.'):
            neck = _detectron2_fpn_key(key[len('offline_rpn.neck.'):])
            name = neck and 'offline_backbone.' + neck
        elif key.startswith('offline_rpn.bbox_head.'):
            mapped = _detectron2_rpn_key(key[len('offline_rpn.bbox_head.'):])
            if mapped is not None:
                name, per_anchor = _RPN_HEAD + mapped[0], mapped[1]
                if per_anchor:
                    if tensor.shape[0] != len(perm) * per_anchor:
                        raise ValueError(
                            f'{key}: {tensor.shape[0]} output channels, '
                            f'expected {len(perm) * per_anchor} ({num_sizes} '
                            f'sizes x {num_ratios} ratios x {per_anchor})')
                    tensor = _to_detectron2_anchor_order(
                        tensor, perm, per_anchor)
        elif key.startswith('roi_head.bbox_head.fc_reg.'):
            name = _PREDICTOR + 'bbox_pred.' + key.rsplit('.', 1)[1]
        elif key.startswith('roi_head.mask_head.'):
            layer, _, param = key[len('roi_head.mask_head.'):].partition('.')
            d2_layer = next(
                (d2 for d2, mm in _MASK_LAYERS.items() if mm == layer), None)
            name = d2_layer and f'{_MASK_HEAD}{d2_layer}.{param}'
        if name is None:
            unknown.append(key)
        else:
            out[name] = tensor
    if unknown:
        raise ValueError(
            f'mmregion_to_regionclip: {_count(unknown)} without an '
            f'official RegionCLIP counterpart: {", ".join(unknown)}')
    for name, emb in (('cls_score', train_embeddings),
                      ('test_cls_score', test_embeddings)):
        if emb is not None:
            out[f'{_PREDICTOR}{name}.weight'] = emb
            out[f'{_PREDICTOR}cls_bg_score.weight'] = emb.new_zeros(
                1, emb.shape[1])
    return out


def load_regionclip_checkpoint(path: str) -> Mapping:
    """Read an official RegionCLIP checkpoint with ``weights_only=True``.

    numpy arrays (as detectron2 may store) are allowed; any other object is
    refused.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        Mapping: The loaded checkpoint.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When ``torch.load(weights_only=True)`` refuses the file
            (quoting its reason) or it holds no dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'RegionCLIP checkpoint {path} does not exist')
    ckpt = load_checkpoint_file(path, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{path}: holds a {type(ckpt).__name__}, not a '
                         f"checkpoint dict ({{'model': state_dict}})")
    return ckpt


def convert_regionclip_checkpoint(src: str,
                                  dst: str,
                                  vocab_prefix: Optional[str] = None,
                                  strict: bool = True,
                                  num_sizes: Optional[int] = None,
                                  num_ratios: int = NUM_RATIOS
                                  ) -> Dict[str, Any]:
    """Convert an official RegionCLIP checkpoint file to mmregion files.

    Writes ``dst`` = ``{'state_dict': ..., 'meta': {'converted_from': src,
    ...}}`` (load it with ``load_from`` or mmengine's ``load_checkpoint``)
    and, when the checkpoint has text embeddings, the vocabulary files
    ``{vocab_prefix}_train_vocab.pth`` / ``{vocab_prefix}_test_vocab.pth``
    (:meth:`Vocabulary.save`; give them to the box head's
    ``train_vocabulary`` / ``test_vocabulary``). Files are written
    atomically.

    Args:
        src (str): The official checkpoint.
        dst (str): The mmregion checkpoint to write.
        vocab_prefix (str, optional): Prefix of the vocabulary files.
            Defaults to ``dst`` without its extension.
        strict (bool): See :func:`regionclip_to_mmregion`. Defaults to True.
        num_sizes (int, optional): Anchor sizes per cell of the offline RPN
            (per level for an FPN). Defaults to 5 (R50-C4) or 1 (R50-FPN).
        num_ratios (int): Anchor aspect ratios. Defaults to 3.

    Returns:
        dict: The report of :func:`regionclip_to_mmregion` plus ``src``,
        ``dst``, ``vocab_files`` (name → path) and ``seconds``.
    """
    start = time.time()
    state, extras = regionclip_to_mmregion(
        load_regionclip_checkpoint(src), strict, num_sizes, num_ratios)
    report = extras['report']
    if vocab_prefix is None:
        vocab_prefix = osp.splitext(dst)[0]
    vocab_files = {}
    for name, split in (('train_embeddings', 'train'), ('test_embeddings',
                                                        'test')):
        if name in extras:
            path = f'{vocab_prefix}_{split}_vocab.pth'
            key = next(k for k, v in _EMBEDDINGS.items() if v == name)
            Vocabulary(
                extras[name],
                meta=dict(
                    format=FORMAT,
                    model=f'RegionCLIP (dim {extras[name].shape[1]})',
                    converted_from=src,
                    source_key=_PREDICTOR + key),
                where=path).save(path)
            vocab_files[name] = path
    meta = dict(
        converted_from=osp.abspath(src),
        converter='mmregion.converters.regionclip_to_mmregion',
        vocab_files=vocab_files,
        anchor_permutation=report['anchor_permutation'],
        skipped=report['skipped'])
    atomic_save(dict(state_dict=state, meta=meta), dst)
    report.update(
        src=src,
        dst=dst,
        vocab_files=vocab_files,
        seconds=time.time() - start)
    return report


def format_report(report: Mapping[str, Any]) -> str:
    """The report of :func:`convert_regionclip_checkpoint` as text.

    Args:
        report (Mapping): The report.

    Returns:
        str: One line per converted / added / dropped group, vocabulary
        file, the anchor permutation, skipped reasons and warnings.
    """
    lines = [
        f"converted {report['src']} -> {report['dst']} in "
        f"{report['seconds']:.2f}s"
    ]
    for title in ('converted', 'added', 'dropped'):
        for group, count in report[title].items():
            lines.append(f'  {title:9s} {count:5d}  {group}')
    for name, path in report['vocab_files'].items():
        shape = ' x '.join(map(str, report['embeddings'][name]))
        lines.append(f'  {name} ({shape}) -> {path}')
    if report['anchor_permutation'] is not None:
        lines.append('  RPN anchors, detectron2 -> mmdet channel: '
                     f"{report['anchor_permutation']}")
    if report['skipped']:
        lines.append(f"  skipped   {len(report['skipped']):5d}  "
                     f"{_describe(report['skipped'])}")
    lines += [f'  warning: {note}' for note in report['warnings']]
    return '\n'.join(lines)
