"""ResNet with deformable convs in every n-th block (YOLACT++)."""
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch import nn


@MODELS.register_module()
class IntervalDCNResNet(ResNet):
    """mmdet's ResNet with DCN in blocks 0, n, 2n, ... of the DCN stages.

    mmdet's ``dcn`` + ``stage_with_dcn`` put a deformable conv in *every*
    bottleneck of a stage. YOLACT++ (``ResNet*_DCN_Interval3``) uses one in
    every third block: block ``i`` of a DCN stage gets it when
    ``i % dcn_interval == 0`` (R50 with stages res3-res5: blocks 0 and 3 of
    res3 and res4, block 0 of res5). Every other option is mmdet's ResNet.

    Args:
        dcn_interval (int): Interval between DCN blocks. Defaults to 3;
            1 is mmdet's behaviour.
        **kwargs: Arguments of mmdet's :class:`ResNet` (``dcn``,
            ``stage_with_dcn``, ...).
    """

    def __init__(self, dcn_interval: int = 3, **kwargs) -> None:
        if dcn_interval < 1:
            raise ValueError(
                f'IntervalDCNResNet: dcn_interval must be >= 1, got '
                f'{dcn_interval}')
        self.dcn_interval = dcn_interval
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> nn.Sequential:
        """Build a stage; blocks off the interval get a plain 3x3 conv.

        Args:
            **kwargs: ResLayer arguments from mmdet's ResNet.

        Returns:
            nn.Sequential: The stage.
        """
        layer = super().make_res_layer(**kwargs)
        if kwargs.get('dcn') is None or self.dcn_interval == 1:
            return layer
        plain = super().make_res_layer(**dict(kwargs, dcn=None))
        for i in range(len(layer)):
            if i % self.dcn_interval:
                layer[i] = plain[i]
        return layer
