"""The heads of official YOLACT ⇄ mmregion's YOLACT heads.

The prediction head (``prediction_layers.0``, shared by all levels) becomes
``BatchedYOLACTHead``: its three output convs have per-anchor channel blocks
moved to mmdet's anchor order (:mod:`.anchors`), and the class conv's
background channel moves from first to last in each anchor's ``C + 1``
block. The protonet, the semantic segmentation conv and the mask re-scoring
net (YOLACT++) become ``mask_head.protonet``, ``mask_head.segm_branch`` and
``mask_head.mask_iou_head``.
"""
import re
from typing import List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..common import (
    CONV_PARAM,
    last_index,
    to_mmdet_anchor_order,
    to_official_anchor_order,
)
from .anchors import OFFICIAL_ASPECT_RATIOS

HEAD = 'prediction_layers.0.'
"""Prefix of the official prediction head."""
OUTPUTS = {
    'bbox_layer': 'conv_reg',
    'conf_layer': 'conv_cls',
    'mask_layer': 'conv_coeff',
}
"""Official output conv → mmregion output conv (channels: anchors x ...)."""
PROTONET_CONVS = (0, 2, 4, 8, 10)
"""Conv indices of the protonet (6 is the bilinear upsample, odd ones are
ReLUs), the same in both."""
SEGM = ('semantic_seg_conv.', 'mask_head.segm_branch.segm_conv.')
"""Official and mmregion prefixes of the semantic segmentation conv."""

_OFFICIAL_UPFEATURE = re.compile(
    rf'^prediction_layers\.0\.upfeature\.(?P<index>\d+)\.'
    rf'(?P<param>{CONV_PARAM})$')
_MM_HEAD_CONV = re.compile(
    rf'^bbox_head\.head_convs\.(?P<index>\d+)\.conv\.(?P<param>{CONV_PARAM})$')
_OFFICIAL_PROTO = re.compile(
    rf'^proto_net\.(?P<index>\d+)\.(?P<param>{CONV_PARAM})$')
_MM_PROTO = re.compile(
    rf'^mask_head\.protonet\.(?P<index>\d+)\.(?P<param>{CONV_PARAM})$')
_OFFICIAL_MASKIOU = re.compile(
    rf'^maskiou_net\.maskiou_net\.(?P<index>\d+)\.(?P<param>{CONV_PARAM})$')
_MM_MASKIOU = re.compile(r'^mask_head\.mask_iou_head\.(?:convs\.(?P<index>\d+)'
                         rf'|(?P<last>fc_mask_iou))\.(?P<param>{CONV_PARAM})$')
_NAMED = 5


def mmregion_head_key(key: str, maskiou_convs: int) -> Optional[str]:
    """Official head name → mmregion name.

    Args:
        key (str): An official key.
        maskiou_convs (int): Convs of the re-scoring net.

    Returns:
        str | None: The mmregion key; None when ``key`` is not a head
        weight.
    """
    match = _OFFICIAL_UPFEATURE.match(key)
    if match and int(match['index']) % 2 == 0:
        return (f'bbox_head.head_convs.{int(match["index"]) // 2}.conv.'
                f'{match["param"]}')
    if key.startswith(HEAD):
        layer, _, param = key[len(HEAD):].partition('.')
        if layer in OUTPUTS and param in ('weight', 'bias'):
            return f'bbox_head.{OUTPUTS[layer]}.{param}'
        return None
    match = _OFFICIAL_PROTO.match(key)
    if match and int(match['index']) in PROTONET_CONVS:
        return f'mask_head.protonet.{match["index"]}.{match["param"]}'
    if key in (f'{SEGM[0]}weight', f'{SEGM[0]}bias'):
        return SEGM[1] + key[len(SEGM[0]):]
    match = _OFFICIAL_MASKIOU.match(key)
    if match and int(match['index']) % 2 == 0:
        index = int(match['index']) // 2
        layer = ('fc_mask_iou'
                 if index == maskiou_convs - 1 else f'convs.{index}')
        return f'mask_head.mask_iou_head.{layer}.{match["param"]}'
    return None


