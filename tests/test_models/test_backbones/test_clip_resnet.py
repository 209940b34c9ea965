import re

import open_clip
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.registry import init_default_scope
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from torch.nn import BatchNorm2d
from torchvision.ops.misc import FrozenBatchNorm2d

from mmregion.models.backbones.clip_resnet import (
    CLIP_RESNET_VARIANTS,
    CLIPResNet,
    load_clip_visual_state_dict,
)

TINY_TEXT = dict(context_length=8, vocab_size=32, width=16, heads=2, layers=1)


def _tiny_clip(seed: int = 0) -> torch.nn.Module:
    """A random RN-tiny open_clip CLIP whose norms are not the identity."""
    torch.manual_seed(seed)
    model = open_clip.create_model('RN-tiny', pretrained=None)
    for module in model.visual.modules():
        if isinstance(module, BatchNorm2d):
            # open_clip zero-inits bn3; random affine and statistics make
            # every residual branch count.
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.normal_(0, 0.1)
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    return model.eval()


def _clip_from_cfg(width: int, layers, embed_dim: int) -> torch.nn.Module:
    torch.manual_seed(0)
    vision = dict(image_size=64, layers=layers, width=width, head_width=64)
    return open_clip.model.CLIP(embed_dim, vision, TINY_TEXT)


def _assert_loaded(backbone: CLIPResNet, visual: torch.nn.Module) -> None:
    own = backbone.state_dict()
    for key, value in visual.state_dict().items():
        if not key.endswith('num_batches_tracked'):
            assert torch.equal(own[key], value.float()), key


@pytest.fixture(scope='module')
def rn50() -> CLIPResNet:
    return CLIPResNet('RN50')


def test_parity_with_open_clip_encode_image():
    clip = _tiny_clip()
    backbone = CLIPResNet('RN-tiny')
    backbone.load_state_dict(clip.visual.state_dict())
    images = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        expected = clip.encode_image(images)
        for mode in (False, True):  # FrozenBN: train mode computes the same
            backbone.train(mode)
            res4, = backbone(images)
            assert res4.shape == (2, 128, 4, 4)
            embedding = backbone.pool_regions(res4)
            assert embedding.shape == (2, 64)
            assert (embedding - expected).abs().max() <= 1e-5
    assert expected.abs().max() > 0.1


def test_inference_maps_are_contiguous_for_mmcv_roi_align():
    """The stages run channels-last at inference; the maps they return must
    not be: mmcv's CPU RoIAlign reads a channels-last map as NCHW."""
    from mmcv.ops import RoIAlign
    backbone = CLIPResNet('RN-tiny', out_indices=(2, )).eval()
    rois = torch.tensor([[0., 4., 4., 40., 36.], [0., 10., 0., 60., 50.]])
    mmcv_align = RoIAlign(7, spatial_scale=1 / 16, sampling_ratio=0,
                          aligned=True)
    tv_align = RoIAlign(7, spatial_scale=1 / 16, sampling_ratio=0,
                        aligned=True, use_torchvision=True)
    with torch.no_grad():
        res4 = backbone(torch.randn(1, 3, 64, 64))[0]
        assert res4.is_contiguous()
        torch.testing.assert_close(mmcv_align(res4, rois),
                                   tv_align(res4, rois))
        # the bug the contiguous maps avoid
        nhwc = res4.contiguous(memory_format=torch.channels_last)
        assert not torch.allclose(mmcv_align(nhwc, rois),
                                  tv_align(res4, rois), atol=1e-3)


def test_state_dict_keys_are_open_clip_visual_keys():
    visual = open_clip.create_model('RN-tiny').visual
    keys = set(visual.state_dict())
    counters = {k for k in keys if k.endswith('num_batches_tracked')}
    assert len(counters) == 3 + 3 * 4 + 4
    assert set(CLIPResNet('RN-tiny').state_dict()) == keys - counters
    assert set(CLIPResNet('RN-tiny', frozen_bn=False).state_dict()) == keys


@pytest.mark.parametrize('out_indices,shapes', [
    ((0, 1, 2, 3), [(1, 32, 16, 16), (1, 64, 8, 8), (1, 128, 4, 4),
                    (1, 256, 2, 2)]),
    ((2, ), [(1, 128, 4, 4)]),
    ([3, 1], [(1, 64, 8, 8), (1, 256, 2, 2)]),
])
def test_out_indices_shapes(out_indices, shapes):
    backbone = CLIPResNet('RN-tiny', out_indices=out_indices)
    feats = backbone(torch.rand(1, 3, 64, 64))
    assert [tuple(f.shape) for f in feats] == shapes


