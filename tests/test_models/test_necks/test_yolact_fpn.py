"""YOLACTFPN: mmdet's FPN computing what the official YOLACT FPN computes."""
import pytest
import torch
import torch.nn.functional as F
from mmdet.models.necks import FPN

from mmregion.models.necks import YOLACTFPN

ARGS = dict(
    in_channels=[4, 8, 16, 32],
    out_channels=8,
    start_level=1,
    add_extra_convs='on_output',
    num_outs=5,
    upsample_cfg=dict(mode='bilinear'))


def _official_fpn(fpn, convouts):
    """dbolya/yolact's FPN.forward (relu_pred_layers, conv downsample,
    no relu_downsample_layers) with ``fpn``'s weights: top-down sum of the
    laterals with bilinear upsampling, ReLU(pred conv) per level, P6 from
    the (activated) P5 output, P7 from P6."""
    lat = [m.conv for m in fpn.lateral_convs]
    pred = [m.conv for m in fpn.fpn_convs[:3]]
    down = [m.conv for m in fpn.fpn_convs[3:]]
    x, out = 0, [None] * 3
    for j in (2, 1, 0):
        if j < 2:
            x = F.interpolate(
                x, size=convouts[j].shape[-2:], mode='bilinear',
                align_corners=False)
        x = x + lat[j](convouts[j])
        out[j] = F.relu(pred[j](x))
    out.append(down[0](out[-1]))
    out.append(down[1](out[-1]))
    return out


def test_outputs_equal_the_official_fpn():
    torch.manual_seed(0)
    fpn = YOLACTFPN(**ARGS).eval()
    for p in fpn.parameters():
        torch.nn.init.normal_(p, std=0.3)
    inputs = [
        torch.randn(2, c, s, s)
        for c, s in zip(ARGS['in_channels'], (40, 20, 10, 5))
    ]
    outs = fpn(inputs)
    expected = _official_fpn(fpn, inputs[1:])
    assert [o.shape[-1] for o in outs] == [20, 10, 5, 3, 2]
    for out, ref in zip(outs, expected):
        assert torch.allclose(out, ref, atol=1e-5)
    assert min(o.min() for o in outs[:3]) >= 0  # ReLU on P3-P5
    assert outs[3].min() < 0 and outs[4].min() < 0  # none on P6, P7
    # mmdet's FPN with the same weights: no ReLU anywhere
    plain = FPN(**ARGS).eval()
    plain.load_state_dict(fpn.state_dict())
    assert not torch.allclose(plain(inputs)[0], outs[0])


def test_parameter_names_are_mmdets():
    assert YOLACTFPN(**ARGS).state_dict().keys() == FPN(**ARGS).state_dict(
    ).keys()


def test_output_activation_is_configurable():
    fpn = YOLACTFPN(**ARGS, output_act_cfg=dict(type='Sigmoid')).eval()
    inputs = [
        torch.randn(1, c, s, s)
        for c, s in zip(ARGS['in_channels'], (16, 8, 4, 2))
    ]
    outs = fpn(inputs)
    assert all(0 < o.min() and o.max() < 1 for o in outs[:3])
    with pytest.raises(KeyError, match='Nope'):
        YOLACTFPN(**ARGS, output_act_cfg=dict(type='Nope'))
