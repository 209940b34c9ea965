"""Official RegionCLIP (detectron2) checkpoints ⇄ mmregion, on a tiny
model."""
import argparse
import copy
import math
import os
import os.path as osp
import subprocess

import pytest
import torch
import torch.nn.functional as F
from conftest import PYTHON, REPO
from mmdet.models.task_modules.prior_generators import AnchorGenerator
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from mmregion.converters import (
    anchor_permutation,
    convert_regionclip_checkpoint,
    mmregion_to_regionclip,
    regionclip_to_mmregion,
)
from mmregion.models.language import Vocabulary

SIZES = (32, 64, 128, 256, 512)
RATIOS = (0.5, 1.0, 2.0)
CLI = 'tools/model_converters/regionclip_to_mmregion.py'


def _tiny_regionclip(**changes):
    """RN-tiny CLIP + an offline caffe ResNet-50 C4 RPN (res4: 32 channels),
    with ``changes`` merged into the model config.

    Module fixtures run before conftest's per-test scope fixture: set the
    mmdet scope here.
    """
    init_default_scope('mmdet')
    base = Config.fromfile(
        osp.join(REPO, 'configs/regionclip/_base_/regionclip_rn50_c4.py'))
    cfg = Config.fromfile(
        osp.join(REPO,
                 'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py'))
    rpn = copy.deepcopy(base.model.offline_rpn)
    rpn.backbone.update(base_channels=2)
    rpn.rpn_head.update(in_channels=32, feat_channels=32)
    cfg.merge_from_dict({
        'model.proposal_source': 'offline_rpn',
        'model.offline_rpn': dict(_delete_=True, **rpn),
        'model.backbone.checkpoint': None,
        'model.roi_head.bbox_head.train_vocabulary': None,
        'model.roi_head.bbox_head.test_vocabulary': None,
    })
    cfg.merge_from_dict({f'model.{k}': v for k, v in changes.items()})
    return MODELS.build(cfg.model).eval()


