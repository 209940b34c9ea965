"""The ResNet of official YOLACT ⇄ mmdet ``ResNet`` / ``IntervalDCNResNet``.

``backbone.layers.{i}.{j}.*`` is ``backbone.layer{i+1}.{j}.*``; the DCN's
``conv_offset_mask`` is mmcv's ``conv_offset``, and its ``conv2.bias``
(mmdet's bottleneck has none) is folded into ``bn2``'s running mean.
"""
import re
from typing import Dict, List, Mapping, Optional, Set, Tuple

from torch import Tensor

from ..common import BN_PARAM, BN_STATS, CONV_PARAM, StateDict

RESNET_DEPTHS = {(3, 4, 6, 3): 50, (3, 4, 23, 3): 101}
"""Bottlenecks per stage → ResNet depth."""

_OFFICIAL_BLOCK = re.compile(
    r'^backbone\.layers\.(?P<stage>\d)\.(?P<block>\d+)\.(?P<rest>'
    rf'conv[123]\.weight|bn[123]\.{BN_PARAM}|downsample\.0\.weight'
    rf'|downsample\.1\.{BN_PARAM}|conv2\.bias'
    rf'|conv2\.conv_offset_mask\.{CONV_PARAM})$')
_MM_BLOCK = re.compile(
    r'^backbone\.layer(?P<stage>[1-4])\.(?P<block>\d+)\.(?P<rest>'
    rf'conv[123]\.weight|bn[123]\.{BN_PARAM}|downsample\.0\.weight'
    rf'|downsample\.1\.{BN_PARAM}|conv2\.conv_offset\.{CONV_PARAM})$')
_STEM = re.compile(rf'^backbone\.(?:conv1\.weight|bn1\.{BN_PARAM})$')


def mmregion_backbone_key(key: str) -> Optional[str]:
    """Official backbone name → mmregion name.

    Args:
        key (str): An official key.

    Returns:
        str | None: The mmregion key; None when ``key`` is not a backbone
        weight. A DCN ``conv2.bias`` is folded by the caller
        (:func:`dcn_bias_target`).
    """
    if _STEM.match(key):
        return key
    match = _OFFICIAL_BLOCK.match(key)
    if match:
        rest = match['rest'].replace('conv_offset_mask', 'conv_offset')
        return (f'backbone.layer{int(match["stage"]) + 1}.{match["block"]}.'
                f'{rest}')
    return None


def official_backbone_key(key: str) -> Optional[str]:
    """mmregion backbone name → official name (the inverse of
    :func:`mmregion_backbone_key`).

    Args:
        key (str): An mmregion key.

    Returns:
        str | None: The official key; None when ``key`` is not a backbone
        weight.
    """
    if _STEM.match(key):
        return key
    match = _MM_BLOCK.match(key)
    if match:
        rest = match['rest'].replace('conv_offset', 'conv_offset_mask')
        return (f'backbone.layers.{int(match["stage"]) - 1}.{match["block"]}.'
                f'{rest}')
    return None


def dcn_bias_target(key: str) -> Optional[str]:
    """The ``bn2.running_mean`` that an official DCN ``conv2.bias`` folds
    into.

    Args:
        key (str): An official key.

    Returns:
        str | None: The mmregion running-mean key; None when ``key`` is not
        a DCN ``conv2.bias``.
    """
    match = _OFFICIAL_BLOCK.match(key)
    if match and match['rest'] == 'conv2.bias':
        stage = int(match['stage']) + 1
        return f'backbone.layer{stage}.{match["block"]}.bn2.running_mean'
    return None


def official_dcn_bias(key: str, name: str,
                      state_dict: Mapping[str, Tensor]) -> StateDict:
    """The zero ``conv2.bias`` of the official DCN, for an exported
    ``conv_offset_mask.weight``.

    Args:
        key (str): The mmregion key just exported.
        name (str): Its official name.
        state_dict (Mapping[str, Tensor]): The mmregion state dict.

    Returns:
        dict[str, Tensor]: ``{official conv2.bias: (C,) zeros}`` when
        ``name`` is a DCN offset conv weight, else empty.
    """
    if not name.endswith('conv2.conv_offset_mask.weight'):
        return {}
    weight = state_dict[key.replace('conv_offset.weight', 'weight')]
    return {
        name.replace('conv_offset_mask.weight', 'bias'):
        weight.new_zeros(weight.shape[0])
    }


def official_blocks(
    state_dict: Mapping[str, Tensor]
) -> Tuple[Tuple[int, ...], Dict[int, List[int]]]:
    """Bottlenecks per stage and DCN blocks of an official state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Official ``Yolact`` weights.

    Returns:
        tuple: Bottlenecks per stage (up to the highest index seen) and
        stage → sorted indices of its blocks with a deformable conv2.
    """
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
    return num_blocks, {s: sorted(b) for s, b in sorted(dcn.items())}


def expected_backbone_keys(blocks: Tuple[int, ...],
                           dcn_blocks: Mapping[int, List[int]]) -> Set[str]:
    """The backbone keys an official state dict must have.

    Args:
        blocks (tuple[int]): Bottlenecks per stage.
        dcn_blocks (Mapping[int, list[int]]): Stage → its DCN blocks.

    Returns:
        set[str]: Official keys, ``num_batches_tracked`` not listed.
    """
    keys = {'backbone.conv1.weight'}
    keys |= {f'backbone.bn1.{s}' for s in BN_STATS}
    for stage, num in enumerate(blocks):
        for block in range(num):
            prefix = f'backbone.layers.{stage}.{block}.'
            keys |= {f'{prefix}conv{i}.weight' for i in (1, 2, 3)}
            keys |= {
                f'{prefix}bn{i}.{s}'
                for i in (1, 2, 3) for s in BN_STATS
            }
            if block == 0:
                keys.add(f'{prefix}downsample.0.weight')
                keys |= {f'{prefix}downsample.1.{s}' for s in BN_STATS}
            if block in dcn_blocks.get(stage, ()):
                keys.add(f'{prefix}conv2.bias')
                keys |= {f'{prefix}conv2.conv_offset_mask.{p}'
                         for p in ('weight', 'bias')}
    return keys