def test_layer4_runs_only_when_needed():
    calls = []
    backbone = CLIPResNet('RN-tiny', out_indices=(2, ))
    backbone.layer4.register_forward_hook(lambda *args: calls.append(1))
    res4, = backbone(torch.rand(1, 3, 64, 64))
    assert calls == []
    backbone.pool_regions(torch.rand(3, 128, 4, 4))
    assert calls == [1]
    backbone.out_indices = (3, )
    backbone(torch.rand(1, 3, 64, 64))
    assert calls == [1, 1]


def test_pool_regions_shapes_and_bad_input():
    backbone = CLIPResNet('RN-tiny').eval()
    assert backbone.pool_regions(torch.rand(5, 128, 4, 4)).shape == (5, 64)
    assert backbone.pool_regions(torch.rand(0, 128, 4, 4)).shape == (0, 64)
    message = re.escape("CLIPResNet('RN-tiny').pool_regions: expected res4 "
                        'RoI features [N, 128, 4, 4] (pooler_resolution=4), '
                        'got [5, 128, 6, 6]')
    with pytest.raises(ValueError, match=message):
        backbone.pool_regions(torch.rand(5, 128, 6, 6))
    with pytest.raises(ValueError, match=re.escape('got [5, 64, 4, 4]')):
        backbone.pool_regions(torch.rand(5, 64, 4, 4))
    with pytest.raises(ValueError, match=re.escape('got [1, 1, 64, 64]')):
        backbone(torch.rand(1, 1, 64, 64))


def test_res5_regions_and_embed_res5_split_pool_regions():
    """res5 maps (what a mask head reads) then the attention pool give the
    region embeddings of pool_regions."""
    torch.manual_seed(0)
    backbone = CLIPResNet('RN-tiny').eval()
    roi_feats = torch.rand(5, 128, 4, 4)
    with torch.no_grad():
        res5 = backbone.res5_regions(roi_feats)
        assert res5.shape == (5, 256, 2, 2)
        assert torch.equal(
            backbone.embed_res5(res5), backbone.pool_regions(roi_feats))
    with pytest.raises(ValueError, match=re.escape(
            "CLIPResNet('RN-tiny').res5_regions: expected res4 RoI features "
            '[N, 128, 4, 4] (pooler_resolution=4), got [5, 128, 8, 8]')):
        backbone.res5_regions(torch.rand(5, 128, 8, 8))


@pytest.mark.parametrize('frozen_stages,frozen', [
    (-1, []),
    (0, ['stem']),
    (2, ['stem', 'layer1', 'layer2']),
    (4, ['stem', 'layer1', 'layer2', 'layer3', 'layer4']),
])
def test_frozen_stages(frozen_stages, frozen):
    backbone = CLIPResNet(
        'RN-tiny', frozen_stages=frozen_stages, norm_eval=False,
        frozen_bn=False)
    backbone.train()
    for name, child in backbone.named_children():
        part = name if name.startswith(('layer', 'attnpool')) else 'stem'
        trainable = part not in frozen
        assert all(m.training == trainable for m in child.modules()), name
        assert all(p.requires_grad == trainable
                   for p in child.parameters()), name
    assert backbone.attnpool.training


def test_frozen_bn_keeps_statistics_in_train_mode():
    backbone = CLIPResNet('RN-tiny', out_indices=(3, ))
    assert not any(isinstance(m, BatchNorm2d) for m in backbone.modules())
    assert sum(isinstance(m, FrozenBatchNorm2d)
               for m in backbone.modules()) == 3 + 3 * 4 + 4
    assert not any('bn' in name for name, _ in backbone.named_parameters())
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    backbone.train()
    backbone(torch.rand(2, 3, 64, 64))
    for key, value in backbone.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize('norm_eval,changes', [(True, False), (False, True)])
def test_norm_eval_with_trainable_bn(norm_eval, changes):
    backbone = CLIPResNet(
        'RN-tiny', out_indices=(3, ), norm_eval=norm_eval, frozen_bn=False)
    backbone.train()
    mean = backbone.layer2[0].bn1.running_mean.clone()
    backbone(torch.rand(2, 3, 64, 64))
    assert backbone.layer2[0].bn1.training == changes
    assert (not torch.equal(backbone.layer2[0].bn1.running_mean,
                            mean)) == changes


