"""ResNet with Squeeze-and-Excitation in every bottleneck."""
from typing import List, Optional, Sequence

from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS


@MODELS.register_module()
class ResNetSE(ResNet):
    """SE-ResNet: mmdet's :class:`ResNet` whose bottlenecks carry an SE layer.

    The SE layer (:class:`~mmregion.models.layers.SEPlugin`) is inserted as an
    ``after_conv3`` plugin, i.e. on the output of the third conv + norm of
    each bottleneck and before the residual addition, exactly where the SE
    paper puts it. Everything else is mmdet's ResNet, so every option of it
    (``num_stages``, ``strides``, ``dilations``, ``out_indices``, ``style``,
    ``frozen_stages``, ``norm_cfg``, ``norm_eval``, ``dcn``, further
    ``plugins``, ``with_cp``, ``zero_init_residual``, ``init_cfg``) behaves
    the same. Checkpoint keys are mmdet ResNet keys plus
    ``layerI.J.se.conv{1,2}.conv.{weight,bias}``, so an ImageNet ResNet
    checkpoint loads by key name through ``init_cfg=dict(type='Pretrained',
    checkpoint=...)``; the SE weights then keep their initialisation and the
    loader reports them as missing keys.

    Args:
        depth (int): 50, 101 or 152 (bottleneck ResNets).
        se_ratio (int): SE squeeze ratio. Defaults to 16.
        se_stages (Sequence[bool]): Stages whose blocks get an SE layer.
            Defaults to all four.
        plugins (list[dict], optional): Further plugins, as for ResNet; they
            come after the SE layer at the ``after_conv3`` position.
        **kwargs: Every other argument of mmdet's :class:`ResNet`.
    """

    def __init__(self,
                 depth: int,
                 se_ratio: int = 16,
                 se_stages: Sequence[bool] = (True, True, True, True),
                 plugins: Optional[List[dict]] = None,
                 **kwargs) -> None:
        if depth not in (50, 101, 152):
            raise ValueError(f'ResNetSE: depth must be 50, 101 or 152 '
                             f'(bottleneck ResNets), got {depth}')
        num_stages = kwargs.get('num_stages', 4)
        if len(se_stages) != num_stages:
            raise ValueError(f'ResNetSE: se_stages has {len(se_stages)} '
                             f'entries, expected num_stages={num_stages}')
        se_plugin = dict(
            cfg=dict(type='mmdet.SEPlugin', ratio=se_ratio),
            position='after_conv3',
            stages=tuple(se_stages))
        super().__init__(
            depth=depth, plugins=[se_plugin] + list(plugins or []), **kwargs)
