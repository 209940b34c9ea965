"""mmdet's YOLACT with BatchNorm folded into the convolutions at inference.

An opt-in for the official YOLACT configs (``--cfg-options
model.type=FoldedYOLACT``): a converted checkpoint runs faster than
dbolya/yolact on a CPU, with the official outputs to float rounding only
(the folded weights round differently; docs/parity.md measures it). In
eval mode without autograd every
conv + BN pair of the backbone runs as one convolution with folded weights
(:func:`~mmregion.models.layers.frozen_bn_folding.fold_frozen_bn`), and the
input goes channels-last, the layout oneDNN's CPU convolutions are fastest
with (the features stay channels-last through the FPN and the heads).
Training, and any call with gradients, run exactly as mmdet's ``YOLACT``;
the state dict is mmdet's.
"""
import torch
from mmdet.models.detectors import YOLACT
from mmdet.registry import MODELS
from torch import Tensor

from ..layers.frozen_bn_folding import fold_frozen_bn


@MODELS.register_module()
class FoldedYOLACT(YOLACT):
    """YOLACT whose inference folds BN and runs channels-last.

    Args:
        fold_bn (bool): Fold each conv + BN pair of the backbone at
            inference. Defaults to True.
        channels_last (bool): Make the input channels-last at inference.
            Defaults to True.
        **kwargs: mmdet's ``YOLACT`` arguments.
    """

    def __init__(self,
                 *args,
                 fold_bn: bool = True,
                 channels_last: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.folded_pairs = fold_frozen_bn(self.backbone) if fold_bn else 0
        self.channels_last = channels_last

    def extract_feat(self, batch_inputs: Tensor) -> tuple:
        """Backbone and FPN features (channels-last at inference).

        Args:
            batch_inputs (Tensor): (B, 3, H, W).

        Returns:
            tuple[Tensor]: The FPN levels, (B, C, H_l, W_l) each.
        """
        if (self.channels_last and not self.training
                and not torch.is_grad_enabled()):
            batch_inputs = batch_inputs.contiguous(
                memory_format=torch.channels_last)
        return super().extract_feat(batch_inputs)
