"""Rounding sizes up to powers of two, to batch ragged work in few groups."""
import torch
from torch import Tensor


def round_up_pow2(sizes: Tensor, minimum: int = 1) -> Tensor:
    """Each size rounded up to a power of two, at least ``minimum``.

    Ragged items (candidate lists, mask windows) padded to the rounded size
    fall into a handful of groups, each processed as one batched tensor
    operation, while padding at most doubles each item.

    Args:
        sizes (Tensor): Integer sizes, any shape.
        minimum (int): Smallest result (a power of two).

    Returns:
        Tensor: Long tensor of the shape of ``sizes``.
    """
    exponent = torch.log2(sizes.clamp(min=minimum).float()).ceil()
    return torch.exp2(exponent).long()
