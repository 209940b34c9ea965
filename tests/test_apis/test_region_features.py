"""Region features (tools/misc/extract_region_features.py) and image
prompts: exemplar regions through the detector's own CLIP."""
import json
import os.path as osp

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmdet.structures.bbox import bbox2roi
from mmengine.config import Config
from mmengine.dataset import pseudo_collate

from mmregion.apis.image_prompts import (
    image_prompt_vocabulary,
    merge_vocabularies,
    read_image_prompts,
    top1_region_accuracy,
)
from mmregion.apis.inference import load_vocabulary
from mmregion.apis.region_features import (
    extract_region_features,
    inference_pipeline,
    init_region_model,
)
from mmregion.models.language import Vocabulary
from mmregion.synthetic import (
    SHAPE_CLASSES,
    ShapesConfig,
    generate_shapes_dataset,
)

CONFIG = osp.join(REPO,
                  'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py')


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    torch.manual_seed(0)
    path = str(tmp_path_factory.mktemp('clip') / 'clip.pth')
    torch.save(open_clip.create_model('RN-tiny').state_dict(), path)
    return path


def _cfg(clip_file, size=None):
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.checkpoint = clip_file
    if size is not None:
        cfg.test_dataloader.dataset.pipeline[1].scale = size
    return cfg


def _gt(root, split):
    """Per image (path, xyxy boxes, names) of a split with boxes."""
    data = json.load(open(osp.join(root, 'annotations',
                                   f'instances_{split}.json')))
    names = {c['id']: c['name'] for c in data['categories']}
    per = {i['id']: (osp.join(root, i['file_name']), [], [])
           for i in data['images']}
    for ann in data['annotations']:
        x, y, w, h = ann['bbox']
        per[ann['image_id']][1].append([x, y, x + w, y + h])
        per[ann['image_id']][2].append(names[ann['category_id']])
    return [v for v in per.values() if v[1]]


def test_extract_region_features_boxes_texts_and_proposals(
        shapes_root, clip_file, tmp_path):
    val = osp.join(shapes_root, 'val')
    boxes = {'000000.png': [[10, 12, 60, 70], [0, 0, 96, 96]],
             '000001.png': [[5, 5, 40, 40]], '000002.png': []}
    box_file = tmp_path / 'boxes.json'
    box_file.write_text(json.dumps(boxes))
    out = tmp_path / 'pth'
    written = extract_region_features(
        val, _cfg(clip_file), str(out), boxes=str(box_file),
        texts='star . heart', templates='simple', batch_size=2,
        progress=False)
    assert [osp.basename(p) for p in written] == [
        '000000.pth', '000001.pth', '000002.pth']
    first = torch.load(written[0])
    assert torch.allclose(first['boxes'], torch.tensor(boxes['000000.png'],
                                                       dtype=torch.float))
    assert first['embeddings'].shape == (2, 64)
    assert torch.allclose(first['embeddings'].norm(dim=1), torch.ones(2))
    assert first['scores'].shape == (2, 2)
    assert first['class_names'] == ['star', 'heart']
    assert torch.load(written[2])['embeddings'].shape == (0, 64)
    # batched == the same boxes embedded one image at a time, by hand
    model, cfg = init_region_model(_cfg(clip_file))
    pipeline = inference_pipeline(cfg)
    data = pseudo_collate([pipeline(dict(img_path=osp.join(val,
                                                           '000000.png')))])
    batch = model.data_preprocessor(data, False)
    scale = batch['data_samples'][0].scale_factor[0]
    with torch.no_grad():
        feats = model.extract_feat(batch['inputs'])
        rois = bbox2roi([first['boxes'] * scale])
        emb = model.backbone.pool_regions(
            model.roi_head.bbox_roi_extractor(feats, rois))
    assert torch.allclose(F.normalize(emb, dim=-1), first['embeddings'],
                          atol=1e-5)
    npz = extract_region_features(
        val, _cfg(clip_file), str(tmp_path / 'npz'), fmt='npz',
        max_proposals=5, progress=False)
    arrays = np.load(npz[0])
    assert len(npz) == 8 and arrays['embeddings'].shape == (5, 64)
    assert arrays['boxes'].shape == (5, 4) and arrays['objectness'].shape \
        == (5, )
    with pytest.raises(ValueError, match="fmt must be 'pth' or 'npz'"):
        extract_region_features(val, _cfg(clip_file), str(tmp_path),
                                fmt='csv')


def test_image_prompt_file_errors_and_merging(tmp_path):
    path = tmp_path / 'prompts.json'
    path.write_text(json.dumps([dict(image='a.png', box=[0, 0, 1],
                                     name='x')]))
    with pytest.raises(ValueError, match=r'entry 0 must be \{"image": path'):
        read_image_prompts(str(path))
    path.write_text(json.dumps([dict(image='a.png', box=[0, 0, 1, 1],
                                     name='x')]))
    assert read_image_prompts(str(path))[0]['image'] == str(tmp_path /
                                                            'a.png')
    texts = Vocabulary(torch.eye(3)[:2], ['star', 'circle'])
    images = Vocabulary(torch.eye(3)[[1, 2]], ['circle', 'heart'])
    merged = merge_vocabularies(texts, images)
    assert merged.class_names == ['star', 'circle', 'heart']
    assert torch.allclose(merged.embeddings[1],
                          F.normalize(torch.tensor([0., 2., 0.]), dim=0))


