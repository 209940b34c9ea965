"""The offline RPN's head: detectron2 ``StandardRPNHead`` ⇄ mmdet
``RPNHead``.

detectron2's anchor generator lists a cell's anchors size-major (``for size
in sizes: for ratio in ratios``), mmdet's ``AnchorGenerator`` ratio-major,
so the RPN's per-anchor output channels are permuted
(:func:`anchor_permutation`).

detectron2's head has ``conv`` (RPN.CONV_DIMS of one entry) or
``conv.conv{k}`` (several, as in RegionCLIP's LSJ RPN); mmdet's
``rpn_conv`` or, with num_convs > 1, ConvModules ``rpn_conv.{k}.conv``.
"""
import re
from typing import List, Optional, Sequence, Tuple

import torch
from torch import Tensor

from ..common import to_mmdet_anchor_order, to_official_anchor_order
from .state import Conversion

RPN_HEAD = 'offline_proposal_generator.rpn_head.'
"""Official prefix of the offline RPN's head."""
CELL_ANCHORS = 'offline_proposal_generator.anchor_generator.'
"""Official prefix of the saved cell anchors (checked, then dropped)."""

_D2_RPN_KEY = re.compile(
    r'^(?:conv(?:\.conv(?P<index>\d+))?|(?P<out>objectness_logits|'
    r'anchor_deltas))\.(?P<param>weight|bias)$')
_MM_RPN_KEY = re.compile(
    r'^(?:rpn_conv(?:\.(?P<index>\d+)\.conv)?|(?P<out>rpn_cls|rpn_reg))'
    r'\.(?P<param>weight|bias)$')
# official ⇄ mmregion names of the RPN output layers; channels per anchor.
_RPN_OUTPUTS = {'objectness_logits': ('rpn_cls', 1),
                'anchor_deltas': ('rpn_reg', 4)}


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


def mmdet_rpn_key(d2_key: str) -> Optional[Tuple[str, int]]:
    """detectron2 StandardRPNHead name → mmdet RPNHead name.

    ``conv.*`` → ``rpn_conv.*``; ``conv.conv{k}.*`` →
    ``rpn_conv.{k}.conv.*``; ``objectness_logits.*`` → ``rpn_cls.*`` (1);
    ``anchor_deltas.*`` → ``rpn_reg.*`` (4).

    Args:
        d2_key (str): A key of the head, without its prefix.

    Returns:
        tuple[str, int] | None: The mmdet key and the output channels per
        anchor (0 for the hidden convs); None when ``d2_key`` is not a head
        weight.
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


def detectron2_rpn_key(mm_key: str) -> Optional[Tuple[str, int]]:
    """mmdet RPNHead name → detectron2 StandardRPNHead name (the inverse of
    :func:`mmdet_rpn_key`).

    Args:
        mm_key (str): A key of an mmdet ``RPNHead``.

    Returns:
        tuple[str, int] | None: The detectron2 key and the output channels
        per anchor; None when ``mm_key`` is not a head weight.
    """
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


def check_cell_anchors(anchors: Tensor, key: str, num_sizes: int,
                       num_ratios: int) -> None:
    """Check saved cell anchors are size-major for num_sizes × num_ratios.

    Args:
        anchors (Tensor): (num_sizes * num_ratios, 4) cell anchors, x1 y1
            x2 y2.
        key (str): Their key, for the messages.
        num_sizes (int): Anchor sizes per cell.
        num_ratios (int): Aspect ratios per cell.

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


def convert_rpn_head(conv: Conversion, key: str, tensor: Tensor,
                     perm: Sequence[int], num_sizes: int,
                     num_ratios: int) -> None:
    """Convert one ``offline_proposal_generator.rpn_head.*`` tensor.

    Args:
        conv (Conversion): The conversion, updated.
        key (str): The official key.
        tensor (Tensor): Its value.
        perm (Sequence[int]): :func:`anchor_permutation` of this RPN.
        num_sizes (int): Anchor sizes per cell.
        num_ratios (int): Aspect ratios per cell.

    Raises:
        ValueError: Naming the key, when an output conv's channels do not
            match the anchors.
    """
    mapped = mmdet_rpn_key(key[len(RPN_HEAD):])
    if mapped is None:
        conv.unknown[key] = 'not a detectron2 StandardRPNHead weight'
        return
    name, per_anchor = mapped
    if per_anchor:
        conv.has_rpn_head = True
        if tensor.shape[0] != len(perm) * per_anchor:
            raise ValueError(
                f'{key}: {tensor.shape[0]} output channels, expected '
                f'{len(perm) * per_anchor} ({num_sizes} sizes x '
                f'{num_ratios} ratios x {per_anchor}); pass the '
                f'numbers of anchor sizes and ratios of this RPN')
        tensor = to_mmdet_anchor_order(tensor, perm)
    conv.out[f'offline_rpn.bbox_head.{name}'] = tensor
    conv.converted['offline_rpn.bbox_head'] += 1


def official_rpn_tensor(key: str, tensor: Tensor, perm: Sequence[int],
                        num_sizes: int,
                        num_ratios: int) -> Tuple[Optional[str], Tensor]:
    """The official key and tensor of an ``offline_rpn.bbox_head.*`` key.

    Args:
        key (str): The mmregion key.
        tensor (Tensor): Its value.
        perm (Sequence[int]): :func:`anchor_permutation` of this RPN.
        num_sizes (int): Anchor sizes per cell.
        num_ratios (int): Aspect ratios per cell.

    Returns:
        tuple[str | None, Tensor]: The official key (None: no counterpart)
        and the tensor, output channels in detectron2's anchor order.

    Raises:
        ValueError: Naming the key, when an output conv's channels do not
            match the anchors.
    """
    mapped = detectron2_rpn_key(key[len('offline_rpn.bbox_head.'):])
    if mapped is None:
        return None, tensor
    name, per_anchor = RPN_HEAD + mapped[0], mapped[1]
    if per_anchor:
        if tensor.shape[0] != len(perm) * per_anchor:
            raise ValueError(
                f'{key}: {tensor.shape[0]} output channels, '
                f'expected {len(perm) * per_anchor} ({num_sizes} '
                f'sizes x {num_ratios} ratios x {per_anchor})')
        tensor = to_official_anchor_order(tensor, perm)
    return name, tensor
