"""ContiguousDCNv2: mmcv's DCNv2 is wrong on channels-last CPU inputs."""
import torch
from mmcv.cnn import build_conv_layer
from mmcv.ops import ModulatedDeformConv2dPack

from mmregion.models.layers import ContiguousDCNv2


def _layers():
    torch.manual_seed(0)
    ref = ModulatedDeformConv2dPack(16, 16, 3, padding=1).eval()
    torch.nn.init.normal_(ref.conv_offset.weight, std=0.1)
    ours = build_conv_layer(dict(type='ContiguousDCNv2'), 16, 16, 3,
                            padding=1).eval()
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def test_mmcv_dcnv2_reads_channels_last_as_nchw():
    """The bug: same input, two layouts, different outputs."""
    ref, _ = _layers()
    x = torch.randn(1, 16, 20, 20)
    with torch.no_grad():
        nchw = ref(x)
        nhwc = ref(x.contiguous(memory_format=torch.channels_last))
    assert float((nchw - nhwc).abs().max()) > 0.1 * float(nchw.abs().max())


def test_contiguous_dcnv2_is_layout_independent():
    ref, ours = _layers()
    assert isinstance(ours, ContiguousDCNv2)
    assert list(ours.state_dict()) == list(ref.state_dict())
    x = torch.randn(1, 16, 20, 20)
    with torch.no_grad():
        expected = ref(x)
        out = ours(x.contiguous(memory_format=torch.channels_last))
    assert torch.equal(out, expected)
