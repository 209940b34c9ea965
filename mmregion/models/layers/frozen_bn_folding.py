"""Fold frozen or eval-mode BatchNorm into the preceding convolution.

A frozen BN (or an ``nn.BatchNorm2d`` in eval mode, which normalises with
its running statistics) is an affine map per channel, ``y = x * s + t``
with ``s = weight / sqrt(running_var + eps)`` and ``t = bias -
running_mean * s``; after a convolution it equals one convolution with
weight ``W * s`` and bias ``t`` (+ ``b * s``). open_clip's
``FrozenBatchNorm2d`` runs it as a separate multiply and add over the
whole map, which costs about as much as a cheap convolution on a CPU;
``nn.BatchNorm2d`` (mmdet's ResNet) is cheaper, but still a pass over
every feature map.

:func:`fold_frozen_bn` pairs each ``Conv2d`` with the frozen BN that follows
it (``convK``/``bnK`` siblings, or consecutive children of a
``Sequential``) and changes the two modules' classes, keeping their
parameters, buffers and state-dict keys. Folding happens only in eval mode
(the BN's too) without autograd (``torch.no_grad`` / ``inference_mode``):
then the
convolution uses the folded weights (computed once and recomputed when a
weight or statistic changes: load, ``.to()``; stored channels-last, the
layout oneDNN's CPU convolutions are fastest with, so a channels-last input
stays channels-last) and the BN passes its input through. In train mode, or
with gradients enabled, both run as before.
"""
from typing import Optional, Tuple

import torch
from open_clip.utils import FrozenBatchNorm2d
from torch import Tensor, nn


def folding_active(conv: nn.Conv2d) -> bool:
    """Whether folded weights are used: eval mode without autograd.

    Args:
        conv (nn.Conv2d): A convolution paired by :func:`fold_frozen_bn`.

    Returns:
        bool: True in eval mode (the convolution's and its BN's) with
        gradients disabled.
    """
    bn = conv._fold_bn
    return (not conv.training and not torch.is_grad_enabled()
            and (bn is None or not bn.training))


class FoldingConv2d(nn.Conv2d):
    """A ``Conv2d`` that applies its frozen BN itself at inference."""

    _fold_bn: Optional['FoldedFrozenBatchNorm2d'] = None
    _fold_cache: Optional[Tuple[tuple, Tensor, Tensor]] = None

    def _folded(self) -> Tuple[Tensor, Tensor]:
        bn = self._fold_bn
        tensors = (self.weight, bn.weight, bn.bias, bn.running_mean,
                   bn.running_var) + (
                       (self.bias, ) if self.bias is not None else ())
        key = tuple((t._version, t.data_ptr(), t.dtype) for t in tensors)
        if self._fold_cache is None or self._fold_cache[0] != key:
            scale = bn.weight * (bn.running_var + bn.eps).rsqrt()
            shift = bn.bias - bn.running_mean * scale
            if self.bias is not None:
                shift = shift + self.bias * scale
            weight = (self.weight * scale.reshape(-1, 1, 1, 1)).contiguous(
                memory_format=torch.channels_last)
            self._fold_cache = (key, weight, shift)
        return self._fold_cache[1], self._fold_cache[2]

    def forward(self, x: Tensor) -> Tensor:
        """Convolution (+ the folded BN in eval mode without autograd).

        Args:
            x (Tensor): (B, C_in, H, W).

        Returns:
            Tensor: (B, C_out, H', W').
        """
        if self._fold_bn is None or not folding_active(self):
            return super().forward(x)
        weight, bias = self._folded()
        return self._conv_forward(x, weight, bias)


class _FoldedNorm:
    """Mixin: the BN is the identity while its convolution applies it."""

    _fold_conv: Optional[FoldingConv2d] = None

    def forward(self, x: Tensor) -> Tensor:
        """The BN, or ``x`` itself when folded.

        Args:
            x (Tensor): (B, C, H, W).

        Returns:
            Tensor: Same shape.
        """
        if self._fold_conv is not None and folding_active(self._fold_conv):
            return x
        return super().forward(x)


class FoldedFrozenBatchNorm2d(_FoldedNorm, FrozenBatchNorm2d):
    """open_clip's ``FrozenBatchNorm2d``; the identity when its convolution
    has folded it in (eval mode without autograd)."""


class FoldedBatchNorm2d(_FoldedNorm, nn.BatchNorm2d):
    """``nn.BatchNorm2d``; the identity when its convolution has folded it
    in (eval mode, the BN's included, without autograd)."""


#: BN classes that fold, and the class each becomes.
_FOLDED = {
    FrozenBatchNorm2d: FoldedFrozenBatchNorm2d,
    nn.BatchNorm2d: FoldedBatchNorm2d,
}


def _foldable(bn: nn.Module) -> bool:
    if type(bn) not in _FOLDED:
        return False
    if isinstance(bn, nn.BatchNorm2d):
        # without running statistics eval mode normalises by the batch
        return bn.affine and bn.track_running_stats
    return True


def _pair(conv: nn.Module, bn: nn.Module) -> bool:
    if type(conv) is not nn.Conv2d or not _foldable(bn):
        return False
    if conv.out_channels != bn.num_features:
        return False
    conv.__class__ = FoldingConv2d
    bn.__class__ = _FOLDED[type(bn)]
    # plain attributes, not submodules: the state dict stays as it is
    object.__setattr__(conv, '_fold_bn', bn)
    object.__setattr__(bn, '_fold_conv', conv)
    return True


def fold_frozen_bn(module: nn.Module) -> int:
    """Pair every convolution with the frozen BN right after it.

    Pairs are ``convK`` / ``bnK`` children of one module (open_clip's and
    mmdet's stem and ``Bottleneck``) and consecutive children of an
    ``nn.Sequential`` (their ``downsample``); the forward order must be conv
    then BN, as in open_clip's ``ModifiedResNet`` and mmdet's ``ResNet``
    (not ``ResNetV1d``'s average-pool shortcut, which has no such pair).
    The BN is open_clip's ``FrozenBatchNorm2d`` or an affine
    ``nn.BatchNorm2d`` with running statistics (folded only while it is in
    eval mode).

    Args:
        module (nn.Module): A network with such BN layers.

    Returns:
        int: The number of pairs.
    """
    count = 0
    for parent in module.modules():
        children = dict(parent.named_children())
        if isinstance(parent, nn.Sequential):
            items = list(children.values())
            count += sum(_pair(a, b) for a, b in zip(items[:-1], items[1:]))
            continue
        for name, child in children.items():
            if name.startswith('conv') and name[4:].isdigit():
                bn = children.get(f'bn{name[4:]}')
                count += bn is not None and _pair(child, bn)
    return count
