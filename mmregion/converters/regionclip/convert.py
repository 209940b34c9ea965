"""Official RegionCLIP state dicts ⇄ mmregion's, component by component.

Each key goes to the module of its component (:mod:`.backbone`,
:mod:`.neck`, :mod:`.rpn`, :mod:`.heads`); the pieces shared with the other
converters (anchor reordering, BatchNorm counters, key descriptions) are in
:mod:`..common`.
"""
import warnings
from collections import Counter
from typing import Any, Dict, Mapping, Optional, Sequence, Tuple

from torch import Tensor

from ..common import (
    StateDict,
    add_bn_counters,
    as_tensor,
    count_keys,
    describe_by_reason,
    is_bn_counter,
    unwrap_state_dict,
)
from .backbone import convert_clip_backbone, is_clip_backbone_key
from .heads import (
    MASK_HEAD,
    PREDICTOR,
    add_embeddings,
    convert_box_predictor,
    convert_mask_head,
    official_head_key,
)
from .neck import FPN_BACKBONE, convert_offline_backbone, official_offline_key
from .rpn import (
    CELL_ANCHORS,
    RPN_HEAD,
    anchor_permutation,
    check_cell_anchors,
    convert_rpn_head,
    official_rpn_tensor,
)
from .state import NUM_RATIOS, NUM_SIZES, NUM_SIZES_FPN, Conversion

_DROPPED_PREFIXES = ('teacher_backbone.', 'teacher_roi_heads.',
                     'lang_encoder.', CELL_ANCHORS)
# Normalisation buffers and concept pools; in configs and vocabularies.
_DROPPED_KEYS = ('pixel_mean', 'pixel_std', 'offline_pixel_mean',
                 'offline_pixel_std', 'concept_emb', 'teacher_concept_emb')


def _state_dict_of(ckpt: Mapping) -> Tuple[Mapping, Counter]:
    """The detectron2 state dict inside a checkpoint, in CLIPFastRCNN names.

    A checkpoint of the offline RPN alone (a detectron2 R-CNN/RPN with
    ``proposal_generator.*``) is renamed as RegionCLIP's ``BB_RPN_WEIGHTS``
    loading does; its other tensors are dropped.

    Args:
        ckpt (Mapping): The loaded checkpoint.

    Returns:
        tuple[Mapping, Counter]: The state dict and the dropped tensors per
        group.

    Raises:
        ValueError: If it is an mmregion state dict already.
    """
    state = unwrap_state_dict(ckpt, ('model', 'state_dict'))
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


def _convert_tensor(conv: Conversion, key: str, tensor: Tensor, fpn: bool,
                    perm: Sequence[int], num_sizes: int,
                    num_ratios: int) -> None:
    """Convert, drop or refuse one official tensor.

    Args:
        conv (Conversion): The conversion, updated.
        key (str): The official key.
        tensor (Tensor): Its value.
        fpn (bool): Whether the offline RPN is an R50-FPN.
        perm (Sequence[int]): The RPN's anchor permutation.
        num_sizes (int): Anchor sizes per cell.
        num_ratios (int): Aspect ratios per cell.

    Raises:
        ValueError: Naming the key, when the RPN's anchors do not match
            ``num_sizes`` x ``num_ratios``.
    """
    group = key.split('.', 1)[0]
    if key in _DROPPED_KEYS or key.startswith(_DROPPED_PREFIXES):
        if key.startswith(CELL_ANCHORS):
            check_cell_anchors(tensor, key, num_sizes, num_ratios)
            group = CELL_ANCHORS.rstrip('.')
        conv.dropped[group] += 1
    elif group == 'backbone':
        convert_clip_backbone(conv, key, tensor)
    elif group == 'offline_backbone':
        convert_offline_backbone(conv, key, tensor, fpn)
    elif key.startswith(RPN_HEAD):
        convert_rpn_head(conv, key, tensor, perm, num_sizes, num_ratios)
    elif key.startswith(PREDICTOR):
        convert_box_predictor(conv, key, tensor)
    elif key.startswith(MASK_HEAD):
        convert_mask_head(conv, key, tensor)
    else:
        conv.unknown[key] = 'not a RegionCLIP weight'


