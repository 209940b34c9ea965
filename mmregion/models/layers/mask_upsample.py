"""Upsample cropped masks only where they can be non-zero."""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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


def upsample_cropped_masks(masks: Tensor, bounds: Tensor,
                           size: Tuple[int, int], thr: float) -> Tensor:
    """``F.interpolate(masks, size, 'bilinear') > thr`` for cropped masks.

    A mask that is zero outside its crop window (columns ``[x1, x2)``, rows
    ``[y1, y2)``) interpolates to exactly zero wherever both source
    neighbours lie outside that window, and ``0 > thr`` is False for
    ``thr >= 0``. So only each mask's footprint in the output is computed,
    with the same sample positions and weights as PyTorch's bilinear kernel;
    results equal full upsampling up to float rounding at the threshold.

    Args:
        masks (Tensor): (N, h, w) masks, zero outside their windows.
        bounds (Tensor): (N, 4) integer windows ``x1, y1, x2, y2`` (end
            exclusive) in mask pixels.
        size (tuple[int, int]): Output (H, W).
        thr (float): Threshold (>= 0 for the shortcut; a negative one falls
            back to full upsampling).

    Returns:
        Tensor: (N, H, W) bool.
    """
    n, h, w = masks.shape
    if n == 0:
        return masks.new_zeros((0, ) + tuple(size), dtype=torch.bool)
    if thr < 0:
        return F.interpolate(
            masks[None], size, mode='bilinear', align_corners=False)[0] > thr
    y0, y1, wy0, wy1 = _linear_axis(h, size[0], masks.device)
    x0, x1, wx0, wx1 = _linear_axis(w, size[1], masks.device)
    # output pixels with a source neighbour inside the window
    col_a = torch.searchsorted(x1, bounds[:, 0].contiguous())
    col_b = torch.searchsorted(x0, bounds[:, 2].contiguous())
    row_a = torch.searchsorted(y1, bounds[:, 1].contiguous())
    row_b = torch.searchsorted(y0, bounds[:, 3].contiguous())
    out = masks.new_zeros((n, ) + tuple(size), dtype=torch.bool)
    windows = torch.stack([row_a, row_b, col_a, col_b], 1).tolist()
    for i, (ra, rb, ca, cb) in enumerate(windows):
        if rb <= ra or cb <= ca:
            continue
        top = masks[i].index_select(0, y0[ra:rb])
        bottom = masks[i].index_select(0, y1[ra:rb])
        xa, xb, a, b = x0[ca:cb], x1[ca:cb], wx0[ca:cb], wx1[ca:cb]
        top = top[:, xa] * a + top[:, xb] * b
        bottom = bottom[:, xa] * a + bottom[:, xb] * b
        out[i, ra:rb, ca:cb] = (top * wy0[ra:rb, None] +
                                bottom * wy1[ra:rb, None]) > thr
    return out
