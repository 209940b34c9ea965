"""mmcv's DCNv2 with its input made contiguous first.

mmcv 2.1's CPU ``modulated_deform_conv2d`` reads a channels-last input as
if it were laid out NCHW and returns wrong values without an error (up to
1.3 on a unit-scale map, ``tests/test_models/test_layers/
test_contiguous_dcn.py``). A channels-last feature map reaches the DCN
whenever the network before it runs channels-last, as
:class:`~mmregion.models.detectors.FoldedYOLACT` does at inference.
``ContiguousDCNv2`` is mmcv's ``DCNv2`` (``ModulatedDeformConv2dPack``:
same parameters, state dict and version upgrade) that hands it a
contiguous input. It is registered in mmengine's root registry, where
``mmcv.cnn.build_conv_layer`` looks ``dcn=dict(type=...)`` up.
"""
from mmcv.ops import ModulatedDeformConv2dPack
from mmengine.registry import MODELS
from torch import Tensor


@MODELS.register_module('ContiguousDCNv2')
class ContiguousDCNv2(ModulatedDeformConv2dPack):
    """``DCNv2`` that makes its input contiguous (NCHW) first."""

    def forward(self, x: Tensor) -> Tensor:
        """The modulated deformable convolution of ``x``.

        Args:
            x (Tensor): (B, C_in, H, W), any memory format.

        Returns:
            Tensor: (B, C_out, H', W'), contiguous.
        """
        return super().forward(x.contiguous())
