"""CustomOVDDataset / CocoOVDDataset: the split comes from the files."""
import json
import os.path as osp

import pytest

from mmregion.datasets import CustomOVDDataset, SyntheticShapesDataset
from mmregion.datasets.ovd_split import make_custom_ovd_split


def _dataset(cls, ann_file, shapes_root, **kwargs):
    return cls(data_root=shapes_root, ann_file=ann_file,
               data_prefix=dict(img=''), pipeline=[], test_mode=True,
               **kwargs)


def _labels(ds):
    return {ds.metainfo['classes'][i['bbox_label']]
            for k in range(len(ds)) for i in ds.get_data_info(k)['instances']}


@pytest.fixture(scope='module')
def split(shapes_root, tmp_path_factory):
    return make_custom_ovd_split(
        osp.join(shapes_root, 'annotations', 'instances_val.json'),
        str(tmp_path_factory.mktemp('split')), novel_classes=['circle'])


def test_groups_follow_the_file_split(split, shapes_root):
    every = _dataset(CustomOVDDataset, split['val_all'], shapes_root,
                     class_group='all')
    names = [c['name'] for c in json.load(open(split['val_all']))
             ['categories']]
    assert every.metainfo['classes'] == tuple(names)  # file order
    base = _dataset(CustomOVDDataset, split['val_all'], shapes_root,
                    class_group='base')
    assert base.metainfo['classes'] == tuple(n for n in names
                                             if n != 'circle')
    assert 'circle' not in _labels(base) and _labels(base)
    novel = _dataset(CustomOVDDataset, split['val_all'], shapes_root,
                     class_group='novel')
    assert novel.metainfo['classes'] == ('circle', )
    assert _labels(novel) == {'circle'}


def test_config_split_overrides_the_file(split, shapes_root, tmp_path):
    # the generator's own split (novel: hexagon, heart) is in the file
    ann = osp.join('annotations', 'instances_val.json')
    ds = _dataset(SyntheticShapesDataset, ann, shapes_root,
                  class_group='novel')
    assert ds.metainfo['classes'] == ('hexagon', 'heart')
    ds = _dataset(CustomOVDDataset, ann, shapes_root, class_group='novel',
                  novel_classes=['star'])
    assert ds.metainfo['classes'] == ('star', )
    ds = _dataset(CustomOVDDataset, ann, shapes_root, class_group='novel',
                  split_file=split['categories'])
    assert ds.metainfo['classes'] == ('circle', )


def test_file_without_split_is_refused(shapes_root, tmp_path):
    data = json.load(open(osp.join(shapes_root, 'annotations',
                                   'instances_val.json')))
    for cat in data['categories']:
        cat.pop('split')
    path = str(tmp_path / 'plain.json')
    json.dump(data, open(path, 'w'))
    with pytest.raises(ValueError, match="plain.json: category id 1 "
                       r"\('circle'\) has split None; expected base/novel. "
                       'Write the split with tools/misc/make_ovd_split.py'):
        _dataset(CustomOVDDataset, path, shapes_root, class_group='base')
    ds = _dataset(CustomOVDDataset, path, shapes_root)  # no group: all
    assert len(ds.metainfo['classes']) == 8
