"""LVISOVDDataset: LVIS v1 frequency groups, labels and class names."""
import json

import pytest
from mmengine.registry import init_default_scope

from mmregion.apis.class_names import dataset_class_names
from mmregion.datasets import LVISOVDDataset
from mmregion.datasets.ovd_split import make_lvis_ovd_split

# id, name, frequency; listed in id order as in lvis_v1_*.json
CATEGORIES = [(1, 'aerosol_can', 'c'), (2, 'alarm_clock', 'r'),
              (3, 'apple', 'f'), (5, 'banjo', 'r'), (7, 'zebra', 'f')]
# image id → category ids of its objects
OBJECTS = {1: [3, 2, 7], 2: [2, 5], 3: [1], 4: [5, 7, 7]}


def _lvis_file(path, categories=CATEGORIES) -> str:
    """A tiny LVIS v1 annotation file (4 images, 9 objects)."""
    images, annotations = [], []
    for img_id, cat_ids in OBJECTS.items():
        images.append(
            dict(
                id=img_id,
                height=48,
                width=64,
                coco_url='http://images.cocodataset.org/train2017/'
                f'{img_id:012d}.jpg'))
        for k, cat_id in enumerate(cat_ids):
            x = 2 + 10 * k
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=img_id,
                    category_id=cat_id,
                    bbox=[x, 4, 8, 6],
                    area=48,
                    segmentation=[[x, 4, x + 8, 4, x + 8, 10, x, 10]]))
    data = dict(
        images=images,
        annotations=annotations,
        categories=[
            dict(id=i, name=name, frequency=freq, synset=f'{name}.n.01')
            for i, name, freq in categories
        ])
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def _dataset(ann_file, **kwargs) -> LVISOVDDataset:
    init_default_scope('mmdet')
    return LVISOVDDataset(
        ann_file=ann_file, data_prefix=dict(img=''), pipeline=[], **kwargs)


def _objects(dataset):
    """image id → (label, x1) of each instance."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    return {
        info['img_id']: [(inst['bbox_label'], inst['bbox'][0])
                         for inst in info['instances']]
        for info in infos
    }


def test_base_group_drops_rare_and_labels_base_classes(tmp_path):
    dataset = _dataset(
        _lvis_file(tmp_path / 'lvis_v1_train.json'),
        class_group='base',
        filter_cfg=dict(filter_empty_gt=True))
    assert dataset.metainfo['classes'] == ('aerosol_can', 'apple', 'zebra')
    assert dataset.cat_ids == [1, 3, 7]
    # rare objects (alarm_clock, banjo) are gone; image 2 had only rare ones
    assert _objects(dataset) == {
        1: [(1, 2), (2, 22)],
        3: [(0, 2)],
        4: [(2, 12), (2, 22)]
    }
    # repeat-factor sampling counts the base labels
    assert dataset.get_cat_ids(0) == [1, 2]
    # a vocabulary built from the dataset gets the labels' order
    assert dataset_class_names(dataset) == ['aerosol_can', 'apple', 'zebra']


def test_all_and_novel_groups(tmp_path):
    ann_file = _lvis_file(tmp_path / 'lvis_v1_val.json')
    every = _dataset(ann_file, class_group='all', test_mode=True)
    assert every.metainfo['classes'] == ('aerosol_can', 'alarm_clock',
                                         'apple', 'banjo', 'zebra')
    assert _objects(every)[2] == [(1, 2), (3, 12)]
    assert len(every) == 4
    novel = _dataset(ann_file, class_group='novel', test_mode=True)
    assert novel.metainfo['classes'] == ('alarm_clock', 'banjo')
    assert _objects(novel) == {1: [(0, 12)], 2: [(0, 2), (1, 12)], 3: [],
                               4: [(1, 2)]}


def test_base_only_file_gives_the_same_training_set(tmp_path):
    src = _lvis_file(tmp_path / 'lvis_v1_train.json')
    base_file = make_lvis_ovd_split(src, str(tmp_path / 'out'))['train_base']
    kwargs = dict(class_group='base', filter_cfg=dict(filter_empty_gt=True))
    assert _objects(_dataset(base_file, **kwargs)) == _objects(
        _dataset(src, **kwargs))


def test_errors_name_the_problem(tmp_path):
    ann_file = _lvis_file(tmp_path / 'lvis.json')
    with pytest.raises(ValueError, match=r"unknown class_group 'rare'; "
                       r"expected one of \['all', 'base', 'novel'\]"):
        _dataset(ann_file, class_group='rare')
    with pytest.raises(ValueError, match='metainfo.classes cannot be set'):
        _dataset(ann_file, metainfo=dict(classes=('apple', )))
    bad = _lvis_file(
        tmp_path / 'bad.json',
        categories=CATEGORIES[:2] + [(3, 'apple', 'x')] + CATEGORIES[3:])
    with pytest.raises(ValueError, match=r"bad.json: LVIS category id 3 "
                       r"\('apple'\) has frequency 'x'"):
        _dataset(bad, class_group='base')
    no_rare = _lvis_file(
        tmp_path / 'no_rare.json',
        categories=[(i, n, 'f') for i, n, _ in CATEGORIES])
    with pytest.raises(ValueError, match=r"no_rare.json: no category of "
                       r"class_group 'novel' \(frequency in \('r',\)\) among "
                       r'its 5 categories'):
        _dataset(no_rare, class_group='novel')