@pytest.fixture(scope='module')
def tiny():
    """The model with distinct random weights, its state dict, embeddings
    and its export under the official names."""
    torch.manual_seed(0)
    model = _tiny_regionclip()
    state = {
        k: torch.rand_like(v) if v.is_floating_point() else v.clone()
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    train, test = torch.randn(3, 64), torch.randn(5, 64)
    exported = mmregion_to_regionclip(state, train, test)
    return dict(model=model, state=state, train=train, test=test,
                exported=exported)


def _detectron2_cell_anchors(sizes, ratios) -> torch.Tensor:
    """detectron2's DefaultAnchorGenerator.generate_cell_anchors, written
    out: size-major, ratio = h / w, centred at (0, 0)."""
    anchors = []
    for size in sizes:
        for ratio in ratios:
            w = math.sqrt(size**2 / ratio)
            h = ratio * w
            anchors.append([-w / 2, -h / 2, w / 2, h / 2])
    return torch.tensor(anchors)


@pytest.mark.parametrize('sizes,ratios', [(SIZES, RATIOS),
                                          ((32, 64), (0.5, 1.0, 2.0, 4.0)),
                                          ((64, ), (1.0, ))])
def test_anchor_permutation_matches_both_generators(sizes, ratios):
    perm = anchor_permutation(len(sizes), len(ratios))
    assert sorted(perm) == list(range(len(sizes) * len(ratios)))
    d2 = _detectron2_cell_anchors(sizes, ratios)
    mm = AnchorGenerator(
        scales=[s / 16 for s in sizes], ratios=list(ratios),
        strides=[16]).base_anchors[0]
    # detectron2 anchor d has the (w, h) - here the whole box - of mmdet
    # anchor perm[d].
    assert torch.allclose(mm[perm], d2, atol=1e-4)
    wh = lambda a: a[:, 2:] - a[:, :2]  # noqa: E731
    for d in range(len(perm)):
        matches = (wh(mm) - wh(d2)[d]).abs().amax(1) < 1e-4
        assert matches.nonzero().flatten().tolist() == [perm[d]]


def test_anchor_permutation_regionclip_c4():
    assert anchor_permutation(5, 3) == [
        0, 5, 10, 1, 6, 11, 2, 7, 12, 3, 8, 13, 4, 9, 14
    ]
    with pytest.raises(ValueError, match='got 0 and 3'):
        anchor_permutation(0, 3)


def test_export_uses_official_names(tiny):
    exported = tiny['exported']
    for key in ('offline_backbone.stem.conv1.weight',
                'offline_backbone.stem.conv1.norm.running_mean',
                'offline_backbone.res2.0.shortcut.weight',
                'offline_backbone.res2.0.shortcut.norm.running_var',
                'offline_backbone.res2.0.conv1.norm.bias',
                'offline_backbone.res4.5.conv3.weight',
                'offline_proposal_generator.rpn_head.conv.weight',
                'offline_proposal_generator.rpn_head.objectness_logits.weight',
                'offline_proposal_generator.rpn_head.anchor_deltas.bias',
                'roi_heads.box_predictor.bbox_pred.bias',
                'roi_heads.box_predictor.cls_score.weight',
                'roi_heads.box_predictor.test_cls_score.weight',
                'backbone.conv3.weight', 'backbone.layer4.0.downsample.1.bias',
                'backbone.attnpool.c_proj.weight'):
        assert key in exported, key
    assert not any('num_batches_tracked' in k for k in exported)
    assert {k.split('.')[0] for k in exported} == {
        'backbone', 'offline_backbone', 'offline_proposal_generator',
        'roi_heads'
    }
    assert not any(k.startswith('offline_backbone.res5') for k in exported)
    rpn = 'offline_proposal_generator.rpn_head.'
    assert exported[rpn + 'objectness_logits.weight'].shape == (15, 32, 1, 1)
    assert exported[rpn + 'anchor_deltas.weight'].shape == (60, 32, 1, 1)
    bg = exported['roi_heads.box_predictor.cls_bg_score.weight']
    assert bg.shape == (1, 64) and not bg.any()
    assert exported['roi_heads.box_predictor.bbox_pred.weight'].shape == (4,
                                                                          64)


def test_round_trip_is_exact(tiny):
    state, exported = tiny['state'], tiny['exported']
    converted, extras = regionclip_to_mmregion({'model': exported})
    assert converted.keys() == state.keys()
    for key, value in state.items():
        assert converted[key].dtype == value.dtype, key
        assert torch.equal(converted[key], value), key
    assert torch.equal(extras['train_embeddings'], tiny['train'])
    assert torch.equal(extras['test_embeddings'], tiny['test'])
    report = extras['report']
    count = lambda prefix: sum(  # noqa: E731
        k.startswith(prefix) for k in state)
    assert report['converted'] == {
        'backbone': count('backbone.'),
        'offline_rpn.backbone': count('offline_rpn.backbone.') - 43,
        'offline_rpn.bbox_head': 6,
        'roi_head.bbox_head': 2,
    }
    # 43 BatchNorms: the stem's, 13 bottlenecks x 3 and 3 shortcuts'.
    assert report['added'] == {'offline_rpn.backbone num_batches_tracked': 43}
    assert report['dropped'] == {'roi_heads.box_predictor.cls_bg_score': 1}
    assert report['embeddings'] == {
        'train_embeddings': [3, 64],
        'test_embeddings': [5, 64]
    }
    assert report['anchor_permutation'] == anchor_permutation(5, 3)
    assert report['skipped'] == {} and report['warnings'] == []
    # A bare state dict (no 'model') converts the same.
    assert regionclip_to_mmregion(exported)[0].keys() == state.keys()


def test_converted_rpn_scores_anchors_as_detectron2(tiny):
    """Each detectron2 (anchor, objectness, deltas) triple is found in the
    converted mmdet RPN at channel perm[d]: the proposals are the same."""
    torch.manual_seed(1)
    rpn = 'offline_proposal_generator.rpn_head.'
    d2 = dict(tiny['exported'])
    for name in ('conv', 'objectness_logits', 'anchor_deltas'):
        for param in ('weight', 'bias'):
            d2[f'{rpn}{name}.{param}'] = torch.randn_like(
                d2[f'{rpn}{name}.{param}'])
    converted, _ = regionclip_to_mmregion(d2)
    head = copy.deepcopy(tiny['model'].offline_rpn.bbox_head)
    head.load_state_dict({
        k[len('offline_rpn.bbox_head.'):]: v
        for k, v in converted.items() if k.startswith('offline_rpn.bbox_head.')
    })
    x = torch.randn(1, 32, 3, 4)
    with torch.no_grad():
        mm_logits, mm_deltas = head.forward_single(x)
        hidden = F.relu(
            F.conv2d(x, d2[rpn + 'conv.weight'], d2[rpn + 'conv.bias'],
                     padding=1))
        d2_logits = F.conv2d(hidden, d2[rpn + 'objectness_logits.weight'],
                             d2[rpn + 'objectness_logits.bias'])
        d2_deltas = F.conv2d(hidden, d2[rpn + 'anchor_deltas.weight'],
                             d2[rpn + 'anchor_deltas.bias'])
    perm = anchor_permutation(5, 3)
    assert not torch.allclose(mm_logits, d2_logits)  # the order does differ
    for d, m in enumerate(perm):
        assert torch.allclose(mm_logits[:, m], d2_logits[:, d], atol=1e-6)
        assert torch.allclose(
            mm_deltas.view(1, 15, 4, 3, 4)[:, m],
            d2_deltas.view(1, 15, 4, 3, 4)[:, d],
            atol=1e-6)
    # The anchors at those channels: detectron2's grid (offset 0) vs mmdet's.
    mm_anchors = head.prior_generator.grid_priors(
        [(3, 4)], device='cpu')[0].view(12, 15, 4)
    ys, xs = torch.meshgrid(
        torch.arange(3.) * 16, torch.arange(4.) * 16, indexing='ij')
    shifts = torch.stack([xs, ys, xs, ys], -1).view(12, 1, 4)
    d2_anchors = shifts + _detectron2_cell_anchors(SIZES, RATIOS)[None]
    assert torch.allclose(mm_anchors[:, perm], d2_anchors, atol=1e-3)


def test_unconvertible_keys_are_named(tiny):
    exported = dict(tiny['exported'])
    exported['roi_heads.mask_head.predictor.weight'] = torch.zeros(3, 8, 1, 1)
    exported['roi_heads.mask_head.mask_fcn1.weight'] = torch.zeros(8, 8, 3, 3)
    exported['offline_backbone.res4.0.conv2_offset.weight'] = torch.zeros(1)
    exported['roi_heads.box_predictor.cls_score.bias'] = torch.zeros(3)
    exported['something.else'] = torch.zeros(1)
    exported['something.more'] = torch.zeros(1)
    with pytest.raises(ValueError) as info:
        regionclip_to_mmregion(exported)
    message = str(info.value)
    assert message.startswith(
        'regionclip_to_mmregion: 6 keys cannot be converted: ')
    for part in ('a class-specific mask predictor (3 outputs); mmregion '
                 'predicts class-agnostic masks (1) (1 key: '
                 'roi_heads.mask_head.predictor.weight)',
                 'not a weight of a mask head without convs '
                 '(MaskRCNNConvUpsampleHead, NUM_CONV 0) (1 key: '
                 'roi_heads.mask_head.mask_fcn1.weight)',
                 'not a detectron2 ResNet weight (R50-C4 offline RPN) (1 '
                 'key: offline_backbone.res4.0.conv2_offset.weight)',
                 'a learned classifier bias',
                 'not a RegionCLIP weight (2 keys: something.else, '
                 'something.more)', 'Pass strict=False (--no-strict)'):
        assert part in message
    converted, extras = regionclip_to_mmregion(exported, strict=False)
    assert converted.keys() == tiny['state'].keys()
    assert sorted(extras['report']['skipped']) == [
        'offline_backbone.res4.0.conv2_offset.weight',
        'roi_heads.box_predictor.cls_score.bias',
        'roi_heads.mask_head.mask_fcn1.weight',
        'roi_heads.mask_head.predictor.weight', 'something.else',
        'something.more'
    ]


def test_offline_rpn_checkpoint_converts_alone(tiny):
    """RegionCLIP's BB_RPN_WEIGHTS file (rpn_coco_48.pth): a detectron2
    R50-C4 Mask R-CNN whose backbone and RPN become the offline RPN."""
    rpn_file = {}
    for key, value in tiny['exported'].items():
        for ours, theirs in (('offline_backbone.', 'backbone.'),
                             ('offline_proposal_generator.',
                              'proposal_generator.')):
            if key.startswith(ours):
                rpn_file[theirs + key[len(ours):]] = value
    rpn_file['roi_heads.res5.0.conv1.weight'] = torch.zeros(8, 32, 1, 1)
    rpn_file['roi_heads.box_predictor.cls_score.weight'] = torch.zeros(49, 8)
    rpn_file['roi_heads.box_predictor.bbox_pred.weight'] = torch.zeros(192, 8)
    converted, extras = regionclip_to_mmregion({'model': rpn_file})
    expected = {
        k: v
        for k, v in tiny['state'].items() if k.startswith('offline_rpn.')
    }
    assert converted.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(converted[key], value), key
    assert extras['report']['dropped'] == {
        'roi_heads (of the RPN checkpoint)': 3
    }
    assert 'train_embeddings' not in extras


def test_class_specific_regressor_and_anchor_count_raise(tiny):
    exported = dict(tiny['exported'])
    exported['roi_heads.box_predictor.bbox_pred.weight'] = torch.zeros(12, 64)
    with pytest.raises(ValueError, match=r'1 key cannot be converted: a '
                       r'class-specific box regressor \(12 outputs\); '
                       r'mmregion regresses class-agnostic boxes \(4\) \(1 '
                       r'key: roi_heads.box_predictor.bbox_pred.weight\)'):
        regionclip_to_mmregion(exported)
    with pytest.raises(ValueError, match=r'objectness_logits.weight: 15 '
                       r'output channels, expected 12 \(4 sizes x 3 ratios'):
        regionclip_to_mmregion(tiny['exported'], num_sizes=4)


def test_saved_cell_anchors_are_checked_and_dropped(tiny):
    exported = dict(tiny['exported'])
    key = 'offline_proposal_generator.anchor_generator.cell_anchors.0'
    exported[key] = _detectron2_cell_anchors(SIZES, RATIOS)
    _, extras = regionclip_to_mmregion(exported)
    assert extras['report']['dropped'][
        'offline_proposal_generator.anchor_generator'] == 1
    exported[key] = AnchorGenerator(
        scales=[2, 4, 8, 16, 32], ratios=list(RATIOS),
        strides=[16]).base_anchors[0]
    with pytest.raises(ValueError, match=f'{key}: the cell anchors are not '
                       'size-major'):
        regionclip_to_mmregion(exported)


def test_pretraining_groups_dropped_and_bg_score_checked(tiny):
    exported = dict(tiny['exported'])
    exported['teacher_backbone.conv1.weight'] = torch.zeros(4, 3, 3, 3)
    exported['lang_encoder.token_embedding.weight'] = torch.zeros(10, 8)
    exported['lang_encoder.positional_embedding'] = torch.zeros(7, 8)
    _, extras = regionclip_to_mmregion(exported)
    assert extras['report']['dropped'] == {
        'teacher_backbone': 1,
        'lang_encoder': 2,
        'roi_heads.box_predictor.cls_bg_score': 1
    }
    exported['roi_heads.box_predictor.cls_bg_score.weight'] = torch.full(
        (1, 64), 0.5)
    with pytest.warns(UserWarning, match=r'cls_bg_score.weight is not all '
                      r'zero \(max \|value\| 0.5\)'):
        _, extras = regionclip_to_mmregion(exported)
    assert len(extras['report']['warnings']) == 1


def _run(args):
    return subprocess.run([PYTHON, CLI, *args], cwd=REPO, capture_output=True,
                          text=True, env=dict(os.environ, OMP_NUM_THREADS='1'))


def test_cli_help():
    proc = _run(['--help'])
    assert proc.returncode == 0, proc.stderr
    assert '--vocab-prefix' in proc.stdout and '--no-strict' in proc.stdout


def test_cli_converts_a_file_with_numpy_arrays(tiny, tmp_path):
    model_state = {
        k: v.numpy() if k.startswith('offline_backbone.') else v
        for k, v in tiny['exported'].items()
    }
    model_state['teacher_backbone.conv1.weight'] = torch.zeros(4, 3, 3, 3)
    src = str(tmp_path / 'regionclip_finetuned-tiny.pth')
    torch.save(dict(model=model_state, iteration=90000), src)
    dst = str(tmp_path / 'out' / 'regionclip_tiny_mmregion.pth')
    proc = _run([src, dst, '--vocab-prefix', str(tmp_path / 'vocab' / 'ovd')])
    assert proc.returncode == 0, proc.stderr
    assert f'-> {dst} in' in proc.stdout
    assert 'converted   215  offline_rpn.backbone' in proc.stdout
    assert 'dropped       1  teacher_backbone' in proc.stdout
    train_file = str(tmp_path / 'vocab' / 'ovd_train_vocab.pth')
    assert f'train_embeddings (3 x 64) -> {train_file}' in proc.stdout
    assert '[0, 5, 10, 1, 6, 11,' in proc.stdout
    assert sorted(os.listdir(tmp_path / 'out')) == [
        'regionclip_tiny_mmregion.pth'
    ]

    torch.manual_seed(5)
    model = _tiny_regionclip()
    # strict: any missing or unexpected key raises.
    ckpt = load_checkpoint(model, dst, map_location='cpu', strict=True)
    assert ckpt['meta']['converted_from'] == src
    for key, value in tiny['state'].items():
        assert torch.equal(model.state_dict()[key], value), key
    vocab = Vocabulary.load(train_file)
    assert torch.allclose(vocab.embeddings, F.normalize(tiny['train']))
    model.roi_head.bbox_head.set_vocabulary(
        str(tmp_path / 'vocab' / 'ovd_test_vocab.pth'))
    assert model.roi_head.bbox_head.num_classes == 5


def test_convert_defaults_and_refusals(tiny, tmp_path):
    src = str(tmp_path / 'official.pth')
    torch.save({'model': tiny['exported']}, src)
    dst = str(tmp_path / 'converted.pth')
    report = convert_regionclip_checkpoint(src, dst)
    assert report['vocab_files'] == {
        'train_embeddings': str(tmp_path / 'converted_train_vocab.pth'),
        'test_embeddings': str(tmp_path / 'converted_test_vocab.pth')
    }
    assert report['seconds'] >= 0
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        convert_regionclip_checkpoint(str(tmp_path / 'nope.pth'), dst)
    torch.save({'model': tiny['exported'], 'cfg': argparse.Namespace(a=1)},
               src)
    with pytest.raises(ValueError,
                       match=r'official.pth: refused to unpickle it \(it '
                       r'names argparse.Namespace\).*--trust-checkpoint'):
        convert_regionclip_checkpoint(src, dst)
    torch.save({'state_dict': tiny['state']}, src)
    with pytest.raises(ValueError, match='an mmregion state dict already'):
        convert_regionclip_checkpoint(src, dst)
    proc = _run([src, dst])
    assert proc.returncode == 2  # a user error (mmregion.apis.cli)
    assert proc.stderr.startswith('error: regionclip_to_mmregion: this looks')


def test_export_names_keys_without_official_counterpart(tiny):
    state = dict(tiny['state'])
    state['rpn_head.rpn_conv.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'1 key without an official '
                       r'RegionCLIP counterpart: rpn_head.rpn_conv.weight'):
        mmregion_to_regionclip(state)


def test_converted_parts_load_through_init_cfg(tiny, tmp_path):
    """The configs' way: the backbone and the offline RPN each from the
    converted file, by mmengine's Pretrained init with a prefix."""
    src = str(tmp_path / 'official.pth')
    torch.save({'model': tiny['exported']}, src)
    dst = str(tmp_path / 'converted.pth')
    convert_regionclip_checkpoint(src, dst)
    torch.manual_seed(7)
    model = _tiny_regionclip(
        backbone=dict(
            checkpoint=None,
            init_cfg=dict(
                type='Pretrained', checkpoint=dst, prefix='backbone.')),
        offline_rpn=dict(
            init_cfg=dict(
                type='Pretrained', checkpoint=dst, prefix='offline_rpn.')))
    model.init_weights()
    loaded = model.state_dict()
    for key, value in tiny['state'].items():
        if key.startswith(('backbone.', 'offline_rpn.')):
            assert torch.equal(loaded[key], value), key


# --- RegionCLIP's LVIS R50-FPN offline RPN and the res5 mask head ---------

LVIS_CONFIG = osp.join(REPO,
                       'configs/regionclip/regionclip_rn50_c4_1x_lvis-ovd.py')
MASK_HEAD = dict(
    type='FCNMaskHead',
    num_convs=0,
    in_channels=256,
    conv_out_channels=8,
    class_agnostic=True,
    num_classes=1)


def _tiny_fpn_rpn(lsj: bool) -> Config:
    """The LVIS config's R50-FPN offline RPN, narrow (res2..res5: 8..64
    channels, FPN and RPN: 8). ``lsj``: as rpn_lvis_866_lsj.pth (BN in the
    FPN, two RPN convs); else as rpn_lvis_866.pth (neither)."""
    rpn = copy.deepcopy(Config.fromfile(LVIS_CONFIG).model.offline_rpn)
    rpn.pop('init_cfg')
    rpn.backbone.update(base_channels=2)
    rpn.neck.update(in_channels=[8, 16, 32, 64], out_channels=8)
    rpn.rpn_head.update(in_channels=8, feat_channels=8)
    if not lsj:
        rpn.neck.norm_cfg = None
        rpn.rpn_head.num_convs = 1
    return rpn


@pytest.fixture(scope='module', params=[False, True],
                ids=['rpn_lvis_866', 'rpn_lvis_866_lsj'])
def tiny_fpn(request):
    """A RegionCLIP with an R50-FPN offline RPN and a mask head, random
    weights (BN statistics included), exported under the official names."""
    torch.manual_seed(0)
    model = _tiny_regionclip(
        offline_rpn=dict(_delete_=True, **_tiny_fpn_rpn(request.param)),
        roi_head=dict(mask_roi_extractor=None, mask_head=MASK_HEAD))
    state = {
        k: torch.rand_like(v) if v.is_floating_point() else v.clone()
        for k, v in model.state_dict().items()
    }
    model.load_state_dict(state)
    exported = mmregion_to_regionclip(state, torch.randn(3, 64),
                                      torch.randn(5, 64))
    return dict(lsj=request.param, model=model, state=state,
                exported=exported)


def test_fpn_export_uses_detectron2_names(tiny_fpn):
    exported, lsj = tiny_fpn['exported'], tiny_fpn['lsj']
    up = 'offline_backbone.bottom_up.'
    for key in (up + 'stem.conv1.weight', up + 'stem.conv1.norm.bias',
                up + 'res2.0.shortcut.norm.running_mean',
                up + 'res5.2.conv3.weight', up + 'res5.0.shortcut.weight',
                'roi_heads.mask_head.deconv.weight',
                'roi_heads.mask_head.predictor.bias'):
        assert key in exported, key
    assert not any(k.startswith(('offline_backbone.res', 'offline_backbone.'
                                 'stem')) for k in exported)
    fpn = 'offline_backbone.fpn_'
    # res{s} feeds fpn_lateral{s}: 8, 16, 32, 64 input channels
    for stage, channels in zip((2, 3, 4, 5), (8, 16, 32, 64)):
        assert exported[f'{fpn}lateral{stage}.weight'].shape == (8, channels,
                                                                 1, 1)
        assert exported[f'{fpn}output{stage}.weight'].shape == (8, 8, 3, 3)
        assert (f'{fpn}lateral{stage}.bias' in exported) != lsj
        assert (f'{fpn}output{stage}.norm.running_var' in exported) == lsj
    rpn = 'offline_proposal_generator.rpn_head.'
    convs = ['conv.conv0.weight', 'conv.conv1.bias'] if lsj else [
        'conv.weight', 'conv.bias'
    ]
    for name in convs:
        assert rpn + name in exported, name
    # one anchor size per level x 3 ratios
    assert exported[rpn + 'objectness_logits.weight'].shape == (3, 8, 1, 1)
    assert exported[rpn + 'anchor_deltas.weight'].shape == (12, 8, 1, 1)
    assert exported['roi_heads.mask_head.predictor.weight'].shape == (1, 8, 1,
                                                                      1)
    assert exported['roi_heads.mask_head.deconv.weight'].shape == (256, 8, 2,
                                                                   2)


def test_fpn_round_trip_is_exact(tiny_fpn):
    state, lsj = tiny_fpn['state'], tiny_fpn['lsj']
    converted, extras = regionclip_to_mmregion(
        {'model': tiny_fpn['exported']})
    assert converted.keys() == state.keys()
    for key, value in state.items():
        assert converted[key].dtype == value.dtype, key
        assert torch.equal(converted[key], value), key
    report = extras['report']
    count = lambda prefix: sum(  # noqa: E731
        k.startswith(prefix) and not k.endswith('num_batches_tracked')
        for k in state)
    assert report['converted'] == {
        'backbone': count('backbone.'),
        'offline_rpn.backbone': count('offline_rpn.backbone.'),
        'offline_rpn.neck': count('offline_rpn.neck.'),
        'offline_rpn.bbox_head': 8 if lsj else 6,
        'roi_head.bbox_head': 2,
        'roi_head.mask_head': 4,
    }
    # 53 BatchNorms in ResNet-50 (stem, 16 x 3, 4 shortcuts); 8 in the FPN
    added = {'offline_rpn.backbone num_batches_tracked': 53}
    if lsj:
        added['offline_rpn.neck num_batches_tracked'] = 8
    assert report['added'] == added
    assert report['anchor_permutation'] == [0, 1, 2]
    assert report['skipped'] == {}
    tiny_fpn['model'].load_state_dict(converted, strict=True)


def _d2_conv(x, d2, name, padding=0):
    """detectron2's Conv2d (bias or a frozen norm after it), written out."""
    y = F.conv2d(x, d2[name + '.weight'], d2.get(name + '.bias'),
                 padding=padding)
    if name + '.norm.weight' in d2:
        y = F.batch_norm(y, d2[name + '.norm.running_mean'],
                         d2[name + '.norm.running_var'],
                         d2[name + '.norm.weight'], d2[name + '.norm.bias'],
                         eps=1e-5)
    return y


def test_converted_fpn_computes_detectron2s_pyramid(tiny_fpn):
    """detectron2's FPN forward on the official weights (top-down from res5,
    nearest 2x upsampling, max-pooled P6) equals the converted mmdet FPN."""
    d2 = {
        k[len('offline_backbone.'):]: v
        for k, v in tiny_fpn['exported'].items()
        if k.startswith('offline_backbone.fpn_')
    }
    torch.manual_seed(2)
    feats = [
        torch.randn(1, c, 32 // 2**i, 32 // 2**i)
        for i, c in enumerate((8, 16, 32, 64))
    ]
    prev = _d2_conv(feats[3], d2, 'fpn_lateral5')
    expected = [_d2_conv(prev, d2, 'fpn_output5', padding=1)]
    for stage in (4, 3, 2):
        prev = _d2_conv(feats[stage - 2], d2, f'fpn_lateral{stage}') + \
            F.interpolate(prev, scale_factor=2.0, mode='nearest')
        expected.insert(0, _d2_conv(prev, d2, f'fpn_output{stage}',
                                    padding=1))
    expected.append(F.max_pool2d(expected[-1], kernel_size=1, stride=2))
    with torch.no_grad():
        outs = tiny_fpn['model'].offline_rpn.neck(feats)
    assert len(outs) == 5
    for level, (out, ref) in enumerate(zip(outs, expected)):
        assert torch.allclose(out, ref, atol=1e-5), level


def test_pretrained_checkpoint_and_rpn_file_with_fpn_convert(tiny_fpn):
    """A pretrained checkpoint (CLIP backbone, teacher, text encoder, LVIS
    FPN RPN) converts strictly; so does the RPN's own file
    (rpn_lvis_866.pth: backbone.bottom_up.*, backbone.fpn_*,
    proposal_generator.*, roi_heads.*)."""
    exported, state = tiny_fpn['exported'], tiny_fpn['state']
    pretrained = {
        k: v
        for k, v in exported.items() if not k.startswith('roi_heads.')
    }
    pretrained['teacher_backbone.conv1.weight'] = torch.zeros(4, 3, 3, 3)
    pretrained['lang_encoder.positional_embedding'] = torch.zeros(7, 8)
    converted, extras = regionclip_to_mmregion(pretrained)
    assert converted.keys() == {
        k
        for k in state if k.startswith(('backbone.', 'offline_rpn.'))
    }
    assert extras['report']['dropped'] == {
        'teacher_backbone': 1,
        'lang_encoder': 1
    }

    rpn_file = {
        k.replace('offline_backbone.', 'backbone.').replace(
            'offline_proposal_generator.', 'proposal_generator.'): v
        for k, v in exported.items() if k.startswith('offline_')
    }
    rpn_file['roi_heads.box_predictor.cls_score.weight'] = torch.zeros(867, 8)
    converted, extras = regionclip_to_mmregion({'model': rpn_file})
    expected = {k for k in state if k.startswith('offline_rpn.')}
    assert converted.keys() == expected
    for key in expected:
        assert torch.equal(converted[key], state[key]), key
    assert extras['report']['dropped'] == {
        'roi_heads (of the RPN checkpoint)': 1
    }
