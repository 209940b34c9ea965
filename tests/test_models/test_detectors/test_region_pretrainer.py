"""RegionCLIP pretraining: the detector, a short run, the student export."""
import copy
import os.path as osp

import open_clip
import pytest
import torch
from conftest import REPO
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import bbox2roi
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.runner import Runner

from mmregion.apis import export_student, train
from mmregion.datasets import caption_objects
from mmregion.models.language import Vocabulary
from mmregion.synthetic import SHAPE_CLASSES

PRETRAIN = osp.join(REPO,
                    'configs/synthetic/region-pretrain_rn-tiny_shapes.py')
FINETUNE = osp.join(REPO,
                    'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py')
CONCEPTS = list(SHAPE_CLASSES) + ['picture', 'background']


@pytest.fixture(scope='module')
def clip_checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('clip') / 'clip_rn-tiny.pth')
    torch.save(open_clip.create_model('RN-tiny').state_dict(), path)
    return path


def _fresh():
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.visualization import Visualizer
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def _config(shapes_root, clip_checkpoint, tmp_path, **changes) -> str:
    cfg = Config.fromfile(PRETRAIN)
    cfg.merge_from_dict({
        'model.backbone.checkpoint': clip_checkpoint,
        'model.text_encoder.checkpoint': clip_checkpoint,
        'model.concepts': CONCEPTS,
        'model.templates': 'simple',
        'model.num_regions': 16,
        'train_dataloader.dataset.data_root': shapes_root,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 4,
        'param_scheduler.1.end': 4,
        'default_hooks.checkpoint.interval': 4,
        'default_hooks.logger.interval': 1,
        'randomness': dict(seed=0),
    })
    cfg.merge_from_dict(changes)
    path = str(tmp_path / 'pretrain.py')
    cfg.dump(path)
    return path


def _model(cfg_path):
    model = MODELS.build(Config.fromfile(cfg_path).model)
    model.init_weights()
    return model


def _batch(cfg_path, model):
    cfg = Config.fromfile(cfg_path)
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=False)
    _fresh()
    loader = Runner.build_dataloader(cfg.train_dataloader)
    return model.data_preprocessor(next(iter(loader)), True)


def test_student_starts_as_the_frozen_teacher(shapes_root, clip_checkpoint,
                                              tmp_path):
    model = _model(_config(shapes_root, clip_checkpoint, tmp_path))
    teacher = model.teacher_backbone.state_dict()
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, teacher[key]), key
    assert not any(
        p.requires_grad for p in model.teacher_backbone.parameters())
    assert not any(p.requires_grad for p in model.text_encoder.parameters())
    assert all(p.requires_grad for p in model.backbone.parameters())
    model.train()
    assert not model.teacher_backbone.training and model.backbone.training
    assert model.concept_names == CONCEPTS
    assert model.concept_embeddings.shape == (len(CONCEPTS), 64)


def test_mmcv_roi_align_scrambles_channels_last_maps():
    # the dependency's behaviour the pretrainer works around: mmcv's CPU
    # RoIAlign reads strided memory as contiguous NCHW
    from mmcv.ops import RoIAlign
    feats = torch.randn(1, 8, 4, 4)
    roi = torch.tensor([[0, 0, 0, 64, 64.]])
    align = RoIAlign(4, 1 / 16, 0, aligned=True)
    assert torch.allclose(align(feats, roi), feats, atol=1e-6)
    strided = feats.contiguous(memory_format=torch.channels_last)
    assert not torch.allclose(align(strided, roi), feats, atol=1e-2)


@pytest.mark.parametrize('use_torchvision', [False, True])
def test_teacher_region_of_whole_image_is_its_image_embedding(
        shapes_root, clip_checkpoint, tmp_path, use_torchvision):
    model = _model(
        _config(shapes_root, clip_checkpoint, tmp_path, **{
            'model.roi_extractor.roi_layer.use_torchvision':
            use_torchvision
        })).eval()
    clip = open_clip.create_model('RN-tiny')
    clip.load_state_dict(torch.load(clip_checkpoint, weights_only=True))
    images = torch.randn(2, 3, 64, 64)
    rois = torch.tensor([[0, 0, 0, 64, 64.], [1, 0, 0, 64, 64.]])
    with torch.no_grad():  # the teacher's and the diagnostics' setting
        regions = model.embed_regions(model.teacher_backbone, images, rois)
        expected = clip.eval().encode_image(images)
    assert torch.allclose(regions, expected, atol=1e-4)


