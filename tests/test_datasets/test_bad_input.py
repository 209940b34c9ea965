"""Bad input gets an early, named error (or a warning naming the sample)."""
import json
import os.path as osp
import shutil

import numpy as np
import pytest
from mmdet.registry import DATASETS

from mmregion.datasets import SyntheticShapesDataset, segmentation_problem


def _copy(shapes_root, tmp_path, edit=None):
    root = tmp_path / 'data'
    shutil.copytree(shapes_root, root)
    ann_file = root / 'annotations' / 'instances_train.json'
    if edit is not None:
        data = json.load(open(ann_file))
        edit(data)
        json.dump(data, open(ann_file, 'w'))
    return str(root), str(ann_file)


def _build(root, pipeline=(), **kwargs):
    return DATASETS.build(
        dict(
            type='SyntheticShapesDataset',
            data_root=root,
            ann_file='annotations/instances_train.json',
            data_prefix=dict(img=''),
            filter_cfg=dict(filter_empty_gt=True),
            pipeline=list(pipeline),
            **kwargs))


def test_good_dataset_loads(shapes_root):
    ds = _build(shapes_root)
    assert len(ds) == 16
    assert ds.metainfo['classes'][0] == 'circle'
    assert 'heart' in ds.metainfo['novel_classes']
    assert isinstance(ds, SyntheticShapesDataset)


def test_missing_image_file(shapes_root, tmp_path):
    root, ann = _copy(shapes_root, tmp_path)
    missing = osp.join(root, 'train', '000004.png')
    import os
    os.remove(missing)
    with pytest.raises(FileNotFoundError) as err:
        _build(root)
    assert 'instances_train.json' in str(err.value)
    assert missing in str(err.value)


def test_corrupt_image_named_when_loaded(shapes_root, tmp_path):
    root, _ = _copy(shapes_root, tmp_path)
    bad = osp.join(root, 'train', '000000.png')
    with open(bad, 'wb') as f:
        f.write(b'not a png at all')
    ds = _build(root, pipeline=[dict(type='LoadImageFromFile')],
                test_mode=True)
    with pytest.raises(AssertionError, match='failed to load image: .*'
                       '000000.png'):
        ds[0]


def test_unknown_category_id(shapes_root, tmp_path):

    def edit(data):
        data['annotations'][2]['category_id'] = 99

    root, _ = _copy(shapes_root, tmp_path, edit)
    with pytest.raises(ValueError) as err:
        _build(root)
    msg = str(err.value)
    assert 'instances_train.json' in msg
    assert 'category_id 99' in msg and 'annotation id 3' in msg
    assert '[1, 2, 3, 4, 5, 6, 7, 8]' in msg


def test_malformed_segmentation_is_skipped_with_warning(
        shapes_root, tmp_path, mm_log):

    def edit(data):
        data['annotations'][0]['segmentation'] = [[1.0, 2.0, 3.0]]

    root, _ = _copy(shapes_root, tmp_path, edit)
    good = _build(shapes_root)
    ds = _build(root)
    text = '\n'.join(mm_log)
    assert 'skipping annotation id 1' in text
    assert 'polygon 0 has 3 coordinates' in text
    assert 'train/000000.png' in text
    n_good = sum(
        len(good.get_data_info(i)['instances']) for i in range(len(good)))
    n_bad = sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))
    assert n_good > 0
    assert n_bad == n_good - 1


def test_empty_dataset(shapes_root, tmp_path):

    def edit(data):
        data['annotations'] = []

    root, _ = _copy(shapes_root, tmp_path, edit)
    with pytest.raises(ValueError, match='instances_train.json: the dataset '
                       'is empty'):
        _build(root)


@pytest.mark.parametrize('segm,expected', [
    ([[0, 0, 4, 0, 4, 4]], None),
    ({'counts': 'abc', 'size': [4, 4]}, None),
    ({'size': [4, 4]}, 'needs both'),
    ([], 'non-empty list'),
    ([[0, 0, 'a', 1, 2, 3]], 'not a flat list of numbers'),
    ([[0, 0, 1, 1, 2, 2, 3]], '7 coordinates'),
    ({'counts': 3, 'size': [4, 4]}, 'must be a list or a string'),
])
def test_segmentation_problem(segm, expected):
    problem = segmentation_problem(segm)
    if expected is None:
        assert problem is None
    else:
        assert expected in problem


def test_dataset_getitem_shapes(shapes_root):
    ds = _build(
        shapes_root,
        pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs')
        ])
    item = ds[0]
    assert tuple(item['inputs'].shape) == (3, 96, 96)
    gt = item['data_samples'].gt_instances
    assert len(gt) == len(gt.masks) >= 1
    assert np.all(gt.labels.numpy() < 8)
