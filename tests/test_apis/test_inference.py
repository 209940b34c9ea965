"""Open-vocabulary inference: zero-shot without vocabulary files, batched
== one by one, mixed precision, COCO results files."""
import json
import os.path as osp

import open_clip
import pytest
import torch
from conftest import REPO
from mmdet.registry import MODELS
from mmengine.config import Config
from pycocotools.coco import COCO

from mmregion.apis.coco_results import write_coco_results
from mmregion.apis.inference import init_open_vocab_inferencer, mixed_precision

RCLIP = osp.join(REPO, 'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py')
YOLACT = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes-ovd.py')
COCO_ZS = osp.join(
    REPO, 'configs/regionclip/regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py')


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('clip') / 'clip.pth')
    torch.save(open_clip.create_model('RN-tiny').state_dict(), path)
    return path


def _zero_shot_cfg(clip_file, tmp_path):
    """The synthetic RegionCLIP config; its vocabulary files do not exist."""
    cfg = Config.fromfile(RCLIP)
    cfg.model.backbone.checkpoint = clip_file
    cfg.model.roi_head.bbox_head.train_vocabulary = str(tmp_path / 'b.pth')
    cfg.model.roi_head.bbox_head.test_vocabulary = str(tmp_path / 'a.pth')
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    return cfg


@pytest.fixture(scope='module')
def inferencer(clip_file, tmp_path_factory):
    cfg = _zero_shot_cfg(clip_file, tmp_path_factory.mktemp('vocab'))
    return init_open_vocab_inferencer(
        cfg, texts='star . heart|love heart . circle', templates='simple')


def test_zero_shot_reads_no_vocabulary_file(inferencer, clip_file,
                                            tmp_path):
    """Built and run with --texts only; training still fails at once,
    naming the missing file."""
    head = inferencer.model.roi_head.bbox_head
    assert head.num_classes == 3
    assert inferencer.model.dataset_meta['classes'] == ('star', 'heart',
                                                        'circle')
    model = MODELS.build(_zero_shot_cfg(clip_file, tmp_path).model)
    with pytest.raises(FileNotFoundError,
                       match=r'RegionCLIPBBoxHead.train_vocabulary: '
                       r'vocabulary file \S+b.pth does not exist'):
        model.train()
    model.eval()
    with pytest.raises(FileNotFoundError, match=r'test_vocabulary: '
                       r'vocabulary file \S+a.pth does not exist'):
        model.roi_head.bbox_head.num_classes
    # the COCO zero-shot config builds without its CLIP, RPN or vocabulary
    # files; only the words and the weights it uses are needed
    coco = MODELS.build(Config.fromfile(COCO_ZS).model).eval()
    coco.roi_head.bbox_head.set_vocabulary(torch.randn(2, 1024))
    assert coco.roi_head.bbox_head.num_classes == 2
    with pytest.raises(FileNotFoundError, match='coco_48_base_cls_emb.pth'):
        coco.train()


def test_open_vocab_yolact_zero_shot_reads_no_vocabulary_file(tmp_path):
    from tiny_yolact import tiny_yolact_cfg
    cfg = tiny_yolact_cfg()
    head = Config.fromfile(YOLACT).model.bbox_head
    head.update(train_vocabulary=str(tmp_path / 'base.pth'),
                test_vocabulary=str(tmp_path / 'all.pth'))
    cfg.bbox_head.update({
        k: head[k]
        for k in ('type', 'num_classes', 'embed_dim', 'train_vocabulary',
                  'test_vocabulary', 'temperature')
    })
    cfg.mask_head.num_classes = 6
    model = MODELS.build(cfg).eval()
    model.bbox_head.set_vocabulary(torch.randn(4, 64))
    cls, _, _ = model.bbox_head.forward_single(torch.randn(1, 16, 3, 3))
    assert cls.shape == (1, 3 * 5, 3, 3)
    with pytest.raises(FileNotFoundError, match='base.pth does not exist'):
        model.train()


def test_batched_equals_one_by_one(inferencer, shapes_root):
    images = osp.join(shapes_root, 'val')  # 8 images of the same size
    one = inferencer(images, batch_size=1)['predictions']
    batched = inferencer(images, batch_size=3)['predictions']  # 3 + 3 + 2
    assert len(one) == len(batched) == 8
    for a, b in zip(one, batched):
        assert len(a['labels']) > 0
        assert a['labels'] == b['labels']
        assert torch.allclose(torch.tensor(a['scores']),
                              torch.tensor(b['scores']), atol=1e-6)
        assert torch.allclose(torch.tensor(a['bboxes']),
                              torch.tensor(b['bboxes']), atol=1e-3)
    inferencer.batch_size = 4  # the default of the inferencer's calls
    again = inferencer(images)['predictions']
    assert [p['labels'] for p in again] == [p['labels'] for p in one]


def test_mixed_precision_features_and_predictions(inferencer, shapes_root):
    model = inferencer.model
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        full = model.backbone(x)[0]
        with mixed_precision(model, 'cpu'):
            half = model.backbone(x)[0]
        restored = model.backbone(x)[0]
    assert half.dtype == torch.float32  # cast back for mmcv's ops
    assert torch.equal(full, restored)  # forward restored after
    assert not torch.equal(full, half)  # bfloat16 ran
    assert (half - full).abs().max() < 0.05 * full.abs().max()
    inferencer.fp16 = True
    try:
        preds = inferencer(osp.join(shapes_root, 'val', '000000.png'),
                           batch_size=1)['predictions']
    finally:
        inferencer.fp16 = False
    assert len(preds[0]['scores']) > 0
    assert all(isinstance(s, float) for s in preds[0]['scores'])


def test_coco_results_file_loads_in_pycocotools(inferencer, shapes_root,
                                                tmp_path):
    images = sorted(
        osp.join(shapes_root, 'val', f) for f in ('000001.png',
                                                  '000000.png'))
    preds = inferencer(images)['predictions']
    path = str(tmp_path / 'dets.json')
    classes = inferencer.model.dataset_meta['classes']
    write_coco_results(path, images, preds, classes)
    coco = COCO(path)
    assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == [
        'star', 'heart', 'circle'
    ]
    assert coco.loadImgs(1)[0] == dict(
        id=1, file_name='000000.png', width=96, height=96)
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[2]))
    assert len(anns) == len(preds[1]['scores'])
    x1, y1, x2, y2 = preds[1]['bboxes'][0]
    assert anns[0]['bbox'] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
    assert anns[0]['category_id'] == preds[1]['labels'][0] + 1
    results = coco.loadRes(json.load(open(path))['annotations'])
    assert len(results.getAnnIds()) == sum(len(p['scores']) for p in preds)


def test_missing_offline_rpn_names_the_official_file():
    with pytest.raises(FileNotFoundError,
                       match=r'offline RPN weights checkpoints/regionclip/'
                       r'rpn_lvis_866_mmregion.pth do not exist; download '
                       r'rpn_lvis_866.pth from the RegionCLIP model zoo .*'
                       r'regionclip_to_mmregion.py rpn_lvis_866.pth'):
        init_open_vocab_inferencer(COCO_ZS, texts='cat')
