"""RegionCLIP on the tiny CLIP and the synthetic shapes, end to end."""
import copy
import os.path as osp

import open_clip
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.structures import InstanceData

from mmregion.apis import test as run_test
from mmregion.apis import train
from mmregion.synthetic import BASE_CLASSES, SHAPE_CLASSES

CONFIG = osp.join(REPO,
                  'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py')


@pytest.fixture(scope='module')
def clip_files(tmp_path_factory):
    """A random RN-tiny CLIP checkpoint and its class embeddings (official
    RegionCLIP format: bare (C, D) tensors)."""
    root = tmp_path_factory.mktemp('clip')
    torch.manual_seed(0)
    clip = open_clip.create_model('RN-tiny', pretrained=None).eval()
    ckpt = str(root / 'clip_rn-tiny.pth')
    torch.save(clip.state_dict(), ckpt)
    tokenizer = open_clip.get_tokenizer('RN-tiny')
    files = dict(clip=clip, checkpoint=ckpt)
    for name, classes in (('base', BASE_CLASSES), ('all', SHAPE_CLASSES)):
        with torch.no_grad():
            emb = clip.encode_text(
                tokenizer([f'a photo of a {c}.' for c in classes]))
        files[name] = str(root / f'emb_{name}.pth')
        torch.save(F.normalize(emb, dim=-1), files[name])
    return files


def _config(shapes_root, clip_files, tmp_path, **changes) -> str:
    cfg = Config.fromfile(CONFIG)
    ann = osp.join(shapes_root, 'annotations', 'instances_val.json')
    cfg.merge_from_dict({
        'model.backbone.checkpoint': clip_files['checkpoint'],
        'model.roi_head.bbox_head.train_vocabulary': clip_files['base'],
        'model.roi_head.bbox_head.test_vocabulary': clip_files['all'],
        'train_dataloader.dataset.data_root': shapes_root,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': 2,
        'val_dataloader.dataset.data_root': shapes_root,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.dataset.data_root': shapes_root,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'val_evaluator.ann_file': ann,
        'test_evaluator.ann_file': ann,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'randomness': dict(seed=0),
        # A random CLIP may rank the zero background logit first: keep all.
        'model.test_cfg.rcnn.score_thr': 0.0,
    })
    cfg.merge_from_dict(changes)
    path = str(tmp_path / 'regionclip.py')
    cfg.dump(path)
    return path


def _model(cfg_path):
    cfg = Config.fromfile(cfg_path)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def test_whole_image_box_matches_clip_image_embedding(shapes_root, clip_files,
                                                      tmp_path):
    """A GT box covering the whole image is classified exactly as CLIP
    classifies the image (RoIAlign of the whole res4 map is the map)."""
    model = _model(_config(shapes_root, clip_files, tmp_path,
                           **{'model.proposal_source': 'gt',
                              'model.roi_head.bbox_head.no_box_delta': True}))
    torch.manual_seed(3)
    img = torch.randn(1, 3, 64, 64)
    sample = DetDataSample(
        metainfo=dict(img_shape=(64, 64), ori_shape=(64, 64),
                      scale_factor=(1.0, 1.0)))
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[0., 0., 64., 64.]]), labels=torch.tensor([0]))
    with torch.no_grad():
        res4 = model.extract_feat(img)
        rois = torch.tensor([[0., 0., 0., 64., 64.]])
        logits = model.roi_head._bbox_forward(res4, rois)['cls_score']
        image_emb = clip_files['clip'].encode_image(img)
    text = torch.load(clip_files['all'])
    expected = F.normalize(image_emb, dim=-1) @ F.normalize(text, dim=-1).t()
    assert logits.shape == (1, len(SHAPE_CLASSES) + 1)
    assert (logits[0, :-1] * 0.01 - expected[0]).abs().max() < 1e-5
    assert logits[0, -1] == 0

    result = model.predict(img, [sample])[0].pred_instances
    # Boxes are the proposals themselves (no box delta).
    assert len(result) == len(SHAPE_CLASSES)
    assert torch.all(result.bboxes == torch.tensor([[0., 0., 64., 64.]]))
    probs = F.softmax(logits[0], dim=0)
    assert torch.isclose(result.scores.max(), probs[:-1].max(), atol=1e-6)


