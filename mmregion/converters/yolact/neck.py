"""The FPN of official YOLACT ⇄ mmdet ``FPN`` / ``YOLACTFPN``.

The official FPN stores its lateral and output convs in reversed level
order (index 0 is C5 / P5); mmdet's FPN lists them from the finest level
up. ``fpn.downsample_layers.{k}`` (P6, P7) are ``neck.fpn_convs.{L+k}``.
"""
import re
from typing import List, Mapping, Optional

from torch import Tensor

from ..common import CONV_PARAM, last_index

NUM_FPN_DOWNSAMPLES = 2
"""Official ``fpn.num_downsample`` (P6, P7) of every YOLACT config."""

_OFFICIAL_FPN = re.compile(
    r'^fpn\.(?P<kind>lat_layers|pred_layers|downsample_layers)\.(?P<index>\d+)'
    rf'\.(?P<param>{CONV_PARAM})$')
_MM_FPN = re.compile(r'^neck\.(?P<kind>lateral_convs|fpn_convs)\.'
                     rf'(?P<index>\d+)\.conv\.(?P<param>{CONV_PARAM})$')


def mmregion_neck_key(key: str, num_levels: int) -> Optional[str]:
    """Official FPN name → mmregion name.

    Args:
        key (str): An official key.
        num_levels (int): FPN input levels.

    Returns:
        str | None: The mmregion key; None when ``key`` is not an FPN conv.
    """
    match = _OFFICIAL_FPN.match(key)
    if match is None:
        return None
    index = int(match['index'])
    if match['kind'] == 'lat_layers':
        kind, level = 'lateral_convs', num_levels - 1 - index
    elif match['kind'] == 'pred_layers':
        kind, level = 'fpn_convs', num_levels - 1 - index
    else:
        kind, level = 'fpn_convs', num_levels + index
    return f'neck.{kind}.{level}.conv.{match["param"]}'


def official_neck_key(key: str, num_levels: int) -> Optional[str]:
    """mmregion FPN name → official name (the inverse of
    :func:`mmregion_neck_key`).

    Args:
        key (str): An mmregion key.
        num_levels (int): FPN input levels.

    Returns:
        str | None: The official key; None when ``key`` is not an FPN conv.
    """
    match = _MM_FPN.match(key)
    if match is None:
        return None
    index = int(match['index'])
    if match['kind'] == 'lateral_convs':
        name = f'lat_layers.{num_levels - 1 - index}'
    elif index < num_levels:
        name = f'pred_layers.{num_levels - 1 - index}'
    else:
        name = f'downsample_layers.{index - num_levels}'
    return f'fpn.{name}.{match["param"]}'


def official_num_levels(state_dict: Mapping[str, Tensor]) -> int:
    """FPN input levels of an official state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Official weights.

    Returns:
        int: The highest lateral / output conv index plus one.
    """
    return last_index(state_dict, _OFFICIAL_FPN,
                      ('lat_layers', 'pred_layers')) + 1


def mmregion_num_levels(state_dict: Mapping[str, Tensor]) -> int:
    """FPN input levels of an mmregion state dict.

    Args:
        state_dict (Mapping[str, Tensor]): mmregion weights.

    Returns:
        int: The number of distinct ``neck.lateral_convs``.
    """
    return len({
        m['index']
        for m in map(_MM_FPN.match, state_dict)
        if m and m['kind'] == 'lateral_convs'
    })


def expected_neck_convs(num_levels: int) -> List[str]:
    """The official FPN convs (each has a weight and a bias).

    Args:
        num_levels (int): FPN input levels.

    Returns:
        list[str]: Conv names.
    """
    convs = [f'fpn.lat_layers.{k}' for k in range(num_levels)]
    convs += [f'fpn.pred_layers.{k}' for k in range(num_levels)]
    convs += [f'fpn.downsample_layers.{k}' for k in range(NUM_FPN_DOWNSAMPLES)]
    return convs
