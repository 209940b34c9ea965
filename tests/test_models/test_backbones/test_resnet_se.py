import pytest
import torch
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from mmregion.models import ResNetSE, SEPlugin


def _tiny(**kwargs):
    cfg = dict(type='ResNetSE', depth=50, base_channels=8)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def test_output_shapes_and_se_everywhere():
    model = _tiny()
    model.init_weights()
    feats = model(torch.rand(2, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == [(2, 32, 16, 16),
                                              (2, 64, 8, 8), (2, 128, 4, 4),
                                              (2, 256, 2, 2)]
    blocks = [b for layer in (model.layer1, model.layer2, model.layer3,
                              model.layer4) for b in layer]
    assert len(blocks) == 3 + 4 + 6 + 3
    for block in blocks:
        assert isinstance(block.se, SEPlugin)
        assert block.after_conv3_plugin_names[0] == 'se'
        c = block.conv3.out_channels
        assert block.se.conv1.conv.weight.shape == (c // 16, c, 1, 1)


@pytest.mark.parametrize('depth,blocks', [(101, (3, 4, 23, 3)),
                                          (152, (3, 8, 36, 3))])
def test_depths(depth, blocks):
    model = ResNetSE(depth=depth, base_channels=4, se_ratio=4)
    assert tuple(len(getattr(model, f'layer{i}')) for i in range(1, 5)) == \
        blocks


def test_bad_depth_and_se_stages():
    with pytest.raises(ValueError, match='depth must be 50, 101 or 152'):
        ResNetSE(depth=18)
    with pytest.raises(ValueError, match='se_stages has 4 entries'):
        ResNetSE(depth=50, num_stages=3, out_indices=(0, 1, 2))
    with pytest.raises(ValueError, match='leaves no hidden channel'):
        SEPlugin(in_channels=8, ratio=16)


def test_parity_with_mmdet_resnet_when_se_is_identity():
    """With the SE gate forced to 1, ResNetSE computes mmdet's ResNet."""
    torch.manual_seed(0)
    ref = ResNet(depth=50, base_channels=8, zero_init_residual=False)
    ref.init_weights()
    ref.eval()
    model = ResNetSE(depth=50, base_channels=8)
    model.eval()
    missing, unexpected = model.load_state_dict(ref.state_dict(), strict=False)
    assert not unexpected
    assert missing and all('.se.' in k for k in missing)
    for name, module in model.named_modules():
        if name.endswith('.se'):
            torch.nn.init.zeros_(module.conv2.conv.weight)
            torch.nn.init.constant_(module.conv2.conv.bias, 50.0)
    x = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(model(x), ref(x)):
            assert torch.allclose(a, b, atol=1e-5)
        # A gate of 0.5 halves each residual branch, so the output changes.
        for name, module in model.named_modules():
            if name.endswith('.se'):
                torch.nn.init.constant_(module.conv2.conv.bias, 0.0)
        assert not torch.allclose(model(x)[-1], ref(x)[-1], atol=1e-3)


def test_se_applied_before_residual_addition():
    block = ResNetSE(depth=50, base_channels=8).layer1[1]
    block.eval()
    x = torch.rand(1, 32, 8, 8)
    with torch.no_grad():
        out = block.relu(block.norm1(block.conv1(x)))
        out = block.relu(block.norm2(block.conv2(out)))
        out = block.norm3(block.conv3(out))
        gate = torch.sigmoid(
            block.se.conv2.conv(
                torch.relu(block.se.conv1.conv(out.mean((2, 3), True)))))
        expected = torch.relu(out * gate + x)
        assert torch.allclose(block(x), expected, atol=1e-6)


def test_frozen_stages_and_norm_eval():
    model = _tiny(frozen_stages=2, norm_eval=True)
    model.train()
    for p in list(model.layer1.parameters()) + list(
            model.layer2.parameters()):
        assert not p.requires_grad
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))
    model = _tiny(norm_eval=False)
    model.train()
    assert all(m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


def test_out_indices_with_cp_gn_and_zero_init():
    model = _tiny(
        out_indices=(1, 3),
        with_cp=True,
        norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    model.init_weights()
    model.train()
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    feats = model(x)
    assert [f.shape[1] for f in feats] == [64, 256]
    feats[-1].sum().backward()
    assert x.grad is not None
    assert all(b.with_cp for b in model.layer1)
    # zero_init_residual: the last norm of each block starts at zero.
    assert torch.all(model.layer2[0].norm3.weight == 0)


def test_dcn_and_extra_plugins():
    model = _tiny(
        dcn=dict(type='DCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, False, True, True),
        plugins=[
            dict(
                cfg=dict(type='ContextBlock', ratio=1. / 4),
                position='after_conv3',
                stages=(False, False, False, True))
        ])
    from mmcv.ops import ModulatedDeformConv2d
    assert isinstance(model.layer3[0].conv2, ModulatedDeformConv2d)
    assert not isinstance(model.layer2[0].conv2, ModulatedDeformConv2d)
    assert model.layer4[0].after_conv3_plugin_names[0] == 'se'
    assert len(model.layer4[0].after_conv3_plugin_names) == 2
    assert len(model.layer3[0].after_conv3_plugin_names) == 1
    feats = model(torch.rand(1, 3, 64, 64))
    assert feats[-1].shape == (1, 256, 2, 2)


def test_imagenet_checkpoint_loads_by_key_name(tmp_path, mm_log):
    torch.manual_seed(1)
    resnet = ResNet(depth=50, base_channels=8)
    resnet.init_weights()
    # A checkpoint in torchvision/ImageNet layout: shuffled key order, an
    # fc head the backbone does not have.
    state = dict(reversed(list(resnet.state_dict().items())))
    state['fc.weight'] = torch.zeros(10, 256)
    path = tmp_path / 'resnet50_imagenet.pth'
    torch.save(state, path)

    model = _tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    model.init_weights()
    own = model.state_dict()
    for key, value in resnet.state_dict().items():
        assert torch.equal(own[key], value), key
    # The SE layers are not in the checkpoint: they keep their own
    # initialisation (ConvModule's Kaiming init, zero bias).
    se = model.layer1[0].se.conv1.conv
    assert torch.all(se.bias == 0) and se.weight.std() > 0
    report = '\n'.join(mm_log)
    assert 'missing keys in source state_dict' in report
    assert 'layer1.0.se.conv1.conv.weight' in report
    assert 'unexpected key in source state_dict: fc.weight' in report
