"""Backbones of official RegionCLIP: the CLIP ModifiedResNet (same names in
both) and the detectron2 ResNet of the offline RPN ⇄ mmdet ``ResNet``."""
import re
from typing import Optional

from torch import Tensor

from ..common import BN_PARAM
from .state import Conversion

_CLIP_RESNET_KEY = re.compile(
    rf'^(?:conv[123]\.weight|bn[123]\.{BN_PARAM}'
    rf'|layer[1-4]\.\d+\.(?:conv[123]\.weight|bn[123]\.{BN_PARAM}'
    rf'|downsample\.0\.weight|downsample\.1\.{BN_PARAM})'
    rf'|attnpool\.(?:positional_embedding|[qkvc]_proj\.(?:weight|bias)))$')
_D2_RESNET_KEY = re.compile(
    r'^(?:stem\.conv1|res(?P<stage>[2-5])\.(?P<block>\d+)\.'
    r'(?P<module>conv[123]|shortcut))'
    rf'\.(?:weight|norm\.(?P<stat>{BN_PARAM}))$')
_MM_RESNET_KEY = re.compile(
    r'^(?:(?P<stem>conv1|bn1)|layer(?P<layer>[1-4])\.(?P<block>\d+)\.'
    r'(?P<module>conv[123]|bn[123]|downsample\.[01]))'
    rf'\.(?P<param>{BN_PARAM})$')


def mmdet_resnet_key(d2_key: str) -> Optional[str]:
    """detectron2 ResNet name → mmdet ResNet name.

    ``stem.conv1.weight`` → ``conv1.weight``; ``stem.conv1.norm.*`` →
    ``bn1.*``; ``res{s}.{b}.conv{j}.weight`` → ``layer{s-1}.{b}.conv{j}.
    weight``; ``res{s}.{b}.conv{j}.norm.*`` → ``layer{s-1}.{b}.bn{j}.*``;
    ``res{s}.{b}.shortcut.weight`` / ``.norm.*`` → ``layer{s-1}.{b}.
    downsample.0.weight`` / ``downsample.1.*``.

    Args:
        d2_key (str): A key of a detectron2 ``ResNet``.

    Returns:
        str | None: The mmdet key; None when ``d2_key`` is not a ResNet
        weight.
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


def detectron2_resnet_key(mm_key: str) -> Optional[str]:
    """mmdet ResNet name → detectron2 ResNet name (the inverse of
    :func:`mmdet_resnet_key`).

    Args:
        mm_key (str): A key of an mmdet ``ResNet``.

    Returns:
        str | None: The detectron2 key; None when ``mm_key`` is not a
        ResNet name, or a convolution parameter other than ``weight``.
    """
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


def convert_clip_backbone(conv: Conversion, key: str, tensor: Tensor) -> None:
    """Convert one ``backbone.*`` tensor (CLIP ModifiedResNet).

    Its ``num_batches_tracked`` counters are dropped (frozen BN).

    Args:
        conv (Conversion): The conversion, updated.
        key (str): The official key.
        tensor (Tensor): Its value.
    """
    name = key[len('backbone.'):]
    if not _CLIP_RESNET_KEY.match(name):
        conv.unknown[key] = 'not a CLIP ModifiedResNet weight'
    elif name.endswith('num_batches_tracked'):
        conv.dropped['backbone num_batches_tracked (frozen BN)'] += 1
    else:
        conv.out[key] = tensor
        conv.converted['backbone'] += 1


def is_clip_backbone_key(key: str) -> bool:
    """Whether an mmregion key is a CLIP ModifiedResNet weight.

    Args:
        key (str): An mmregion key.

    Returns:
        bool: True for ``backbone.*`` weights of the CLIP ResNet (exported
        under the same name).
    """
    return key.startswith('backbone.') and bool(
        _CLIP_RESNET_KEY.match(key[len('backbone.'):]))
