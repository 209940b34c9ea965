"""The offline RPN's backbone and neck: detectron2 R50-C4 (a ResNet) or
R50-FPN (``bottom_up.*`` ResNet + ``fpn_*`` layers) ⇄ mmdet ``ResNet`` +
``FPN``.

detectron2's FPN has ``fpn_lateral{s}`` / ``fpn_output{s}`` on res{s}, with
a ``.norm`` when FPN.NORM is set; mmdet's has ConvModules
``lateral_convs.{i}`` / ``fpn_convs.{i}``, ``.bn`` with a BN norm_cfg.
RegionCLIP's FPN reads res2..res5, so stage s is mmdet's level s - 2.
"""
import re
from typing import Optional, Tuple

from torch import Tensor

from ..common import BN_PARAM
from .backbone import detectron2_resnet_key, mmdet_resnet_key
from .state import Conversion

FPN_BACKBONE = ('offline_backbone.bottom_up.', 'offline_backbone.fpn_')
"""Official key prefixes that only an R50-FPN offline RPN has."""

_D2_FPN_KEY = re.compile(
    r'^fpn_(?P<kind>lateral|output)(?P<stage>[2-5])'
    rf'\.(?:(?P<param>weight|bias)|norm\.(?P<stat>{BN_PARAM}))$')
_MM_FPN_KEY = re.compile(
    r'^(?P<kind>lateral_convs|fpn_convs)\.(?P<level>[0-3])'
    rf'\.(?:conv\.(?P<param>weight|bias)|bn\.(?P<stat>{BN_PARAM}))$')
_FPN_KINDS = {'lateral': 'lateral_convs', 'output': 'fpn_convs'}
_FPN_FIRST_STAGE = 2


def mmdet_fpn_key(d2_key: str) -> Optional[str]:
    """detectron2 FPN name → mmdet FPN name.

    ``fpn_lateral{s}.weight`` / ``.bias`` → ``lateral_convs.{s-2}.conv.*``;
    ``fpn_lateral{s}.norm.*`` → ``lateral_convs.{s-2}.bn.*``; the same for
    ``fpn_output{s}`` → ``fpn_convs.{s-2}``.

    Args:
        d2_key (str): A key of a detectron2 ``FPN`` (without its
            ``bottom_up``).

    Returns:
        str | None: The mmdet key; None when ``d2_key`` is not an FPN
        layer's.
    """
    match = _D2_FPN_KEY.match(d2_key)
    if match is None:
        return None
    kind, stage, param, stat = match.group('kind', 'stage', 'param', 'stat')
    prefix = f'{_FPN_KINDS[kind]}.{int(stage) - _FPN_FIRST_STAGE}.'
    return prefix + (f'conv.{param}' if param else f'bn.{stat}')


def detectron2_fpn_key(mm_key: str) -> Optional[str]:
    """mmdet FPN name → detectron2 FPN name (the inverse of
    :func:`mmdet_fpn_key`).

    Args:
        mm_key (str): A key of an mmdet ``FPN``.

    Returns:
        str | None: The detectron2 key; None when ``mm_key`` is not an FPN
        name.
    """
    match = _MM_FPN_KEY.match(mm_key)
    if match is None:
        return None
    kind, level, param, stat = match.group('kind', 'level', 'param', 'stat')
    d2_kind = next(k for k, v in _FPN_KINDS.items() if v == kind)
    prefix = f'fpn_{d2_kind}{int(level) + _FPN_FIRST_STAGE}.'
    return prefix + (param if param else f'norm.{stat}')


def offline_backbone_key(name: str, fpn: bool) -> Tuple[Optional[str], str]:
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
        resnet = mmdet_resnet_key(name)
        return (f'offline_rpn.backbone.{resnet}' if resnet else None,
                'not a detectron2 ResNet weight (R50-C4 offline RPN)')
    why = ('not a detectron2 R50-FPN weight (bottom_up.* ResNet, '
           'fpn_lateral2..5, fpn_output2..5)')
    if name.startswith('bottom_up.'):
        resnet = mmdet_resnet_key(name[len('bottom_up.'):])
        return (f'offline_rpn.backbone.{resnet}' if resnet else None, why)
    neck = mmdet_fpn_key(name)
    return (f'offline_rpn.neck.{neck}' if neck else None, why)


def convert_offline_backbone(conv: Conversion, key: str, tensor: Tensor,
                             fpn: bool) -> None:
    """Convert one ``offline_backbone.*`` tensor.

    Args:
        conv (Conversion): The conversion, updated.
        key (str): The official key.
        tensor (Tensor): Its value.
        fpn (bool): Whether the offline RPN is an R50-FPN.
    """
    name, why = offline_backbone_key(key[len('offline_backbone.'):], fpn)
    if name is None:
        conv.unknown[key] = why
    else:
        conv.out[name] = tensor
        conv.converted['.'.join(name.split('.')[:2])] += 1


def official_offline_key(key: str, fpn: bool) -> Optional[str]:
    """The official key of an ``offline_rpn.backbone.*`` or
    ``offline_rpn.neck.*`` key.

    Args:
        key (str): An mmregion key under ``offline_rpn.backbone.`` or
            ``offline_rpn.neck.``.
        fpn (bool): Whether the offline RPN has an FPN (its ResNet then goes
            under ``offline_backbone.bottom_up.``).

    Returns:
        str | None: The official key; None without a counterpart (a
        ``num_batches_tracked`` counter is dropped by the caller).
    """
    if key.startswith('offline_rpn.backbone.'):
        resnet_prefix = 'offline_backbone.bottom_up.' if fpn else \
            'offline_backbone.'
        resnet = detectron2_resnet_key(key[len('offline_rpn.backbone.'):])
        return resnet and resnet_prefix + resnet
    neck = detectron2_fpn_key(key[len('offline_rpn.neck.'):])
    return neck and 'offline_backbone.' + neck