def test_crop_teacher_embeds_regions_as_images(shapes_root,
                                              clip_checkpoint, tmp_path):
    from mmregion.models.layers.region_crops import crop_regions
    model = _model(
        _config(shapes_root, clip_checkpoint, tmp_path,
                **{'model.teacher_crops': 0.5})).eval()
    clip = open_clip.create_model('RN-tiny')
    clip.load_state_dict(torch.load(clip_checkpoint, weights_only=True))
    images = torch.randn(2, 3, 96, 96)
    rois = torch.tensor([[0, 10, 20, 40, 40.], [1, 0, 0, 96, 64.]])
    with torch.no_grad():
        expected = clip.eval().encode_image(
            crop_regions(images, rois, 64, 0.5))
    assert torch.allclose(model.teacher_regions(images, rois), expected,
                          atol=1e-4)


def test_losses_and_gradients(shapes_root, clip_checkpoint, tmp_path):
    cfg = _config(shapes_root, clip_checkpoint, tmp_path,
                  **{'model.concept_threshold': 0.0})
    model = _model(cfg)
    model.train()
    batch = _batch(cfg, model)
    regions = model.regions(batch['inputs'], batch['data_samples'])
    assert [len(r) for r in regions] == [16, 16]
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert set(losses) == {
        'loss_region_text', 'loss_region_distill', 'loss_image_text',
        'region_keep_ratio'
    }
    assert losses['region_keep_ratio'] == 1.0  # threshold 0 keeps all
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert torch.isfinite(total) and total > 0
    total.backward()
    assert model.backbone.attnpool.c_proj.weight.grad.abs().sum() > 0
    assert model.teacher_backbone.attnpool.c_proj.weight.grad is None

    # no region above the threshold: finite zero region losses in the graph
    model = _model(_config(shapes_root, clip_checkpoint, tmp_path,
                           **{'model.concept_threshold': 1.0,
                              'model.loss_weights.image_text': 0.0}))
    model.train()
    losses = model.loss(batch['inputs'], batch['data_samples'])
    assert 'loss_image_text' not in losses
    assert losses['region_keep_ratio'] == 0.0
    for key in ('loss_region_text', 'loss_region_distill'):
        assert losses[key].item() == 0.0 and losses[key].requires_grad


def test_grid_boxes_inside_images(shapes_root, clip_checkpoint, tmp_path):
    model = _model(_config(shapes_root, clip_checkpoint, tmp_path)).eval()
    sample = DetDataSample(metainfo=dict(img_shape=(80, 96)))
    boxes = model.regions(torch.zeros(1, 3, 96, 96), [sample])[0]
    # 6 x 6 centres x 4 sizes (32..80 px), those keeping half their area
    assert 0 < len(boxes) <= 144
    assert boxes[:, 0::2].max() <= 96 and boxes[:, 1::2].max() <= 80
    assert boxes.min() >= 0
    widths = boxes[:, 2] - boxes[:, 0]
    assert widths.max() <= 80 and widths.min() >= 16


def test_offline_rpn_regions(shapes_root, clip_checkpoint, tmp_path):
    base = Config.fromfile(
        osp.join(REPO,
                 'configs/pretrain/_base_/regionclip-pretrain_rn50_c4.py'))
    rpn = copy.deepcopy(base.model.offline_rpn)
    rpn.backbone.update(depth=18, base_channels=8, out_indices=(0, 1, 2, 3))
    rpn.neck.update(in_channels=[8, 16, 32, 64], out_channels=16)
    rpn.rpn_head.update(in_channels=16, feat_channels=16)
    rpn.test_cfg.rpn.update(nms_pre=200, max_per_img=30)
    rpn.init_cfg = None
    cfg = _config(shapes_root, clip_checkpoint, tmp_path,
                  **{'model.offline_rpn': dict(_delete_=True, **rpn)})
    model = _model(cfg)
    assert not any(p.requires_grad for p in model.offline_rpn.parameters())
    model.train()
    assert not model.offline_rpn.training
    batch = _batch(cfg, model)
    sampled = model.regions(batch['inputs'], batch['data_samples'])
    assert all(0 < len(r) <= 16 for r in sampled)
    model.eval()
    everything = model.regions(batch['inputs'], batch['data_samples'])
    assert all(16 < len(r) <= 30 for r in everything)
    results = model.predict(batch['inputs'], batch['data_samples'])
    labels = results[0].pred_instances.labels
    assert len(labels) == len(everything[0])
    assert labels.max() < len(CONCEPTS)


