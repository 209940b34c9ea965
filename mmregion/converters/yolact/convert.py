"""Official YOLACT state dicts ⇄ mmregion's, component by component.

Each key is renamed by the module of its component (:mod:`.backbone`,
:mod:`.neck`, :mod:`.heads`); the head's output convs have their channels
moved (:mod:`.anchors`), the DCN biases are folded into BatchNorms and the
missing ``num_batches_tracked`` counters added (:mod:`..common`).
"""
import warnings
from collections import Counter
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from torch import Tensor

from ..common import (
    StateDict,
    add_bn_counters,
    describe_keys,
    fold_bias_into_bn,
    unwrap_state_dict,
)
from .anchors import OFFICIAL_ASPECT_RATIOS, anchor_permutation
from .backbone import (
    dcn_bias_target,
    mmregion_backbone_key,
    official_backbone_key,
    official_dcn_bias,
)
from .heads import (
    mmregion_head_key,
    mmregion_head_tensor,
    mmregion_maskiou_convs,
    mmregion_num_anchors,
    official_head_key,
    official_head_tensor,
)
from .layout import (
    YOLACTLayout,
    check_classes,
    depth_or_unknown,
    expected_official_keys,
    inspect_official,
)
from .neck import mmregion_neck_key, mmregion_num_levels, official_neck_key


def _mmregion_key(key: str, num_levels: int,
                  maskiou_convs: int) -> Optional[str]:
    """Official name → mmregion name, tried component by component.

    Args:
        key (str): An official key.
        num_levels (int): FPN input levels.
        maskiou_convs (int): Convs of the re-scoring net.

    Returns:
        str | None: The mmregion key; None when ``key`` is not a YOLACT
        weight (a DCN ``conv2.bias`` is folded by the caller).
    """
    return (mmregion_backbone_key(key) or mmregion_neck_key(key, num_levels)
            or mmregion_head_key(key, maskiou_convs))


def _official_key(key: str, num_levels: int,
                  maskiou_convs: int) -> Optional[str]:
    """mmregion name → official name (the inverse of :func:`_mmregion_key`).

    Args:
        key (str): An mmregion key.
        num_levels (int): FPN input levels.
        maskiou_convs (int): Convs of the re-scoring net.

    Returns:
        str | None: The official key; None without an official counterpart.
    """
    return (official_backbone_key(key) or official_neck_key(key, num_levels)
            or official_head_key(key, maskiou_convs))


def _rename_official(
    state_dict: Mapping[str, Tensor], layout: YOLACTLayout,
    perm: Sequence[int]
) -> Tuple[StateDict, Counter, List[str], StateDict]:
    """Rename and reorder the tensors of an official state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Official weights.
        layout (YOLACTLayout): Their layout.
        perm (Sequence[int]): Official anchor ``d`` is mmdet anchor
            ``perm[d]``.

    Returns:
        tuple: The mmregion tensors, their count per group, the official
        keys skipped, and the DCN biases keyed by the ``bn2.running_mean``
        they fold into.
    """
    out: StateDict = {}
    converted: Counter = Counter()
    skipped: List[str] = []
    dcn_biases: StateDict = {}  # folded into these bn2 running means
    for key, tensor in state_dict.items():
        mean = dcn_bias_target(key)
        if mean is not None:
            dcn_biases[mean] = tensor
            continue
        name = _mmregion_key(key, layout.num_levels, layout.maskiou_convs)
        if name is None:
            skipped.append(key)
            continue
        out[name] = mmregion_head_tensor(key, tensor, layout.num_anchors,
                                         perm)
        converted[name.split('.')[0]] += 1
    return out, converted, skipped, dcn_biases


def _check_complete(layout: YOLACTLayout, skipped: List[str],
                    missing: List[str], strict: bool) -> None:
    """Raise (strict) or warn about skipped and missing keys.

    Args:
        layout (YOLACTLayout): The checkpoint's layout (for the message).
        skipped (list[str]): Official keys that do not convert.
        missing (list[str]): Official keys the layout needs and lacks.
        strict (bool): Raise instead of warning.

    Raises:
        ValueError: With ``strict``, naming skipped and missing keys.
    """
    if (skipped or missing) and strict:
        parts = []
        if skipped:
            parts.append(f'cannot convert {describe_keys(skipped)}')
        if missing:
            parts.append(f'missing {describe_keys(missing)}')
        raise ValueError(
            f'yolact_to_mmregion: {"; ".join(parts)} (a ResNet-'
            f'{depth_or_unknown(layout)} YOLACT'
            f'{"++" if layout.dcn_blocks else ""} with {layout.num_anchors} '
            f'anchors per location). Pass strict=False (--no-strict) to '
            f'convert the rest.')
    for note in ([f'skipped {describe_keys(skipped)}'] if skipped else []) + (
            [f'missing {describe_keys(missing)}'] if missing else []):
        warnings.warn(f'yolact_to_mmregion: {note}')


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
    state_dict = unwrap_state_dict(state_dict)
    layout = inspect_official(state_dict)
    check_classes(layout, state_dict, num_classes)
    if square_anchors is None:
        square_anchors = layout.num_scales == 1
    perm = anchor_permutation(layout.num_scales, square_anchors)
    missing = sorted(expected_official_keys(layout) - set(state_dict))
    out, converted, skipped, dcn_biases = _rename_official(
        state_dict, layout, perm)
    folded = fold_bias_into_bn(out, dcn_biases)
    _check_complete(layout, skipped, missing, strict)
    added = len(add_bn_counters(out))
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
    state_dict = unwrap_state_dict(state_dict)
    num_levels = mmregion_num_levels(state_dict)
    maskiou_convs = mmregion_maskiou_convs(state_dict)
    num_anchors = mmregion_num_anchors(state_dict)
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
        out[name] = official_head_tensor(key, tensor, num_anchors, perm)
        out.update(official_dcn_bias(key, name, state_dict))
    if unknown:
        raise ValueError(
            f'mmregion_to_yolact: no official counterpart for '
            f'{describe_keys(unknown)}')
    return out