def _save_torchscript(clip, path):
    # OpenAI's RN50.pt: a scripted whole CLIP, stored in fp16.
    torch.jit.script(clip.half()).save(str(path))


def _save_clip_state_dict(clip, path):
    torch.save(clip.state_dict(), path)


def _save_visual_state_dict(clip, path):
    torch.save(clip.visual.state_dict(), path)


def _save_open_clip_checkpoint(clip, path):
    # open_clip's training script under DDP: keys get a 'module.' prefix.
    state = {f'module.{k}': v for k, v in clip.state_dict().items()}
    torch.save(dict(epoch=3, name='run', state_dict=state, optimizer={}),
               path)


@pytest.mark.parametrize('save', [
    _save_torchscript, _save_clip_state_dict, _save_visual_state_dict,
    _save_open_clip_checkpoint
])
def test_load_checkpoint_forms(save, tmp_path):
    clip = _tiny_clip()
    path = tmp_path / 'RN-tiny.pt'
    save(clip, path)
    state = load_clip_visual_state_dict(str(path))
    assert set(state) == set(clip.visual.state_dict())

    backbone = CLIPResNet('RN-tiny', checkpoint=str(path))
    assert not torch.equal(backbone.attnpool.c_proj.weight,
                           clip.visual.attnpool.c_proj.weight.float())
    backbone.init_weights()
    _assert_loaded(backbone, clip.visual)
    # A second init_weights neither re-randomises nor reloads.
    with torch.no_grad():
        backbone.attnpool.c_proj.weight.add_(1.0)
    backbone.init_weights()
    assert torch.equal(backbone.attnpool.c_proj.weight,
                       clip.visual.attnpool.c_proj.weight.float() + 1.0)


def test_loaded_backbone_embeds_like_open_clip(tmp_path):
    clip = _tiny_clip()
    path = tmp_path / 'clip.pth'
    torch.save(clip.state_dict(), path)
    init_default_scope('mmdet')
    backbone = MODELS.build(
        dict(type='CLIPResNet', model_name='RN-tiny', checkpoint=str(path)))
    backbone.init_weights()
    backbone.eval()
    images = torch.rand(1, 3, 64, 64)
    with torch.no_grad():
        diff = backbone.pool_regions(backbone(images)[0]) - \
            clip.encode_image(images)
    assert diff.abs().max() <= 1e-5


def test_build_from_registry():
    init_default_scope('mmdet')
    backbone = MODELS.build(dict(type='CLIPResNet', model_name='RN-tiny'))
    assert isinstance(backbone, CLIPResNet)
    assert (backbone.embed_dim, backbone.res4_channels,
            backbone.pooler_resolution) == (64, 128, 4)


def test_wrong_width_names_file_key_and_shapes(tmp_path):
    path = tmp_path / 'wide.pt'
    torch.save(_clip_from_cfg(16, [1, 1, 1, 1], 32).state_dict(), path)
    backbone = CLIPResNet('RN-tiny', checkpoint=str(path))
    message = (f"{path}: conv1.weight (visual tower) has shape [8, 3, 3, 3] "
               f"in the checkpoint but [4, 3, 3, 3] in CLIPResNet('RN-tiny')")
    with pytest.raises(ValueError, match=re.escape(message) + '$'):
        backbone.init_weights()


def test_other_variant_is_named(rn50, tmp_path):
    path = tmp_path / 'RN-tiny.pt'
    torch.save(_tiny_clip().state_dict(), path)
    message = (f"{path}: conv1.weight (visual tower) has shape [4, 3, 3, 3] "
               f"in the checkpoint but [32, 3, 3, 3] in CLIPResNet('RN50'); "
               f"the checkpoint looks like model_name='RN-tiny'")
    with pytest.raises(ValueError, match=re.escape(message)):
        rn50.load_clip_weights(str(path))