def test_vocabulary_switch_and_dim_errors(shapes_root, clip_files, tmp_path):
    cfg_path = _config(shapes_root, clip_files, tmp_path)
    model = _model(cfg_path)
    head = model.roi_head.bbox_head
    assert head.num_classes == len(SHAPE_CLASSES)  # eval: test vocabulary
    model.train()
    assert head.num_classes == len(BASE_CLASSES)
    model.eval()
    head.set_vocabulary(torch.randn(3, 64))
    assert head.num_classes == 3
    with pytest.raises(ValueError, match=r'\(512 vs 64\)'):
        head.set_vocabulary(torch.randn(3, 512))
    # "Detect these words": names embedded by the CLIP text tower.
    head.set_vocabulary(
        dict(
            names='star . heart',
            encoder=dict(
                type='CLIPTextEncoder',
                model_name='RN-tiny',
                checkpoint=clip_files['checkpoint']),
            templates='simple'))
    assert head.num_classes == 2
    with pytest.raises(FileNotFoundError, match='nope.pth does not exist'):
        head.set_vocabulary('nope.pth')
    cfg = Config.fromfile(cfg_path)
    cfg.model.roi_head.bbox_head.embed_dim = 32
    cfg.model.roi_head.bbox_head.train_vocabulary = None
    cfg.model.roi_head.bbox_head.test_vocabulary = None
    with pytest.raises(ValueError, match=r'\(32 vs 64\)'):
        MODELS.build(cfg.model)


def _fresh():
    from mmdet.visualization import DetLocalVisualizer
    from mmengine.visualization import Visualizer
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def test_zero_shot_gt_end_to_end(shapes_root, clip_files, tmp_path):
    cfg = _config(shapes_root, clip_files, tmp_path,
                  **{'model.proposal_source': 'gt',
                     'model.roi_head.bbox_head.no_box_delta': True})
    _fresh()
    metrics = run_test(cfg, None,  # zero-shot: the config's CLIP weights
                       work_dir=str(tmp_path / 'gt'),
                       cfg_options={'load_from': None})
    for key in ('coco/novel_ap50', 'coco/base_ap50', 'coco/all_ap50'):
        assert 0.0 <= metrics[key] <= 1.0


def test_zero_shot_offline_rpn_end_to_end(shapes_root, clip_files, tmp_path):
    base = Config.fromfile(
        osp.join(REPO, 'configs/regionclip/_base_/regionclip_rn50_c4.py'))
    rpn = copy.deepcopy(base.model.offline_rpn)
    rpn.backbone.update(depth=18, base_channels=8)
    rpn.rpn_head.update(in_channels=32, feat_channels=32)
    rpn.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
    cfg = _config(shapes_root, clip_files, tmp_path,
                  **{'model.proposal_source': 'offline_rpn',
                     'model.offline_rpn': dict(_delete_=True, **rpn),
                     'model.roi_head.use_objectness': True})
    model = _model(cfg)
    assert not any(p.requires_grad for p in model.offline_rpn.parameters())
    model.train()
    assert not model.offline_rpn.training
    _fresh()
    metrics = run_test(cfg, None,  # zero-shot: the config's CLIP weights
                       work_dir=str(tmp_path / 'rpn'),
                       cfg_options={'load_from': None})
    for key in ('coco/novel_ap50', 'coco/base_ap50', 'coco/all_ap50'):
        assert 0.0 <= metrics[key] <= 1.0


def test_fine_tuning_losses_and_eval(shapes_root, clip_files, tmp_path):
    cfg = _config(shapes_root, clip_files, tmp_path)
    model = _model(cfg)
    model.train()
    from mmengine.runner import Runner
    c = Config.fromfile(cfg)
    c.work_dir = str(tmp_path / 'ft_loss')
    _fresh()
    loader = Runner.build_dataloader(c.train_dataloader)
    batch = model.data_preprocessor(next(iter(loader)), True)
    losses = model.loss(batch['inputs'], batch['data_samples'])
    for key in ('loss_rpn_cls', 'loss_rpn_bbox', 'loss_cls', 'loss_bbox'):
        value = sum(losses[key]) if isinstance(losses[key], list) else \
            losses[key]
        assert torch.isfinite(value) and value > 0, key
    _fresh()
    runner = train(cfg, work_dir=str(tmp_path / 'ft'))
    assert osp.isfile(osp.join(str(tmp_path / 'ft'), 'epoch_1.pth'))
    assert 0 < runner.iter <= 8  # images with base-class boxes, batch 2


