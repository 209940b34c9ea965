import hashlib
import json
import os.path as osp

import numpy as np
import pycocotools.mask as mask_utils
import pytest
from pycocotools.coco import COCO

from mmregion.synthetic import (
    BASE_CLASSES,
    NOVEL_CLASSES,
    SHAPE_CLASSES,
    ShapesConfig,
    class_split,
    draw_image,
    generate_shapes_dataset,
)


def _digest(root):
    h = hashlib.sha256()
    for name in ('annotations/instances_train.json',
                 'annotations/captions_train.json', 'train/000003.png'):
        with open(osp.join(root, name), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def test_same_seed_same_bytes(tmp_path):
    cfg = ShapesConfig(img_size=(64, 64))
    a, b, c = tmp_path / 'a', tmp_path / 'b', tmp_path / 'c'
    generate_shapes_dataset(str(a), dict(train=5), seed=3, cfg=cfg)
    generate_shapes_dataset(str(b), dict(train=5), seed=3, cfg=cfg)
    generate_shapes_dataset(str(c), dict(train=5), seed=4, cfg=cfg)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)


def test_classes_and_split():
    assert len(SHAPE_CLASSES) >= 6
    assert set(BASE_CLASSES) | set(NOVEL_CLASSES) == set(SHAPE_CLASSES)
    assert not set(BASE_CLASSES) & set(NOVEL_CLASSES)
    split = class_split()
    assert [SHAPE_CLASSES[i] for i in split['novel']] == list(NOVEL_CLASSES)
    assert len(split['base']) == len(BASE_CLASSES)


def test_coco_files_are_consistent(shapes_root):
    meta = json.load(open(osp.join(shapes_root, 'meta.json')))
    assert meta['classes'] == list(SHAPE_CLASSES)
    assert meta['novel_classes'] == list(NOVEL_CLASSES)
    coco = COCO(osp.join(shapes_root, 'annotations/instances_train.json'))
    assert len(coco.getImgIds()) == 16
    cats = {c['name']: c['split'] for c in coco.loadCats(coco.getCatIds())}
    assert cats['heart'] == 'novel' and cats['circle'] == 'base'
    n_anns = 0
    for ann in coco.loadAnns(coco.getAnnIds()):
        n_anns += 1
        m = coco.annToMask(ann)
        ys, xs = np.nonzero(m)
        x, y, w, h = ann['bbox']
        # The polygon mask lies in (one pixel around) its box.
        assert xs.min() >= x - 1 and xs.max() <= x + w
        assert ys.min() >= y - 1 and ys.max() <= y + h
        assert abs(m.sum() - ann['area']) <= 0.2 * ann['area'] + 10
    assert n_anns >= 16


def test_captions_name_every_object(shapes_root):
    inst = json.load(
        open(osp.join(shapes_root, 'annotations/instances_train.json')))
    caps = json.load(
        open(osp.join(shapes_root, 'annotations/captions_train.json')))
    names = {c['id']: c['name'] for c in inst['categories']}
    by_image = {}
    for a in caps['annotations']:
        by_image.setdefault(a['image_id'], []).append(a['caption'])
    assert set(by_image) == {i['id'] for i in inst['images']}
    for ann in inst['annotations']:
        for caption in by_image[ann['image_id']]:
            assert names[ann['category_id']] in caption


def test_draw_image_masks_do_not_overlap():
    rng = np.random.default_rng(0)
    img, instances = draw_image(rng, ShapesConfig(img_size=(80, 120)))
    assert img.shape == (80, 120, 3) and img.dtype == np.uint8
    assert 1 <= len(instances) <= 5
    total = np.zeros((80, 120), int)
    for inst in instances:
        total += inst['mask']
        rle = mask_utils.frPyObjects(inst['polygons'], 80, 120)
        poly_mask = mask_utils.decode(mask_utils.merge(rle))
        inter = np.logical_and(poly_mask, inst['mask']).sum()
        union = np.logical_or(poly_mask, inst['mask']).sum()
        assert inter / union >= 0.9
    assert total.max() == 1


def test_bad_split_size(tmp_path):
    with pytest.raises(ValueError, match="split 'val' must be > 0"):
        generate_shapes_dataset(str(tmp_path), dict(train=2, val=0))


def test_ovd_preset_classes_colours_and_splits(tmp_path):
    from mmregion.synthetic import COLOURS, OUTLINE_NAMES, shapes_preset
    cfg, splits = shapes_preset('ovd')
    assert len(cfg.novel_classes) >= 4 and set(cfg.classes) == set(
        OUTLINE_NAMES)
    assert splits['val'] >= 500 and 'heldout' in splits
    assert len(cfg.colours) == len(COLOURS) > 8
    cfg.img_size = (96, 96)
    meta = generate_shapes_dataset(
        str(tmp_path), dict(train=6, heldout=2, val=2), seed=5, cfg=cfg)
    assert meta['novel_classes'] == list(cfg.novel_classes)
    assert meta['base_classes'] == list(cfg.base_classes)
    inst = json.load(
        open(osp.join(tmp_path, 'annotations/instances_heldout.json')))
    splits_of = {c['name']: c['split'] for c in inst['categories']}
    assert [splits_of[n] for n in ('moon', 'arrow', 'circle')] == [
        'novel', 'novel', 'base'
    ]
    caps = json.load(
        open(osp.join(tmp_path, 'annotations/captions_train.json')))
    assert any(' large ' in c['caption'] or ' small ' in c['caption']
               for c in caps['annotations'])
    with pytest.raises(KeyError, match="unknown shapes preset 'big'"):
        shapes_preset('big')


def test_config_options_are_checked_and_used():
    with pytest.raises(ValueError, match="unknown shape 'blob'"):
        ShapesConfig(classes=('circle', 'blob'))
    with pytest.raises(ValueError, match="'heart' is not among classes"):
        ShapesConfig(classes=('circle', 'square'), novel_classes=('heart', ))
    with pytest.raises(ValueError, match="unknown colour 'gold'"):
        ShapesConfig(colours=('gold', ))
    cfg = ShapesConfig(img_size=(96, 96), classes=('moon', 'arrow'),
                       novel_classes=('arrow', ), colours=('cyan', ),
                       object_centric=1.0)
    assert cfg.base_classes == ('moon', )
    for seed in range(3):
        _, instances = draw_image(np.random.default_rng(seed), cfg)
        # object-centric: one large shape
        assert len(instances) == 1 and instances[0]['colour'] == 'cyan'
        assert max(instances[0]['bbox'][2:]) >= 0.3 * 96


def test_caption_words():
    from mmregion.synthetic.captions import caption
    rng = np.random.default_rng(0)

    def _caption(objects, rng, variant, **words):
        return caption(objects, rng, variant, SHAPE_CLASSES, **words)

    objects = [dict(label=0, colour='red', large=True),
               dict(label=4, colour='orange', large=False)]
    assert _caption(objects, rng, 0) == \
        'a red circle and an orange hexagon on a coloured background.'
    assert _caption(objects, rng, 0, size_words=True) == (
        'a large red circle and a small orange hexagon on a coloured '
        'background.')
    assert _caption(objects[1:], rng, 1, colour_words=False) == \
        'a picture of a hexagon.'
    assert class_split(('moon', 'arrow', 'circle'), ('arrow', )) == dict(
        base=[0, 2], novel=[1])