def test_bad_settings_are_named(shapes_root, clip_checkpoint, tmp_path):
    with pytest.raises(KeyError, match="unknown loss 'region'"):
        _model(_config(shapes_root, clip_checkpoint, tmp_path,
                       **{'model.loss_weights.region': 1.0}))
    vocab = str(tmp_path / 'vocab32.pth')
    Vocabulary(torch.randn(3, 32), ['a', 'b', 'c']).save(vocab)
    with pytest.raises(ValueError, match=r'\(32 vs 64\)'):
        _model(_config(shapes_root, clip_checkpoint, tmp_path,
                       **{'model.concepts': vocab}))
    model = _model(_config(shapes_root, clip_checkpoint, tmp_path))
    sample = DetDataSample(metainfo=dict(img_shape=(96, 96),
                                         img_path='x.png'))
    with pytest.raises(KeyError, match="x.png has no 'captions'"):
        model.captions([sample])


def test_short_pretraining_run_exports_a_fine_tunable_student(
        shapes_root, clip_checkpoint, tmp_path):
    cfg = _config(shapes_root, clip_checkpoint, tmp_path)
    work = str(tmp_path / 'work')
    _fresh()
    runner = train(cfg, work_dir=work)
    assert runner.iter == 4
    ckpt = osp.join(work, 'iter_4.pth')
    student = export_student(ckpt, str(tmp_path / 'student.pth'))
    model = runner.model
    changed = [
        k for k, v in model.backbone.state_dict().items()
        if not torch.equal(v, model.teacher_backbone.state_dict()[k])
    ]
    assert changed  # the student has trained, the teacher has not
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(student[key], value), key

    # the fine-tuning config loads it as its backbone, by checkpoint= ...
    finetune = Config.fromfile(FINETUNE)
    finetune.model.roi_head.bbox_head.train_vocabulary = None
    finetune.model.roi_head.bbox_head.test_vocabulary = None
    finetune.model.backbone.checkpoint = str(tmp_path / 'student.pth')
    detector = MODELS.build(finetune.model)
    detector.init_weights()
    # ... or by init_cfg
    finetune.model.backbone.checkpoint = None
    finetune.model.backbone.init_cfg = dict(
        type='Pretrained', checkpoint=str(tmp_path / 'student.pth'))
    detector2 = MODELS.build(finetune.model)
    detector2.init_weights()
    for det in (detector, detector2):
        state = det.backbone.state_dict()
        for key, value in student.items():
            assert torch.equal(state[key], value), key
    with pytest.raises(ValueError, match=r'no backbone\.\* keys'):
        export_student(clip_checkpoint, str(tmp_path / 'x.pth'))


def test_caption_concepts_restrict_pseudo_labels(shapes_root, clip_checkpoint,
                                                 tmp_path):
    cfg = _config(shapes_root, clip_checkpoint, tmp_path,
                  **{'model.concept_threshold': 0.0,
                     'model.caption_concepts': True})
    model = _model(cfg)
    model.train()
    batch = _batch(cfg, model)
    inputs, samples = batch['inputs'], batch['data_samples']
    rois = bbox2roi(model.regions(inputs, samples))
    labels = model.pseudo_labels(inputs, rois, samples)
    for i, sample in enumerate(samples):
        named = set().union(*(caption_objects(c, CONCEPTS)
                              for c in sample.metainfo['captions']))
        assert named, sample.metainfo['captions']
        part = rois[:, 0] == i
        assert {CONCEPTS[j]
                for j in labels.labels[part].tolist()} <= named
        outside = [j for j, n in enumerate(CONCEPTS) if n not in named]
        assert labels.probs[part][:, outside].abs().sum() == 0
    losses = model.loss(inputs, samples)
    assert all(torch.isfinite(v) for v in losses.values())
    # without captions the error names the image
    samples[0] = DetDataSample(metainfo={
        k: v
        for k, v in samples[0].metainfo.items() if k != 'captions'
    })
    with pytest.raises(KeyError, match='has no .captions.'):
        model.pseudo_labels(inputs, rois, samples)
