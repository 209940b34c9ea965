"""Official YOLACT / YOLACT++ (dbolya/yolact) checkpoints ⇄ mmregion, on
tiny models built from the official-layout configs."""
import math
import os.path as osp
import runpy
import sys

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmcv.ops import ModulatedDeformConv2dPack
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmregion.converters import (
    convert_yolact_checkpoint,
    mmregion_to_yolact,
    yolact_to_mmregion,
)
from mmregion.converters.yolact import (
    anchor_permutation,
    expected_official_keys,
    inspect_official,
    mmregion_anchor_generator,
)

OFFICIAL = {
    'yolact_resnet50': 'configs/yolact/official/yolact_resnet50.py',
    'yolact_base': 'configs/yolact/official/yolact_base.py',
    'yolact_plus_resnet50': 'configs/yolact/official/yolact_plus_resnet50.py',
    'yolact_plus_base': 'configs/yolact/official/yolact_plus_base.py',
}
CLI = 'tools/model_converters/yolact_to_mmregion.py'
# Quarter... of a quarter: ResNet base width 4, FPN / head width 16, 8
# prototypes; the official configs' 80 classes.
SHRINK = {
    'backbone.base_channels': 4,
    'neck.in_channels': [16, 32, 64, 128],
    'neck.out_channels': 16,
    'bbox_head.in_channels': 16,
    'bbox_head.feat_channels': 16,
    'bbox_head.num_protos': 8,
    'mask_head.in_channels': 16,
    'mask_head.num_protos': 8,
    'mask_head.proto_channels': (16, 16, 16, None, 16, 8),
}