def test_missing_and_unexpected_keys(tmp_path):
    path = tmp_path / 'deep.pt'
    torch.save(_clip_from_cfg(8, [1, 1, 2, 1], 64).state_dict(), path)
    message = (f"{path} does not fit CLIPResNet('RN-tiny'): 0 missing keys "
               f"[], 15 unexpected keys ['layer3.1.bn1.bias', "
               f"'layer3.1.bn1.running_mean', 'layer3.1.bn1.running_var', "
               f"'layer3.1.bn1.weight', 'layer3.1.bn2.bias']")
    with pytest.raises(ValueError, match=re.escape(message)):
        CLIPResNet('RN-tiny').load_clip_weights(str(path))

    state = _tiny_clip().visual.state_dict()
    del state['attnpool.q_proj.bias']
    torch.save(state, path)
    with pytest.raises(ValueError, match=re.escape(
            "1 missing keys ['attnpool.q_proj.bias'], 0 unexpected keys")):
        CLIPResNet('RN-tiny').load_clip_weights(str(path))


def test_not_a_clip_checkpoint(tmp_path):
    path = tmp_path / 'detector.pth'
    torch.save({'backbone.conv1.weight': torch.zeros(1)}, path)
    with pytest.raises(ValueError, match=re.escape(
            f"{path}: no CLIP visual tower in it (expected 'visual.*' keys")):
        load_clip_visual_state_dict(str(path))
    with pytest.raises(FileNotFoundError, match='nowhere.pt does not exist'):
        load_clip_visual_state_dict(str(tmp_path / 'nowhere.pt'))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"unknown model_name 'RN18'; "
                       r"supported: \['RN-tiny', 'RN101', 'RN50'"):
        CLIPResNet('RN18')
    with pytest.raises(ValueError, match=r'subset of \(0, 1, 2, 3\).*\(4,\)'):
        CLIPResNet('RN-tiny', out_indices=(4, ))
    with pytest.raises(ValueError, match='frozen_stages must be -1..4, got 5'):
        CLIPResNet('RN-tiny', frozen_stages=5)
    with pytest.raises(ValueError, match='either checkpoint'):
        CLIPResNet(
            'RN-tiny',
            checkpoint='RN50.pt',
            init_cfg=dict(type='Pretrained', checkpoint='x.pth'))


@pytest.mark.parametrize('name', sorted(CLIP_RESNET_VARIANTS))
def test_variant_table_matches_open_clip_configs(name):
    variant = CLIP_RESNET_VARIANTS[name]
    cfg = open_clip.get_model_config(name)
    vision = cfg['vision_cfg']
    width = vision['width']
    assert variant.embed_dim == cfg['embed_dim']
    assert variant.res4_channels == width * 16
    assert variant.res5_channels == width * 32
    assert variant.attnpool_grid == vision['image_size'] // 32
    assert variant.heads == width * 32 // vision.get('head_width', 64)
    assert variant.pooler_resolution == 2 * variant.attnpool_grid
    # The OpenAI release's statistics (RN-tiny has none: open_clip's default).
    weights = open_clip.get_pretrained_cfg(name, 'openai')
    mean = weights.get('mean', OPENAI_DATASET_MEAN)
    std = weights.get('std', OPENAI_DATASET_STD)
    assert variant.mean == pytest.approx([255 * v for v in mean])
    assert variant.std == pytest.approx([255 * v for v in std])


def test_variant_table_spec_values_and_built_networks(rn50):
    assert (rn50.res4_channels, rn50.embed_dim, rn50.pooler_resolution) == \
        (1024, 1024, 14)
    rn50x4 = CLIP_RESNET_VARIANTS['RN50x4']
    assert (rn50x4.res4_channels, rn50x4.embed_dim, rn50x4.pooler_resolution,
            rn50x4.attnpool_grid, rn50x4.heads) == (1280, 640, 18, 9, 40)
    assert rn50.variant.mean == pytest.approx(
        (122.7709383, 116.7460125, 104.09373615))
    assert rn50.variant.std == pytest.approx(
        (68.5005327, 66.6321579, 70.32316305))
    for backbone in (rn50, CLIPResNet('RN-tiny')):
        variant = backbone.variant
        assert backbone.layer3[-1].conv3.out_channels == variant.res4_channels
        assert backbone.layer4[-1].conv3.out_channels == variant.res5_channels
        assert backbone.attnpool.c_proj.out_features == variant.embed_dim
        assert backbone.attnpool.num_heads == variant.heads
        assert backbone.attnpool.positional_embedding.shape == (
            variant.attnpool_grid**2 + 1, variant.res5_channels)