def official_head_key(key: str, maskiou_convs: int) -> Optional[str]:
    """mmregion head name → official name (the inverse of
    :func:`mmregion_head_key`).

    Args:
        key (str): An mmregion key.
        maskiou_convs (int): Convs of the re-scoring net.

    Returns:
        str | None: The official key; None when ``key`` is not a head
        weight.
    """
    match = _MM_HEAD_CONV.match(key)
    if match:
        return (f'{HEAD}upfeature.{2 * int(match["index"])}.'
                f'{match["param"]}')
    for official, mm in OUTPUTS.items():
        if key in (f'bbox_head.{mm}.weight', f'bbox_head.{mm}.bias'):
            return f'{HEAD}{official}.{key.rsplit(".", 1)[1]}'
    match = _MM_PROTO.match(key)
    if match:
        return f'proto_net.{match["index"]}.{match["param"]}'
    if key.startswith(SEGM[1]):
        return SEGM[0] + key[len(SEGM[1]):]
    match = _MM_MASKIOU.match(key)
    if match:
        index = maskiou_convs - 1 if match['last'] else int(match['index'])
        return f'maskiou_net.maskiou_net.{2 * index}.{match["param"]}'
    return None


def _background_last(tensor: Tensor, num_anchors: int) -> Tensor:
    """Rotate each anchor's ``C + 1`` class channels: background 0 → C.

    Args:
        tensor (Tensor): (A * (C + 1), ...) class conv weight or bias.
        num_anchors (int): A.

    Returns:
        Tensor: The same shape, background last in each anchor's block.
    """
    blocks = tensor.reshape(num_anchors, -1, *tensor.shape[1:])
    return torch.cat([blocks[:, 1:], blocks[:, :1]], 1).reshape(tensor.shape)


def _background_first(tensor: Tensor, num_anchors: int) -> Tensor:
    """Rotate each anchor's ``C + 1`` class channels: background C → 0.

    Args:
        tensor (Tensor): (A * (C + 1), ...) class conv weight or bias.
        num_anchors (int): A.

    Returns:
        Tensor: The same shape, background first in each anchor's block.
    """
    blocks = tensor.reshape(num_anchors, -1, *tensor.shape[1:])
    return torch.cat([blocks[:, -1:], blocks[:, :-1]],
                     1).reshape(tensor.shape)


def mmregion_head_tensor(key: str, tensor: Tensor, num_anchors: int,
                         perm: Sequence[int]) -> Tensor:
    """An official tensor in mmregion's channel order.

    Args:
        key (str): Its official key.
        tensor (Tensor): Its value.
        num_anchors (int): Anchors per location.
        perm (Sequence[int]): Official anchor ``d`` is mmdet anchor
            ``perm[d]``.

    Returns:
        Tensor: ``tensor`` unchanged, or for an output conv, its channels in
        mmdet's anchor order (and, for the class conv, background last).
    """
    if key.startswith(HEAD):
        layer = key[len(HEAD):].split('.')[0]
        if layer in OUTPUTS:
            if layer == 'conf_layer':
                tensor = _background_last(tensor, num_anchors)
            tensor = to_mmdet_anchor_order(tensor, perm)
    return tensor


def official_head_tensor(key: str, tensor: Tensor, num_anchors: int,
                         perm: Sequence[int]) -> Tensor:
    """An mmregion tensor in the official channel order (the inverse of
    :func:`mmregion_head_tensor`).

    Args:
        key (str): Its mmregion key.
        tensor (Tensor): Its value.
        num_anchors (int): Anchors per location.
        perm (Sequence[int]): As for :func:`mmregion_head_tensor`.

    Returns:
        Tensor: ``tensor`` unchanged, or for an output conv, its channels in
        the official anchor order (and, for the class conv, background
        first).
    """
    layer = key.split('.')[1] if key.startswith('bbox_head.') else None
    if layer in OUTPUTS.values():
        tensor = to_official_anchor_order(tensor, perm)
        if layer == 'conv_cls':
            tensor = _background_first(tensor, num_anchors)
    return tensor