def test_image_demo_with_custom_words(shapes_root, clip_files, tmp_path):
    import glob
    import json
    import subprocess
    import sys
    cfg = _config(shapes_root, clip_files, tmp_path)
    images = tmp_path / 'images'
    images.mkdir()
    for name in ('000000.png', '000001.png'):
        (images / name).write_bytes(
            open(osp.join(shapes_root, 'val', name), 'rb').read())
    out = tmp_path / 'demo_out'
    proc = subprocess.run(
        [
            sys.executable, 'demo/image_demo.py',
            str(images), cfg, '--texts', 'star . heart|love heart',
            '--clip-checkpoint', clip_files['checkpoint'], '--templates',
            'simple', '--out-dir',
            str(out), '--score-thr', '0.0'
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'vocabulary of 2: star, heart' in proc.stdout
    assert len(glob.glob(str(out / 'vis' / '*.png'))) == 2
    preds = json.load(open(glob.glob(str(out / 'preds' / '*.json'))[0]))
    assert all(label in (0, 1) for label in preds['labels'])


def test_gt_config_refused_for_images(shapes_root, clip_files, tmp_path):
    from mmregion.apis.inference import init_open_vocab_inferencer
    cfg = Config.fromfile(
        _config(shapes_root, clip_files, tmp_path,
                **{'model.proposal_source': 'gt'}))
    with pytest.raises(ValueError, match='ground-truth boxes as proposals'):
        init_open_vocab_inferencer(cfg)


def test_gt_proposals_follow_the_test_resize(shapes_root, clip_files,
                                             tmp_path):
    """Test pipelines load annotations after Resize (original coordinates):
    the ground-truth proposals are scaled into the input, the predictions
    back, so with no box delta they are the ground-truth boxes again."""
    from mmengine.runner import Runner
    cfg_path = _config(shapes_root, clip_files, tmp_path,
                       **{'model.proposal_source': 'gt',
                          'model.roi_head.bbox_head.no_box_delta': True})
    model = _model(cfg_path)
    _fresh()
    loader = Runner.build_dataloader(Config.fromfile(cfg_path).val_dataloader)
    batch = model.data_preprocessor(next(iter(loader)), False)
    sample = batch['data_samples'][0]
    assert sample.scale_factor == (2.0, 2.0)  # 96 px shapes resized to 192
    with torch.no_grad():
        pred = model.predict(batch['inputs'], batch['data_samples'])[0]
    gt = sample.gt_instances.bboxes
    boxes = pred.pred_instances.bboxes
    assert len(boxes) == len(gt) * len(SHAPE_CLASSES)
    assert torch.allclose(boxes.unique(dim=0), gt.unique(dim=0), atol=1e-4)


def test_test_api_loads_the_backbone_clip_file(shapes_root, clip_files,
                                               tmp_path):
    """mmengine's test loop skips init_weights: apis.test loads the CLIP
    file named by backbone.checkpoint itself, so zero-shot evaluation does
    not run a random backbone."""
    from mmregion.apis.runner import load_local_backbone_weights
    model = MODELS.build(
        Config.fromfile(_config(shapes_root, clip_files, tmp_path)).model)
    clip_conv = clip_files['clip'].visual.conv1.weight
    assert not torch.equal(model.backbone.conv1.weight, clip_conv)
    assert load_local_backbone_weights(model) == 1
    assert torch.equal(model.backbone.conv1.weight, clip_conv)
    assert load_local_backbone_weights(model) == 0  # once only


def test_neck_refused_and_num_classes_guarded(shapes_root, clip_files,
                                              tmp_path):
    """A neck would never run (no gradient, DDP breaks): refused at build.
    ``num_classes`` takes the vocabulary's size and refuses another."""
    cfg = Config.fromfile(_config(shapes_root, clip_files, tmp_path))
    cfg.model.neck = dict(type='FPN', in_channels=[64], out_channels=8,
                          num_outs=1)
    with pytest.raises(ValueError, match="neck='FPN' would never run"):
        MODELS.build(cfg.model)
    head = _model(_config(shapes_root, clip_files, tmp_path)).roi_head
    head = head.bbox_head
    head.num_classes = len(SHAPE_CLASSES)  # agrees: accepted
    with pytest.raises(ValueError, match=r'num_classes=80 conflicts with '
                       rf'the active vocabulary of {len(SHAPE_CLASSES)}'):
        head.num_classes = 80
    assert head.num_classes == len(SHAPE_CLASSES)
