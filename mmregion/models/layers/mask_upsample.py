"""Upsample cropped masks only where they can be non-zero."""
from typing import List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from .size_groups import round_up_pow2


def _linear_axis(n_in: int, n_out: int,
                 device: torch.device) -> Tuple[Tensor, ...]:
    """Source indices and weights of 1-D linear resizing (half-pixel
    centres, ``align_corners=False``), computed as PyTorch's kernel does.

    Args:
        n_in (int): Input length.
        n_out (int): Output length.
        device (torch.device): Device of the results.

    Returns:
        tuple[Tensor, ...]: ``i0``, ``i1`` (n_out,) long source indices and
        ``w0``, ``w1`` (n_out,) float32 weights.
    """
    scale = torch.tensor(n_in, dtype=torch.float32) / n_out
    src = scale * (torch.arange(n_out, dtype=torch.float32) + 0.5) - 0.5
    src = src.clamp(min=0)
    i0 = src.long()
    i1 = (i0 + 1).clamp(max=n_in - 1)
    w1 = (src - i0).clamp(0, 1)
    return (i0.to(device), i1.to(device), (1 - w1).to(device),
            w1.to(device))


def upsample_cropped_masks(
        masks: Tensor,
        bounds: Tensor,
        size: Tuple[int, int],
        thr: float,
        index: Optional[Tensor] = None,
        splits: Optional[List[int]] = None) -> Union[Tensor, List[Tensor]]:
    """``F.interpolate(masks, size, 'bilinear') > thr`` for cropped masks.

    A mask that is zero outside its crop window (columns ``[x1, x2)``, rows
    ``[y1, y2)``) interpolates to exactly zero wherever both source
    neighbours lie outside that window, and ``0 > thr`` is False for
    ``thr >= 0``. So only each mask's footprint in the output is computed,
    with the same sample positions and weights as PyTorch's bilinear kernel;
    results equal full upsampling up to float rounding at the threshold.

    Windows are grouped by their output extent rounded up to powers of two,
    and each group is interpolated with one set of tensor operations, so the
    cost is a handful of operations per group, not per mask.

    Args:
        masks (Tensor): (S, h, w) masks, zero outside their windows.
        bounds (Tensor): (N, 4) integer windows ``x1, y1, x2, y2`` (end
            exclusive) in mask pixels.
        size (tuple[int, int]): Output (H, W).
        thr (float): Threshold (>= 0 for the shortcut; a negative one falls
            back to full upsampling).
        index (Tensor, optional): (N,) the masks to upsample (e.g. the valid
            instances of a padded batch viewed as ``(B * M, h, w)``); all
            ``S`` masks, ``N = S``, if None.
        splits (list[int], optional): Return the N masks as separate
            tensors of these lengths (e.g. one per image). Each is allocated
            on its own: a single output for a whole batch is one large
            allocation that the memory allocator does not reuse, and zeroing
            fresh pages costs more than the interpolation.

    Returns:
        Tensor | list[Tensor]: (N, H, W) bool, or the list of
        (splits[i], H, W) bool tensors.
    """
    if index is None:
        index = torch.arange(len(masks), device=masks.device)
    lengths = [len(index)] if splits is None else list(splits)
    if bounds.shape != (len(index), 4):
        raise ValueError(f'bounds must be ({len(index)}, 4), one window per '
                         f'upsampled mask, got {tuple(bounds.shape)}')
    if sum(lengths) != len(index) or min(lengths, default=0) < 0:
        raise ValueError(f'splits {lengths} must be non-negative and sum to '
                         f'the {len(index)} upsampled masks')
    if thr < 0:
        full = F.interpolate(
            masks[index][None], size, mode='bilinear',
            align_corners=False)[0] > thr
        return full if splits is None else list(full.split(lengths))
    outs = [
        masks.new_zeros((n, ) + tuple(size), dtype=torch.bool)
        for n in lengths
    ]
    if len(index):
        _fill(outs, masks, bounds, index, size, thr)
    return outs[0] if splits is None else outs