def _finish(conv: Conversion, strict: bool,
            perm: Sequence[int]) -> Dict[str, Any]:
    """Refuse (strict), add the offline RPN's BN counters, warn, report.

    Args:
        conv (Conversion): The finished loop's conversion.
        strict (bool): Raise on keys that do not convert.
        perm (Sequence[int]): The RPN's anchor permutation.

    Raises:
        ValueError: With ``strict``, naming the keys that do not convert.

    Returns:
        dict: ``conv.extras`` with its ``report``.
    """
    if conv.unknown and strict:
        raise ValueError(
            f'regionclip_to_mmregion: {count_keys(list(conv.unknown))} '
            f'cannot be converted: {describe_by_reason(conv.unknown)}. Pass '
            f'strict=False (--no-strict) to skip them.')
    for counter in add_bn_counters(conv.out, 'offline_rpn.'):
        part = '.'.join(counter.split('.')[:2])
        conv.added[f'{part} num_batches_tracked'] += 1
    for note in conv.notes:
        warnings.warn(note)
    extras = conv.extras
    extras['report'] = dict(
        converted=dict(conv.converted),
        added=dict(conv.added),
        dropped=dict(conv.dropped),
        skipped=conv.unknown,
        embeddings={
            name: list(extras[name].shape)
            for name in ('train_embeddings', 'test_embeddings')
            if name in extras
        },
        anchor_permutation=perm if conv.has_rpn_head else None,
        warnings=conv.notes)
    return extras


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
    fpn = any(k.startswith(FPN_BACKBONE) for k in state)
    if num_sizes is None:
        num_sizes = NUM_SIZES_FPN if fpn else NUM_SIZES
    conv = Conversion(dropped=dropped)
    perm = anchor_permutation(num_sizes, num_ratios)
    for key, value in state.items():
        tensor = as_tensor(value)
        if tensor is None:
            conv.unknown[key] = f'a {type(value).__name__}, not a tensor'
            continue
        _convert_tensor(conv, key, tensor, fpn, perm, num_sizes, num_ratios)
    return conv.out, _finish(conv, strict, perm)


def _official_name(key: str, tensor: Tensor, fpn: bool, perm: Sequence[int],
                   num_sizes: int,
                   num_ratios: int) -> Tuple[Optional[str], Tensor]:
    """The official key and tensor of an mmregion tensor.

    Args:
        key (str): The mmregion key.
        tensor (Tensor): Its value.
        fpn (bool): Whether the offline RPN has an FPN neck.
        perm (Sequence[int]): The RPN's anchor permutation.
        num_sizes (int): Anchor sizes per cell.
        num_ratios (int): Aspect ratios per cell.

    Returns:
        tuple[str | None, Tensor]: The official key (None: no counterpart)
        and the tensor in the official channel order.
    """
    if is_clip_backbone_key(key):
        return key, tensor
    if key.startswith(('offline_rpn.backbone.', 'offline_rpn.neck.')):
        return official_offline_key(key, fpn), tensor
    if key.startswith('offline_rpn.bbox_head.'):
        return official_rpn_tensor(key, tensor, perm, num_sizes, num_ratios)
    return official_head_key(key), tensor


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
    out: StateDict = {}
    unknown = []
    for key, tensor in state_dict.items():
        if is_bn_counter(key):
            continue
        name, tensor = _official_name(key, tensor, fpn, perm, num_sizes,
                                      num_ratios)
        if name is None:
            unknown.append(key)
        else:
            out[name] = tensor
    if unknown:
        raise ValueError(
            f'mmregion_to_regionclip: {count_keys(unknown)} without an '
            f'official RegionCLIP counterpart: {", ".join(unknown)}')
    add_embeddings(out, train_embeddings, test_embeddings)
    return out
