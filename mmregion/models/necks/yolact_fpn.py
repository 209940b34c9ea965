"""The FPN of dbolya/yolact: ReLU on the outputs of the backbone levels."""
from mmcv.cnn import ConvModule
from mmdet.models.necks import FPN
from mmdet.registry import MODELS
from mmdet.utils import ConfigType


@MODELS.register_module()
class YOLACTFPN(FPN):
    """mmdet's FPN with an activation after the output convs of the backbone
    levels, as the official YOLACT FPN (``relu_pred_layers=True``).

    With ``add_extra_convs='on_output'`` the extra levels are the official
    ``downsample_layers``: P6 is a 3x3 stride-2 conv on the *activated* P5
    output and P7 one on P6, neither activated (official
    ``relu_downsample_layers=False``). mmdet's own YOLACT config builds P6
    from C5 (``'on_input'``) and activates nothing. Parameter names are
    mmdet's (``lateral_convs.{i}.conv``, ``fpn_convs.{i}.conv``), so FPN
    weights load unchanged.

    Args:
        output_act_cfg (dict): Activation after the output convs of the
            backbone levels. Defaults to ReLU.
        **kwargs: Arguments of :class:`mmdet.models.necks.FPN`.
    """

    def __init__(self,
                 *args,
                 output_act_cfg: ConfigType = dict(type='ReLU'),
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for i in range(self.backbone_end_level - self.start_level):
            self.fpn_convs[i] = ConvModule(
                self.out_channels,
                self.out_channels,
                3,
                padding=1,
                conv_cfg=kwargs.get('conv_cfg'),
                norm_cfg=kwargs.get('norm_cfg'),
                act_cfg=output_act_cfg,
                inplace=False)