def _fill(outs: List[Tensor], masks: Tensor, bounds: Tensor, index: Tensor,
          size: Tuple[int, int], thr: float) -> None:
    """Write the windows of :func:`upsample_cropped_masks` into ``outs``.

    Args:
        outs (list[Tensor]): Zeroed (n_j, H, W) bool outputs, in order.
        masks (Tensor): (S, h, w) source masks.
        bounds (Tensor): (N, 4) windows, N = sum of n_j.
        index (Tensor): (N,) indices of the source masks.
        size (tuple[int, int]): Output (H, W).
        thr (float): Threshold (>= 0).
    """
    h, w = masks.shape[1:]
    y0, y1, wy0, wy1 = _linear_axis(h, size[0], masks.device)
    x0, x1, wx0, wx1 = _linear_axis(w, size[1], masks.device)
    # output pixels with a source neighbour inside the window
    starts = torch.stack([
        torch.searchsorted(y1, bounds[:, 1].contiguous()),
        torch.searchsorted(x1, bounds[:, 0].contiguous())
    ], 1)
    ends = torch.stack([
        torch.searchsorted(y0, bounds[:, 3].contiguous()),
        torch.searchsorted(x0, bounds[:, 2].contiguous())
    ], 1)
    extent = ends - starts  # (N, 2) rows, cols
    # padded window shapes: powers of two, at most the output size
    padded = torch.minimum(round_up_pow2(extent), extent.new_tensor(size))
    keys = torch.where((extent > 0).all(1),
                       padded[:, 0] * (size[1] + 1) + padded[:, 1], -1)
    lengths = torch.tensor([len(out) for out in outs], device=masks.device)
    owner = torch.repeat_interleave(
        torch.arange(len(outs), device=masks.device), lengths)
    position = torch.arange(len(index), device=masks.device) - (
        lengths.cumsum(0) - lengths)[owner]
    for key in keys.unique().tolist():
        if key < 0:
            continue
        group = (keys == key).nonzero().squeeze(1)
        target, value = _interpolate_windows(
            masks, index[group], starts[group], ends[group],
            divmod(key, size[1] + 1), (y0, y1, wy0, wy1),
            (x0, x1, wx0, wx1))
        target = target + (position[group] * (size[0] * size[1]))[:, None,
                                                                   None]
        value = value > thr
        group_owner = owner[group]
        for j in group_owner.unique().tolist():
            mine = group_owner == j
            # index_put_ rather than put_: the latter refuses to run under
            # torch.use_deterministic_algorithms (mmengine's
            # ``randomness=dict(deterministic=True)``)
            outs[j].view(-1).index_put_((target[mine], ), value[mine])


def _interpolate_windows(masks: Tensor, source: Tensor, starts: Tensor,
                         ends: Tensor, shape: Tuple[int, int],
                         rows_axis: tuple, cols_axis: tuple) -> tuple:
    """Interpolate the windows of a group of masks padded to one shape.

    Positions past a window's end are clamped to its last row or column, so
    they recompute the value of that pixel: the padding costs time, never a
    wrong pixel.

    Args:
        masks (Tensor): (S, h, w) source masks.
        source (Tensor): (G,) indices of the group's masks in ``masks``.
        starts (Tensor): (G, 2) first output row and column of each window.
        ends (Tensor): (G, 2) end (exclusive) row and column.
        shape (tuple[int, int]): Padded (rows, cols) of the group.
        rows_axis (tuple): ``i0, i1, w0, w1`` of the rows
            (see :func:`_linear_axis`).
        cols_axis (tuple): The same for the columns.

    Returns:
        tuple[Tensor, Tensor]: (G, rows, cols) flat pixel indices within one
        (H, W) output mask, and the interpolated values.
    """
    h, w = masks.shape[1:]
    y0, y1, wy0, wy1 = rows_axis
    x0, x1, wx0, wx1 = cols_axis
    offsets = [torch.arange(k, device=masks.device) for k in shape]
    r = torch.minimum(starts[:, :1] + offsets[0], ends[:, :1] - 1)[:, :, None]
    c = torch.minimum(starts[:, 1:] + offsets[1], ends[:, 1:] - 1)[:, None]
    base = (source * (h * w))[:, None, None]
    flat = masks.reshape(-1)
    top_row, bottom_row = base + y0.take(r) * w, base + y1.take(r) * w
    left, right, a, b = x0.take(c), x1.take(c), wx0.take(c), wx1.take(c)
    top = flat.take(top_row + left) * a + flat.take(top_row + right) * b
    bottom = (flat.take(bottom_row + left) * a +
              flat.take(bottom_row + right) * b)
    value = top * wy0.take(r) + bottom * wy1.take(r)
    return r * len(x0) + c, value