def _tiny(config: str):
    """The config's model at tiny width, with distinct random weights."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(osp.join(REPO, config))
    cfg.merge_from_dict({f'model.{k}': v for k, v in SHRINK.items()})
    model = MODELS.build(cfg.model).eval()
    state = {
        k: torch.rand_like(v) + 0.1 if v.is_floating_point() else
        torch.randint_like(v, 100)
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    return model, state


@pytest.fixture(scope='module', params=sorted(OFFICIAL))
def official(request):
    """(name, model, mmregion state, official export) per official config."""
    torch.manual_seed(0)
    model, state = _tiny(OFFICIAL[request.param])
    return request.param, model, state, mmregion_to_yolact(state)


def test_round_trip_is_exact(official):
    name, model, state, exported = official
    back, report = yolact_to_mmregion(exported, num_classes=80)
    assert sorted(back) == sorted(state)
    for key, tensor in state.items():
        assert torch.equal(back[key], tensor), key
    assert report['config'] == OFFICIAL[name]
    assert report['skipped'] == [] and report['missing'] == []
    model.load_state_dict(back, strict=True)


def test_official_names_and_layout(official):
    name, _, state, exported = official
    layout = inspect_official(exported)
    plus = name.startswith('yolact_plus')
    assert layout.depth == (101 if name.endswith('base') else 50)
    assert layout.num_anchors == (9 if plus else 3)
    assert (layout.num_classes, layout.num_protos) == (80, 8)
    assert layout.dcn_interval == {
        'yolact_plus_base': 3,
        'yolact_plus_resnet50': 1
    }.get(name)
    counters = {k for k in exported if k.endswith('num_batches_tracked')}
    assert set(exported) - counters == expected_official_keys(layout)
    # the official FPN lists levels from C5 down: lat_layers.0 reads C5 (128
    # channels at this width), lat_layers.2 C3 (32)
    assert exported['fpn.lat_layers.0.weight'].shape[1] == 128
    assert exported['fpn.lat_layers.2.weight'].shape[1] == 32
    assert torch.equal(exported['fpn.pred_layers.0.bias'],
                       state['neck.fpn_convs.2.conv.bias'])
    assert torch.equal(exported['fpn.downsample_layers.1.weight'],
                       state['neck.fpn_convs.4.conv.weight'])
    assert exported['semantic_seg_conv.weight'].shape[0] == 80
    assert exported['prediction_layers.0.conf_layer.weight'].shape[0] == \
        layout.num_anchors * 81
    assert not any(k.startswith('prediction_layers.1') for k in exported)
    for key in ('backbone.layers.0.0.downsample.1.running_var',
                'prediction_layers.0.upfeature.0.weight', 'proto_net.10.bias'):
        assert key in exported
    if plus:
        assert exported['maskiou_net.maskiou_net.10.weight'].shape[:2] == \
            (80, 128)
        dcn = 'backbone.layers.2.3.conv2.'
        assert torch.equal(exported[dcn + 'conv_offset_mask.weight'],
                           state['backbone.layer3.3.conv2.conv_offset.weight'])
        assert torch.equal(exported[dcn + 'bias'], torch.zeros(16))
        # the R101 interval-3 backbone has no DCN in block 1
        assert (name == 'yolact_plus_resnet50') == (
            'backbone.layers.2.1.conv2.bias' in exported)
    else:
        assert not any('maskiou' in k or 'conv_offset' in k for k in exported)


def _official_anchor_sides(num_scales: int, square: bool):
    """The official ``make_priors`` loop for one P3 location (use_pixel_scales,
    no preapply_sqrt; pred_scales 24, or 24 * 2^(j/3) for YOLACT++), in
    pixels: [(w, h)] in channel order."""
    scales = [24 * 2**(j / 3) for j in range(num_scales)]
    sides = []
    for scale in scales:
        for ar in (1, 1 / 2, 2):
            ar = math.sqrt(ar)
            w, h = scale * ar, scale / ar
            sides.append((w, w if square else h))
    return sides


def test_anchor_blocks_land_on_the_anchor_of_the_same_shape(official):
    name, model, _, exported = official
    layout = inspect_official(exported)
    a = layout.num_anchors
    square = not name.startswith('yolact_plus')
    mm_anchors = model.bbox_head.prior_generator.base_anchors[0]
    mm_sides = torch.stack([mm_anchors[:, 2] - mm_anchors[:, 0],
                            mm_anchors[:, 3] - mm_anchors[:, 1]], 1)
    state = dict(exported)
    # official anchor d: its 4 box deltas are d + 1, its class logits and
    # coefficients d + 1 as well
    for layer, per in (('bbox_layer', 4), ('conf_layer', 81),
                       ('mask_layer', 8)):
        state[f'prediction_layers.0.{layer}.bias'] = torch.arange(
            1., a + 1).repeat_interleave(per)
    back, report = yolact_to_mmregion(state)
    reg = back['bbox_head.conv_reg.bias'].view(a, 4)
    cls = back['bbox_head.conv_cls.bias'].view(a, 81)
    coeff = back['bbox_head.conv_coeff.bias'].view(a, 8)
    for d, (w, h) in enumerate(_official_anchor_sides(a // 3, square)):
        m = int((reg[:, 0] == d + 1).nonzero())
        assert report['anchor_permutation'][d] == m
        assert torch.allclose(mm_sides[m], torch.tensor([w, h]), rtol=1e-4)
        assert (cls[m] == d + 1).all() and (coeff[m] == d + 1).all()
        assert (reg[m] == d + 1).all()
    assert sorted(report['anchor_permutation']) == list(range(a))
    assert report['anchor_permutation'] != list(range(a))


def test_background_moves_from_first_to_last_class(official):
    _, _, _, exported = official
    a = inspect_official(exported).num_anchors
    state = dict(exported)
    bias = torch.zeros(a, 81)
    bias[:, 0] = 10.  # official background
    bias[0, 6] = 7.  # official class 6 of anchor 0 = mmdet label 5
    state['prediction_layers.0.conf_layer.bias'] = bias.flatten()
    weight = torch.zeros(a, 81, 16, 3, 3)
    weight[:, 0, 3, 1, 1] = 1.
    state['prediction_layers.0.conf_layer.weight'] = weight.flatten(0, 1)
    back, report = yolact_to_mmregion(state)
    cls = back['bbox_head.conv_cls.bias'].view(a, 81)
    assert torch.equal(cls[:, 80], torch.full((a, ), 10.))
    assert cls[:, :80].max() == 7.
    assert cls[report['anchor_permutation'][0], 5] == 7.
    cls_w = back['bbox_head.conv_cls.weight'].view(a, 81, 16, 3, 3)
    assert torch.equal(cls_w[:, 80, 3, 1, 1], torch.ones(a))
    assert cls_w[:, :80].abs().sum() == 0


def test_v1_square_anchors_are_not_mmdets_default_anchors():
    assert anchor_permutation(1, False) == [1, 2, 0]
    assert anchor_permutation(1, True) == [1, 0, 2]
    with pytest.raises(ValueError, match='0 counterparts'):
        anchor_permutation(1, True, mmregion_anchor_generator(1, False))


def test_official_configs_use_the_converters_anchor_layout():
    for name, config in OFFICIAL.items():
        generator = Config.fromfile(osp.join(
            REPO, config)).model.bbox_head.anchor_generator
        expected = mmregion_anchor_generator(
            3 if 'plus' in name else 1, 'plus' not in name)
        for key, value in expected.items():
            if value is None:
                assert generator[key] is None, (name, key)
            else:
                assert generator[key] == pytest.approx(value), (name, key)


@pytest.fixture(scope='module')
def yolact_plus():
    """A tiny official-layout YOLACT++ (R50, DCN in every res3-res5 block):
    its official export."""
    torch.manual_seed(0)
    _, state = _tiny(OFFICIAL['yolact_plus_resnet50'])
    return mmregion_to_yolact(state)


def test_dcn_bias_is_folded_into_the_batchnorm(yolact_plus):
    exported = yolact_plus
    prefix = 'backbone.layers.1.0.'
    state = dict(exported)
    bias = torch.randn(8)
    state[prefix + 'conv2.bias'] = bias
    back, report = yolact_to_mmregion(state)
    mean = back['backbone.layer2.0.bn2.running_mean']
    assert torch.allclose(mean, exported[prefix + 'bn2.running_mean'] - bias)
    assert 'backbone.layer2.0.conv2.bias' not in back
    assert report['folded_dcn_biases'] == sum(
        k.endswith('conv2.bias') for k in exported)
    # official: BN(DCN(x) + b); mmregion: BN'(DCN(x)) with the folded mean
    torch.manual_seed(1)
    x = torch.randn(1, 8, 6, 6)
    dcn = ModulatedDeformConv2dPack(8, 8, 3, padding=1, bias=True)
    torch.nn.init.normal_(dcn.conv_offset.weight, std=0.1)
    dcn.bias.data = bias
    stats = {
        k: exported[prefix + 'bn2.' + k]
        for k in ('weight', 'bias', 'running_mean', 'running_var')
    }
    official_out = F.batch_norm(dcn(x), stats['running_mean'],
                                stats['running_var'], stats['weight'],
                                stats['bias'])
    dcn.bias.data.zero_()
    ours = F.batch_norm(dcn(x), mean, stats['running_var'], stats['weight'],
                        stats['bias'])
    assert torch.allclose(official_out, ours, atol=1e-5)


def _official_dcnv2(x, conv_offset_mask, weight, bias):
    """Official DCNv2 (external/DCNv2) semantics in plain torch, 3x3, stride
    1, pad 1: ``o1, o2, mask = chunk(conv_offset_mask(x), 3)``, offset =
    cat(o1, o2); tap k = 3i + j samples at (y + i - 1 + offset[2k], x + j -
    1 + offset[2k + 1]) bilinearly (zero outside) and is scaled by
    sigmoid(mask[k])."""
    n, c, h, w = x.shape
    o1, o2, mask = torch.chunk(conv_offset_mask(x), 3, dim=1)
    offset, mask = torch.cat((o1, o2), 1), mask.sigmoid()
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype),
        indexing='ij')
    taps = []
    for k in range(9):
        i, j = divmod(k, 3)
        py = ys + i - 1 + offset[:, 2 * k]
        px = xs + j - 1 + offset[:, 2 * k + 1]
        grid = torch.stack([px / (w - 1) * 2 - 1, py / (h - 1) * 2 - 1], -1)
        sampled = F.grid_sample(x, grid, align_corners=True)
        taps.append(sampled * mask[:, k:k + 1])
    cols = torch.stack(taps, 2)  # (N, C, 9, H, W)
    out = torch.einsum('nckhw,ock->nohw', cols, weight.view(-1, c, 9))
    return out + bias.view(1, -1, 1, 1)


def test_mmcv_dcn_reads_offsets_and_masks_as_the_official_dcnv2():
    torch.manual_seed(0)
    dcn = ModulatedDeformConv2dPack(4, 5, 3, padding=1, bias=True)
    torch.nn.init.normal_(dcn.conv_offset.weight, std=0.3)
    torch.nn.init.normal_(dcn.conv_offset.bias, std=0.5)
    torch.nn.init.normal_(dcn.bias)
    x = torch.randn(2, 4, 7, 9)
    expected = _official_dcnv2(x, dcn.conv_offset, dcn.weight, dcn.bias)
    assert torch.allclose(dcn(x), expected, atol=1e-4)
    # the check has teeth: reading (dx, dy) instead of (dy, dx) differs
    swap = [k ^ 1 for k in range(18)] + list(range(18, 27))
    swapped = torch.nn.Conv2d(4, 27, 3, padding=1)
    swapped.weight.data = dcn.conv_offset.weight.data[swap]
    swapped.bias.data = dcn.conv_offset.bias.data[swap]
    assert not torch.allclose(
        _official_dcnv2(x, swapped, dcn.weight, dcn.bias), expected,
        atol=1e-2)


@pytest.fixture(scope='module')
def yolact_v1():
    """A tiny official-layout YOLACT (R50): its state and official export."""
    torch.manual_seed(0)
    _, state = _tiny(OFFICIAL['yolact_resnet50'])
    return state, mmregion_to_yolact(state)


def test_unknown_key_fails_unless_not_strict(yolact_v1):
    _, exported = yolact_v1
    state = dict(exported, **{'class_existence_fc.weight': torch.zeros(1)})
    with pytest.raises(ValueError,
                       match=r'cannot convert 1 key: class_existence_fc'):
        yolact_to_mmregion(state)
    with pytest.warns(UserWarning, match='skipped 1 key'):
        back, report = yolact_to_mmregion(state, strict=False)
    assert report['skipped'] == ['class_existence_fc.weight']
    assert 'bbox_head.conv_cls.weight' in back


def test_missing_key_is_named(yolact_v1):
    _, exported = yolact_v1
    state = dict(exported)
    del state['proto_net.4.bias'], state['backbone.layers.2.3.bn2.weight']
    with pytest.raises(
            ValueError,
            match=r'missing 2 keys: backbone\.layers\.2\.3\.bn2\.weight, '
            r'proto_net\.4\.bias'):
        yolact_to_mmregion(state)
    with pytest.warns(UserWarning, match='missing 2 keys'):
        _, report = yolact_to_mmregion(state, strict=False)
    assert report['missing'] == [
        'backbone.layers.2.3.bn2.weight', 'proto_net.4.bias'
    ]
    # a whole layer gone is missing too, up to the highest index seen
    state = {k: v for k, v in exported.items() if 'lat_layers.1.' not in k}
    with pytest.raises(ValueError, match=r'missing 2 keys: fpn\.lat_layers\.1'
                       r'\.bias, fpn\.lat_layers\.1\.weight'):
        yolact_to_mmregion(state)


def test_wrong_num_classes(yolact_v1):
    _, exported = yolact_v1
    with pytest.raises(ValueError, match=r'has 80 classes .*num_classes=81'):
        yolact_to_mmregion(exported, num_classes=81)
    state = dict(exported)
    state['semantic_seg_conv.weight'] = torch.zeros(20, 16, 1, 1)
    with pytest.raises(ValueError, match='disagrees on its number of classes'):
        yolact_to_mmregion(state)


def test_not_an_official_state_dict(yolact_v1):
    state, _ = yolact_v1
    with pytest.raises(ValueError, match='not an official YOLACT state dict'):
        yolact_to_mmregion(state)
    with pytest.raises(ValueError, match='no official counterpart for 1 key'):
        mmregion_to_yolact(dict(state, **{'bbox_head.extra.weight': 0}))
    with pytest.raises(ValueError, match='not an mmregion YOLACT state dict'):
        mmregion_to_yolact({'backbone.conv1.weight': torch.zeros(1)})


def test_num_batches_tracked_are_added(yolact_v1):
    state, exported = yolact_v1
    bare = {
        k: v
        for k, v in exported.items() if not k.endswith('num_batches_tracked')
    }
    back, report = yolact_to_mmregion(bare)
    counters = [k for k in state if k.endswith('num_batches_tracked')]
    assert report['added'] == len(counters) > 0
    assert all(back[k] == 0 for k in counters)


def test_cli_writes_a_loadable_checkpoint(yolact_v1, tmp_path, monkeypatch,
                                          capsys):
    state, exported = yolact_v1
    src, dst = str(tmp_path / 'yolact_tiny.pth'), str(tmp_path / 'out.pth')
    torch.save(exported, src)
    monkeypatch.setattr(sys, 'argv', [CLI, src, dst, '--num-classes', '80'])
    runpy.run_path(osp.join(REPO, CLI), run_name='__main__')
    stdout = capsys.readouterr().out
    assert 'configs/yolact/official/yolact_resnet50.py' in stdout
    assert 'anchors, official -> mmdet channel block: [1, 0, 2]' in stdout
    ckpt = torch.load(dst, weights_only=False)
    assert ckpt['meta']['dataset_meta']['classes'][0] == 'person'
    model, _ = _tiny(OFFICIAL['yolact_resnet50'])
    load_checkpoint(model, dst, strict=True)
    assert torch.equal(model.state_dict()['bbox_head.conv_cls.weight'],
                       state['bbox_head.conv_cls.weight'])
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        convert_yolact_checkpoint(str(tmp_path / 'nope.pth'), dst)


def test_convert_function_report(yolact_v1, tmp_path):
    _, exported = yolact_v1
    src = str(tmp_path / 'in.pth')
    torch.save(exported, src)
    report = convert_yolact_checkpoint(src, str(tmp_path / 'out.pth'))
    assert report['converted']['backbone'] == sum(
        k.startswith('backbone.') for k in exported)
    assert osp.isfile(str(tmp_path / 'out.pth'))
    assert not [p for p in tmp_path.iterdir() if '.tmp' in p.name]