def official_outputs(state_dict: Mapping[str, Tensor]) -> Tuple[int, int, int]:
    """Anchors, classes and prototypes of an official prediction head.

    Args:
        state_dict (Mapping[str, Tensor]): Official weights.

    Returns:
        tuple[int, int, int]: Anchors per location, foreground classes and
        prototypes.

    Raises:
        ValueError: If an output conv is missing or its output channels do
            not split into anchors.
    """
    for name in OUTPUTS:
        if f'{HEAD}{name}.weight' not in state_dict:
            raise ValueError(
                f'{HEAD}{name}.weight is missing: not an official YOLACT '
                f'state dict (it has {len(state_dict)} keys, e.g. '
                f'{", ".join(list(state_dict)[:_NAMED])})')
    num_anchors, rem = divmod(
        state_dict[f'{HEAD}bbox_layer.weight'].shape[0], 4)
    if rem or num_anchors % len(OFFICIAL_ASPECT_RATIOS):
        raise ValueError(
            f'{HEAD}bbox_layer has {num_anchors * 4 + rem} output channels: '
            f'not 4 per anchor with {len(OFFICIAL_ASPECT_RATIOS)} aspect '
            f'ratios per scale')
    conf = state_dict[f'{HEAD}conf_layer.weight'].shape[0]
    coeff = state_dict[f'{HEAD}mask_layer.weight'].shape[0]
    if conf % num_anchors or coeff % num_anchors:
        raise ValueError(
            f'{HEAD}conf_layer / mask_layer have {conf} / {coeff} output '
            f'channels: not a multiple of the {num_anchors} anchors of '
            f'bbox_layer')
    return num_anchors, conf // num_anchors - 1, coeff // num_anchors


def official_head_convs(state_dict: Mapping[str, Tensor]) -> int:
    """Shared convs before the output convs (``upfeature``; at least one).

    Args:
        state_dict (Mapping[str, Tensor]): Official weights.

    Returns:
        int: The conv count, up to the highest index seen.
    """
    return max(last_index(state_dict, _OFFICIAL_UPFEATURE), 0) // 2 + 1


def official_maskiou_convs(state_dict: Mapping[str, Tensor]) -> int:
    """Convs of the official re-scoring net (0 without one).

    Args:
        state_dict (Mapping[str, Tensor]): Official weights.

    Returns:
        int: The conv count, up to the highest index seen.
    """
    return (last_index(state_dict, _OFFICIAL_MASKIOU) + 2) // 2


def mmregion_maskiou_convs(state_dict: Mapping[str, Tensor]) -> int:
    """Convs of mmregion's re-scoring head (``fc_mask_iou`` included).

    Args:
        state_dict (Mapping[str, Tensor]): mmregion weights.

    Returns:
        int: The conv count (0 without re-scoring).
    """
    return len({
        m['index'] or 'last'
        for m in map(_MM_MASKIOU.match, state_dict) if m
    })


def mmregion_num_anchors(state_dict: Mapping[str, Tensor]) -> int:
    """Anchors per location of an mmregion YOLACT head.

    Args:
        state_dict (Mapping[str, Tensor]): mmregion weights.

    Returns:
        int: ``conv_reg`` output channels / 4.

    Raises:
        ValueError: If ``bbox_head.conv_reg.weight`` is missing.
    """
    if 'bbox_head.conv_reg.weight' not in state_dict:
        raise ValueError('mmregion_to_yolact: bbox_head.conv_reg.weight is '
                         'missing: not an mmregion YOLACT state dict')
    return state_dict['bbox_head.conv_reg.weight'].shape[0] // 4


def expected_head_convs(head_convs: int, maskiou_convs: int) -> List[str]:
    """The official head convs (each has a weight and a bias).

    Args:
        head_convs (int): Shared convs of the prediction head.
        maskiou_convs (int): Convs of the re-scoring net.

    Returns:
        list[str]: Conv names.
    """
    convs = [f'{HEAD}upfeature.{2 * n}' for n in range(head_convs)]
    convs += [f'{HEAD}{name}' for name in OUTPUTS]
    convs += [f'proto_net.{i}' for i in PROTONET_CONVS]
    convs.append('semantic_seg_conv')
    convs += [f'maskiou_net.maskiou_net.{2 * n}' for n in range(maskiou_convs)]
    return convs
