"""What every checkpoint converter shares.

* **Renaming tables**: regex fragments of the parameter names of
  convolutions and BatchNorms.
* **Anchor reordering**: official heads and mmdet's ``AnchorGenerator`` list
  the anchors of a location in different orders; a converter computes the
  permutation (``perm[d]``: where official anchor ``d`` sits in mmdet's
  order) and moves the per-anchor channel blocks of the output convs with
  :func:`to_mmdet_anchor_order` / :func:`to_official_anchor_order`.
* **BatchNorm handling**: ``num_batches_tracked`` counters added where a
  checkpoint lacks them, a conv bias folded into the following BatchNorm's
  running mean.
* **Validation and reports**: key lists described in one line (a few named),
  numpy values turned into tensors.
* **Checkpoint I/O**: reading through :func:`mmregion.fileio.
  load_checkpoint_file`, writing through :func:`mmregion.fileio.atomic_save`.
"""
import os.path as osp
import re
from collections import defaultdict
from typing import (
    Any,
    Collection,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np
import torch
from torch import Tensor

from ..fileio import atomic_save, load_checkpoint_file

StateDict = Dict[str, Tensor]

BN_PARAM = r'(?:weight|bias|running_mean|running_var|num_batches_tracked)'
"""Regex of the parameter / buffer names of a BatchNorm."""
BN_STATS = ('weight', 'bias', 'running_mean', 'running_var')
"""BatchNorm tensors a checkpoint must have (counters are optional)."""
CONV_PARAM = r'(?:weight|bias)'
"""Regex of the parameter names of a convolution."""
BN_COUNTER = 'num_batches_tracked'


def to_mmdet_anchor_order(tensor: Tensor, perm: Sequence[int]) -> Tensor:
    """Move the per-anchor blocks of dim 0 from the official order.

    Args:
        tensor (Tensor): (A * K, ...) output-conv weight or bias, official
            anchor ``d`` in rows ``d * K .. (d + 1) * K``.
        perm (Sequence[int]): Official anchor ``d`` is mmdet anchor
            ``perm[d]``.

    Returns:
        Tensor: (A * K, ...), mmdet anchor ``m`` in rows ``m * K ..``.
    """
    blocks = tensor.reshape(len(perm), -1, *tensor.shape[1:])
    out = torch.empty_like(blocks)
    out[list(perm)] = blocks
    return out.reshape(tensor.shape)


def to_official_anchor_order(tensor: Tensor, perm: Sequence[int]) -> Tensor:
    """Move the per-anchor blocks of dim 0 from mmdet's order (the inverse
    of :func:`to_mmdet_anchor_order`).

    Args:
        tensor (Tensor): (A * K, ...) in mmdet's anchor order.
        perm (Sequence[int]): As for :func:`to_mmdet_anchor_order`.

    Returns:
        Tensor: (A * K, ...) in the official anchor order.
    """
    blocks = tensor.reshape(len(perm), -1, *tensor.shape[1:])
    return blocks[list(perm)].reshape(tensor.shape)


def add_bn_counters(state_dict: StateDict,
                    prefix: Optional[str] = None) -> List[str]:
    """Add a zero ``num_batches_tracked`` to each BatchNorm lacking one.

    Args:
        state_dict (dict[str, Tensor]): Converted weights, changed in place;
            a BatchNorm is recognised by its ``running_var``.
        prefix (str, optional): Only BatchNorms under this prefix.

    Returns:
        list[str]: The added counter keys, in order.
    """
    added = []
    for key in list(state_dict):
        if prefix is not None and not key.startswith(prefix):
            continue
        if key.endswith('.running_var'):
            counter = key[:-len('running_var')] + BN_COUNTER
            if counter not in state_dict:
                state_dict[counter] = torch.zeros((), dtype=torch.long)
                added.append(counter)
    return added


def fold_bias_into_bn(state_dict: StateDict,
                      biases: Mapping[str, Tensor]) -> List[str]:
    """Fold conv biases into the running means of the BatchNorms after them.

    ``BN(conv(x) + b)`` equals ``BN'(conv(x))`` with ``running_mean' =
    running_mean - b``: exact in inference.

    Args:
        state_dict (dict[str, Tensor]): Converted weights, changed in place.
        biases (Mapping[str, Tensor]): ``running_mean`` key → (C,) bias;
            keys absent from ``state_dict`` are left out.

    Returns:
        list[str]: The running means changed.
    """
    folded = [mean for mean in biases if mean in state_dict]
    for mean in folded:
        state_dict[mean] = state_dict[mean] - biases[mean].to(
            state_dict[mean].dtype)
    return folded


def is_bn_counter(key: str) -> bool:
    """Whether ``key`` is a BatchNorm ``num_batches_tracked`` counter.

    Args:
        key (str): A state dict key.

    Returns:
        bool: True for ``....num_batches_tracked``.
    """
    return key.endswith(BN_COUNTER)


def as_tensor(value: Any) -> Optional[Tensor]:
    """A tensor from a tensor or a numpy array or scalar.

    Args:
        value (Any): A checkpoint value.

    Returns:
        Tensor | None: The tensor (sharing numpy's memory where it can), None
        for anything else.
    """
    if isinstance(value, Tensor):
        return value
    if isinstance(value, (np.ndarray, np.generic)):
        return torch.from_numpy(np.array(value))
    return None


def unwrap_state_dict(ckpt: Mapping,
                      wrappers: Tuple[str, ...] = ('state_dict', 'model')
                      ) -> Mapping:
    """The state dict inside a checkpoint.

    Args:
        ckpt (Mapping): A loaded checkpoint or a bare state dict.
        wrappers (tuple[str]): Keys that may hold the state dict, tried in
            order.

    Returns:
        Mapping: The first wrapper that holds a mapping, else ``ckpt``.
    """
    for wrapper in wrappers:
        if isinstance(ckpt.get(wrapper), Mapping):
            return ckpt[wrapper]
    return ckpt


def last_index(keys: Iterable[str],
               pattern: re.Pattern,
               kinds: Optional[Collection[str]] = None) -> int:
    """The highest ``index`` group among the keys that ``pattern`` matches.

    Layer counts are read as the highest index seen plus one, so that a gap
    shows up as missing keys.

    Args:
        keys (Iterable[str]): State dict keys.
        pattern (re.Pattern): With an ``index`` group (and a ``kind`` group
            when ``kinds`` is given).
        kinds (Collection[str], optional): Only matches of these kinds.

    Returns:
        int: The highest index, -1 when nothing matches.
    """
    indices = [
        int(m['index']) for m in map(pattern.match, keys)
        if m and (kinds is None or m['kind'] in kinds)
    ]
    return max(indices, default=-1)


def count_keys(keys: Sequence[str]) -> str:
    """'1 key' / 'n keys'.

    Args:
        keys (Sequence[str]): Keys.

    Returns:
        str: Their count with the noun.
    """
    return f'{len(keys)} key' + ('s' if len(keys) != 1 else '')


def describe_keys(keys: Sequence[str], named: int = 5) -> str:
    """'n keys: a, b, c, ...', the first ``named`` in sorted order.

    Args:
        keys (Sequence[str]): Keys.
        named (int): How many to name. Defaults to 5.

    Returns:
        str: The description.
    """
    more = ', ...' if len(keys) > named else ''
    return f'{count_keys(keys)}: {", ".join(sorted(keys)[:named])}{more}'


def describe_by_reason(skipped: Mapping[str, str], named: int = 3) -> str:
    """Keys grouped by reason, the first ``named`` of each named.

    Args:
        skipped (Mapping[str, str]): Key → why.
        named (int): Keys named per reason. Defaults to 3.

    Returns:
        str: ``'why (n keys: a, b, c, ...); why2 (...)'``, reasons in the
        order first seen.
    """
    by_reason = defaultdict(list)
    for key, why in skipped.items():
        by_reason[why].append(key)
    parts = []
    for why, keys in by_reason.items():
        more = ', ...' if len(keys) > named else ''
        parts.append(f'{why} ({count_keys(keys)}: '
                     f'{", ".join(keys[:named])}{more})')
    return '; '.join(parts)


def load_checkpoint_dict(path: str, model: str, expected: str) -> Mapping:
    """Read a checkpoint through :func:`mmregion.fileio.
    load_checkpoint_file` and check that it holds a dict.

    Args:
        path (str): The ``.pth`` file.
        model (str): Its model, for the messages (``'YOLACT'``).
        expected (str): What it should hold, for the messages.

    Returns:
        Mapping: The loaded checkpoint.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When it holds no dict.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{model} checkpoint {path} does not exist')
    ckpt = load_checkpoint_file(path, map_location='cpu')
    if not isinstance(ckpt, Mapping):
        raise ValueError(f'{path}: holds a {type(ckpt).__name__}, not '
                         f'{expected}')
    return ckpt


def save_converted(state_dict: StateDict, meta: Dict[str, Any],
                   dst: str) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically.

    Args:
        state_dict (dict[str, Tensor]): Converted weights.
        meta (dict): Conversion metadata (``converted_from``, ...).
        dst (str): The mmregion checkpoint; its folder is created.
    """
    atomic_save(dict(state_dict=state_dict, meta=meta), dst)


def report_header(report: Mapping[str, Any]) -> str:
    """The first line of a conversion report.

    Args:
        report (Mapping): With ``src``, ``dst`` and ``seconds``.

    Returns:
        str: ``'converted SRC -> DST in 0.12s'``.
    """
    return (f"converted {report['src']} -> {report['dst']} in "
            f"{report['seconds']:.2f}s")


def count_line(title: str, count: int, what: str) -> str:
    """One line of a conversion report's table.

    Args:
        title (str): ``'converted'``, ``'added'``...
        count (int): Tensors.
        what (str): Their group.

    Returns:
        str: ``'  converted   123  backbone'``.
    """
    return f'  {title:9s} {count:5d}  {what}'
