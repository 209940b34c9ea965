"""One MaskIoU regressor for Mask Scoring R-CNN and YOLACT++ re-scoring."""
from typing import Optional, Sequence, Union

import torch
from mmcv.cnn import Conv2d
from mmdet.models.roi_heads.mask_heads import MaskIoUHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from torch import Tensor, nn


def _per_layer(value: Union[int, Sequence[int]], n: int,
               name: str) -> list:
    """Broadcast an int to ``n`` layers or check a per-layer sequence.

    Args:
        value (int | Sequence[int]): One value for all layers or one each.
        n (int): Number of layers.
        name (str): Argument name for the error message.

    Returns:
        list: ``n`` values.
    """
    if isinstance(value, int):
        return [value] * n
    if len(value) != n:
        raise ValueError(f'{name} has {len(value)} entries but num_convs is '
                         f'{n}; give one per conv or a single int')
    return list(value)


@MODELS.register_module()
class MaskIoURescoringHead(MaskIoUHead):
    """Predict the IoU of each predicted mask with its ground truth, per class.

    The shared core of two re-scoring schemes (final score = class score x
    predicted mask IoU):

    * **Mask Scoring R-CNN** (the defaults, identical to mmdet's
      ``MaskIoUHead`` and loading its checkpoints unchanged): RoI features
      concatenated with the 2x2 max-pooled mask prediction, 4 3x3 convs (the
      last with stride 2), 2 FCs, one IoU per class, L2 loss.
    * **YOLACT++ fast mask re-scoring**: the full assembled mask alone
      (``in_channels=0``, ``mask_input='full'``), 3x3 stride-2 convs of 8, 16,
      32, 64, 128 channels without padding, then ``predictor='conv'``: a 1x1
      conv to one channel per class with ReLU and a global max pool;
      smooth-L1 loss.

    mmdet's target computation (``get_targets``), loss and
    ``predict_by_feat`` are inherited.

    Args:
        num_convs (int): Number of convs. Defaults to 4.
        num_fcs (int): Number of hidden FCs (``predictor='fc'`` only).
            Defaults to 2.
        roi_feat_size (int): Spatial size of the conv input (fc predictor).
            Defaults to 14.
        in_channels (int): Channels of the features concatenated with the
            mask; 0 for a mask-only input. Defaults to 256.
        conv_out_channels (int | Sequence[int]): Channels of each conv.
            Defaults to 256.
        conv_kernel_sizes (int | Sequence[int]): Kernel size of each conv.
            Defaults to 3.
        conv_strides (Sequence[int], optional): Stride of each conv. Defaults
            to stride 2 for the last conv and 1 otherwise (mmdet).
        conv_paddings (int | Sequence[int], optional): Padding of each conv.
            Defaults to ``kernel // 2`` (mmdet); the official YOLACT++ net
            uses 0.
        fc_out_channels (int): Width of the hidden FCs. Defaults to 1024.
        num_classes (int): One IoU per class. Defaults to 80.
        mask_input (str): ``'pooled'`` (2x2 max-pool the mask to the feature
            size) or ``'full'`` (use it as given). Defaults to ``'pooled'``.
        mask_activation (str, optional): ``'sigmoid'`` when mask predictions
            are logits (Mask R-CNN), None when they are probabilities
            (YOLACT). Defaults to ``'sigmoid'``.
        predictor (str): ``'fc'`` (flatten, FCs, linear output) or ``'conv'``
            (1x1 conv + ReLU, global max pool). Defaults to ``'fc'``.
        loss_iou (dict): IoU regression loss. Defaults to MSE, weight 0.5.
        init_cfg (dict | list[dict], optional): Initialisation config.
    """

    def __init__(self,
                 num_convs: int = 4,
                 num_fcs: int = 2,
                 roi_feat_size: int = 14,
                 in_channels: int = 256,
                 conv_out_channels: Union[int, Sequence[int]] = 256,
                 conv_kernel_sizes: Union[int, Sequence[int]] = 3,
                 conv_strides: Optional[Sequence[int]] = None,
                 conv_paddings: Union[int, Sequence[int], None] = None,
                 fc_out_channels: int = 1024,
                 num_classes: int = 80,
                 mask_input: str = 'pooled',
                 mask_activation: Optional[str] = 'sigmoid',
                 predictor: str = 'fc',
                 loss_iou: ConfigType = dict(type='MSELoss', loss_weight=0.5),
                 init_cfg: OptMultiConfig = [
                     dict(type='Kaiming', override=dict(name='convs')),
                     dict(type='Caffe2Xavier', override=dict(name='fcs')),
                     dict(
                         type='Normal',
                         std=0.01,
                         override=dict(name='fc_mask_iou'))
                 ]) -> None:
        if mask_input not in ('pooled', 'full'):
            raise ValueError(f"mask_input must be 'pooled' or 'full', got "
                             f'{mask_input!r}')
        if mask_activation not in ('sigmoid', None):
            raise ValueError(f"mask_activation must be 'sigmoid' or None, "
                             f'got {mask_activation!r}')
        if predictor not in ('fc', 'conv'):
            raise ValueError(
                f"predictor must be 'fc' or 'conv', got {predictor!r}")
        super().__init__(
            num_convs=0,
            num_fcs=0,
            in_channels=in_channels,
            fc_out_channels=fc_out_channels,
            num_classes=num_classes,
            loss_iou=loss_iou,
            init_cfg=init_cfg)
        self.mask_input = mask_input
        self.mask_activation = mask_activation
        self.predictor = predictor
        channels = _per_layer(conv_out_channels, num_convs,
                              'conv_out_channels')
        kernels = _per_layer(conv_kernel_sizes, num_convs,
                             'conv_kernel_sizes')
        strides = (
            [2 if i == num_convs - 1 else 1 for i in range(num_convs)]
            if conv_strides is None else _per_layer(
                conv_strides, num_convs, 'conv_strides'))
        paddings = ([k // 2 for k in kernels] if conv_paddings is None else
                    _per_layer(conv_paddings, num_convs, 'conv_paddings'))
        self.convs = nn.ModuleList()
        chn = in_channels + 1
        for out_chn, kernel, stride, pad in zip(channels, kernels, strides,
                                                paddings):
            self.convs.append(
                Conv2d(chn, out_chn, kernel, stride=stride, padding=pad))
            chn = out_chn
        self.fcs = nn.ModuleList()
        if predictor == 'conv':
            self.fc_mask_iou = Conv2d(chn, num_classes, 1)
            return
        size = roi_feat_size
        for kernel, stride, pad in zip(kernels, strides, paddings):
            size = (size + 2 * pad - kernel) // stride + 1
        fc_in = chn * size * size
        for _ in range(num_fcs):
            self.fcs.append(nn.Linear(fc_in, fc_out_channels))
            fc_in = fc_out_channels
        self.fc_mask_iou = nn.Linear(fc_in, num_classes)

    def forward(self, mask_feat: Optional[Tensor],
                mask_preds: Tensor) -> Tensor:
        """Predict per-class mask IoU.

        Args:
            mask_feat (Tensor, optional): (N, in_channels, S, S) features, or
                None for a mask-only head.
            mask_preds (Tensor): (N, H, W) mask logits (``'sigmoid'``) or
                probabilities.

        Returns:
            Tensor: (N, num_classes) predicted mask IoU.
        """
        masks = mask_preds.unsqueeze(1)
        if self.mask_activation == 'sigmoid':
            masks = masks.sigmoid()
        if self.mask_input == 'pooled':
            masks = self.max_pool(masks)
        x = masks if mask_feat is None else torch.cat((mask_feat, masks), 1)
        for conv in self.convs:
            x = self.relu(conv(x))
        if self.predictor == 'conv':
            return self.relu(self.fc_mask_iou(x)).amax(dim=(2, 3))
        x = x.flatten(1)
        for fc in self.fcs:
            x = self.relu(fc(x))
        return self.fc_mask_iou(x)
