"""Squeeze-and-Excitation as an mmcv plugin layer."""
from typing import Optional, Sequence, Union

from mmdet.models.layers.se_layer import SELayer
from mmdet.registry import MODELS


@MODELS.register_module()
class SEPlugin(SELayer):
    """mmdet's :class:`SELayer` with the plugin interface of mmcv.

    mmcv's ``build_plugin_layer`` passes ``in_channels``; mmdet's ``SELayer``
    takes ``channels`` and is not registered. This subclass bridges the two so
    that an SE layer can sit at any plugin position of mmdet's ``Bottleneck``.
    The layer computes ``x * sigmoid(fc2(relu(fc1(avgpool(x)))))`` with the
    two FCs as 1x1 convs (``conv1``: C → C/ratio, ``conv2``: C/ratio → C).

    Args:
        in_channels (int): Channels C of the input (and output).
        ratio (int): Squeeze ratio; the hidden width is ``int(C / ratio)``.
            Defaults to 16.
        act_cfg (dict | Sequence[dict]): Activations after the two FCs.
            Defaults to ``(ReLU, Sigmoid)`` as in the SE paper.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """
    _abbr_ = 'se'

    def __init__(self,
                 in_channels: int,
                 ratio: int = 16,
                 act_cfg: Union[dict, Sequence[dict]] = (dict(type='ReLU'),
                                                         dict(type='Sigmoid')),
                 init_cfg: Optional[dict] = None) -> None:
        if int(in_channels / ratio) < 1:
            raise ValueError(f'SEPlugin: in_channels={in_channels} with '
                             f'ratio={ratio} leaves no hidden channel; use a '
                             f'ratio <= {in_channels}')
        super().__init__(
            channels=in_channels, ratio=ratio, act_cfg=act_cfg,
            init_cfg=init_cfg)