def _train_on_regions(model, pipeline, train, steps=150):
    """Train the detector's CLIP visual tower on ground-truth regions: a
    linear classifier on the normalised region embeddings, cross-entropy
    (region recognition with known boxes)."""
    data = pseudo_collate([pipeline(dict(img_path=p)) for p, _, _ in train])
    batch = model.data_preprocessor(data, False)
    regions = []
    for (_, boxes, names), sample in zip(train, batch['data_samples']):
        labels = [SHAPE_CLASSES.index(n) for n in names]
        regions.append((torch.tensor(boxes) * sample.scale_factor[0],
                        torch.tensor(labels, dtype=torch.long)))
    extractor = model.roi_head.bbox_roi_extractor
    head = torch.nn.Linear(model.backbone.embed_dim, len(SHAPE_CLASSES))
    optimizer = torch.optim.AdamW(
        list(model.backbone.parameters()) + list(head.parameters()),
        lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    model.backbone.train()
    for _ in range(steps):
        idx = torch.randperm(len(train), generator=generator)[:8].tolist()
        feats = model.backbone(batch['inputs'][idx])
        emb = model.backbone.pool_regions(
            extractor(feats, bbox2roi([regions[i][0] for i in idx])))
        logits = head(F.normalize(emb, dim=-1)) * 10
        loss = F.cross_entropy(logits,
                               torch.cat([regions[i][1] for i in idx]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    return loss.item()


@pytest.fixture
def one_thread():
    """Train on one thread: parallel float reductions make the tiny
    training (and so the accuracy) differ from run to run otherwise."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_image_prompts_recognise_regions(tmp_path, clip_file, capsys,
                                         one_thread):
    """A tiny RegionCLIP whose CLIP is trained here on the train split's
    regions of the shapes; 5 exemplar boxes per class (train split) as the
    vocabulary; top-1 accuracy on the val split's ground-truth boxes beside
    text prompts and chance."""
    root = str(tmp_path / 'shapes')
    generate_shapes_dataset(
        root, dict(train=128, val=32), seed=3,
        # drawn at 192 px (smaller drawings lose the thin shapes: stars),
        # seen by the model at 96 px
        cfg=ShapesConfig(img_size=(192, 192), min_objects=2, max_objects=3,
                         min_size=0.25, max_size=0.45))
    torch.manual_seed(0)
    cfg = _cfg(clip_file, size=(96, 96))
    # a random CLIP's activations vanish through frozen (identity) BN;
    # trainable BN with batch statistics lets the tiny model learn quickly
    # (and a trained backbone: the config freezes it)
    cfg.model.backbone.update(frozen_bn=False, norm_eval=False,
                              frozen_stages=-1)
    model, cfg = init_region_model(cfg)
    pipeline = inference_pipeline(cfg)
    train, val = _gt(root, 'train'), _gt(root, 'val')
    # text prompts: the names through the CLIP's text tower (not trained
    # here), RegionCLIP's simple template
    texts = load_vocabulary(cfg, list(SHAPE_CLASSES), templates='simple')
    _train_on_regions(model, pipeline, train)
    boxes = [
        dict(image=p, box=b, name=n) for p, bs, ns in train
        for b, n in zip(bs, ns)
    ]
    prompts = [[q for q in boxes if q['name'] == c][:5]
               for c in SHAPE_CLASSES]
    assert all(len(p) == 5 for p in prompts)
    path = tmp_path / 'prompts.json'
    path.write_text(json.dumps(sum(prompts, [])))
    images = image_prompt_vocabulary(model, pipeline,
                                     read_image_prompts(str(path)))
    assert images.class_names == list(SHAPE_CLASSES)
    assert images.meta['exemplars'] == [5] * 8
    image_acc = top1_region_accuracy(model, pipeline, val, images)
    text_acc = top1_region_accuracy(model, pipeline, val, texts)
    chance = 1 / len(SHAPE_CLASSES)
    n_boxes = sum(len(names) for _, _, names in val)
    with capsys.disabled():
        print(f'\n[image prompts] top-1 region accuracy on {n_boxes} val '
              f'boxes: image prompts {image_acc:.3f}, text prompts '
              f'{text_acc:.3f}, chance {chance:.3f}')
    assert image_acc >= 2 * chance


@pytest.mark.parametrize('boxes', [None, 'boxes.json'])
def test_missing_images_are_reported_before_the_model_is_built(
        tmp_path, boxes):
    # the config does not exist either: the images are named first
    with pytest.raises(FileNotFoundError,
                       match='no_such_folder: no such image file'):
        extract_region_features(
            str(tmp_path / 'no_such_folder'), str(tmp_path / 'missing.py'),
            str(tmp_path / 'out'),
            boxes=None if boxes is None else str(tmp_path / boxes))
