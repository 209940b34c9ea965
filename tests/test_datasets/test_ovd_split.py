"""The OVD class lists and the COCO/LVIS split writers (function and CLI)."""
import json
import os
import os.path as osp
import subprocess

import pytest
from conftest import PYTHON, REPO
from mmdet.datasets import CocoDataset

from mmregion.data.ovd_splits import (
    COCO_OVD_BASE_CLASSES,
    COCO_OVD_CLASSES,
    COCO_OVD_NOVEL_CLASSES,
    lvis_ovd_split,
)
from mmregion.datasets.ovd_split import (
    make_coco_ovd_split,
    make_lvis_ovd_split,
)

COCO_CLASSES = CocoDataset.METAINFO['classes']


def test_coco_class_lists():
    assert len(COCO_OVD_BASE_CLASSES) == 48
    assert len(COCO_OVD_NOVEL_CLASSES) == 17
    assert not set(COCO_OVD_BASE_CLASSES) & set(COCO_OVD_NOVEL_CLASSES)
    assert set(COCO_OVD_CLASSES) == (
        set(COCO_OVD_BASE_CLASSES) | set(COCO_OVD_NOVEL_CLASSES))
    # COCO category names, each list in COCO category-id order
    for names in (COCO_OVD_BASE_CLASSES, COCO_OVD_NOVEL_CLASSES,
                  COCO_OVD_CLASSES):
        assert list(names) == [c for c in COCO_CLASSES if c in names]


def _coco_file(path, drop=()):
    """65 OVD classes + 'traffic light'; 5 images.

    img 1: person (base), cat (novel); img 2: cat; img 3: traffic light;
    img 4: tv (base), traffic light; img 5: no objects.
    """
    names = [
        c for c in COCO_CLASSES
        if (c in COCO_OVD_CLASSES or c == 'traffic light') and c not in drop
    ]
    cat_id = {n: COCO_CLASSES.index(n) + 1 for n in names}
    objects = [(1, 'person'), (1, 'cat'), (2, 'cat'), (3, 'traffic light'),
               (4, 'tv'), (4, 'traffic light')]
    data = dict(
        info=dict(description='tiny'),
        licenses=[],
        images=[
            dict(id=i, file_name=f'{i}.jpg', height=32, width=32)
            for i in range(1, 6)
        ],
        annotations=[
            dict(
                id=k + 1,
                image_id=img,
                category_id=cat_id[name],
                bbox=[1, 1, 10, 10],
                area=100,
                iscrowd=0) for k, (img, name) in enumerate(objects)
            if name not in drop
        ],
        categories=[dict(id=cat_id[n], name=n) for n in names])
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_make_coco_ovd_split(tmp_path):
    src = _coco_file(tmp_path / 'instances_val2017.json')
    paths = make_coco_ovd_split(src, str(tmp_path / 'out'))
    assert paths == dict(
        train_base=str(tmp_path / 'out/instances_val2017_ovd_train_base.json'),
        val_all=str(tmp_path / 'out/instances_val2017_ovd_val_all.json'))
    assert not [f for f in os.listdir(tmp_path / 'out') if 'tmp' in f]

    train, val = _load(paths['train_base']), _load(paths['val_all'])
    for data in (train, val):
        assert [c['name']
                for c in data['categories']] == list(COCO_OVD_CLASSES)
        assert {
            c['name']: c['split']
            for c in data['categories']
        } == {
            n: 'novel' if n in COCO_OVD_NOVEL_CLASSES else 'base'
            for n in COCO_OVD_CLASSES
        }
        assert data['info'] == dict(description='tiny')
    names = {c['id']: c['name'] for c in train['categories']}

    assert [im['id'] for im in train['images']] == [1, 4]
    assert [names[a['category_id']]
            for a in train['annotations']] == ['person', 'tv']
    assert not [
        a for a in train['annotations']
        if names[a['category_id']] in COCO_OVD_NOVEL_CLASSES
    ]
    assert [im['id'] for im in val['images']] == [1, 2, 4]
    assert [names[a['category_id']]
            for a in val['annotations']] == ['person', 'cat', 'cat', 'tv']


def test_make_coco_ovd_split_one_output(tmp_path):
    src = _coco_file(tmp_path / 'instances_train2017.json')
    paths = make_coco_ovd_split(src, str(tmp_path), outputs=['train_base'])
    assert list(paths) == ['train_base']
    assert not osp.exists(tmp_path / 'instances_train2017_ovd_val_all.json')
    with pytest.raises(ValueError, match=r"subset of \('train_base', "):
        make_coco_ovd_split(src, str(tmp_path), outputs=['val_novel'])


def test_make_coco_ovd_split_bad_input(tmp_path):
    out = str(tmp_path / 'out')
    src = _coco_file(tmp_path / 'no_couch.json', drop=('couch', ))
    with pytest.raises(
            ValueError,
            match=r"no_couch.json: .* lack 1 of the "
            r"65 COCO OVD classes: \['couch'\]"):
        make_coco_ovd_split(src, out)

    with pytest.raises(FileNotFoundError, match='missing.json: no such'):
        make_coco_ovd_split(str(tmp_path / 'missing.json'), out)

    bad = tmp_path / 'bad.json'
    bad.write_text('{"images": [')
    with pytest.raises(ValueError, match='bad.json: not a valid JSON'):
        make_coco_ovd_split(str(bad), out)

    data = _load(_coco_file(tmp_path / 'x.json'))
    del data['categories']
    bad.write_text(json.dumps(data))
    with pytest.raises(ValueError, match='key "categories" must be a list'):
        make_coco_ovd_split(str(bad), out)

    data = _load(_coco_file(tmp_path / 'x.json'))
    data['annotations'][2]['category_id'] = 999
    bad.write_text(json.dumps(data))
    with pytest.raises(
            ValueError, match='annotation id 3 has category_id '
            '999'):
        make_coco_ovd_split(str(bad), out)
    assert not osp.exists(out)


def _lvis_file(path, frequencies=('f', 'c', 'r', 'r')):
    data = dict(
        images=[dict(id=i, height=32, width=32) for i in (1, 2, 3)],
        annotations=[
            dict(id=k + 1, image_id=img, category_id=cat, bbox=[1, 1, 5, 5])
            for k, (img, cat) in enumerate([(1, 1), (1, 3), (2, 2), (3, 4)])
        ],
        categories=[
            dict(id=i + 1, name=f'cat{i + 1}', frequency=f)
            for i, f in enumerate(frequencies)
        ])
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


def test_make_lvis_ovd_split(tmp_path):
    src = _lvis_file(tmp_path / 'lvis_v1_train.json')
    paths = make_lvis_ovd_split(src, str(tmp_path))
    train = _load(paths['train_base'])
    assert paths['train_base'].endswith('lvis_v1_train_ovd_train_base.json')
    assert [im['id'] for im in train['images']] == [1, 2, 3]
    assert [a['category_id'] for a in train['annotations']] == [1, 2]
    assert [c['split'] for c in train['categories']
            ] == ['base', 'base', 'novel', 'novel']
    assert _load(paths['categories']) == dict(
        base=['cat1', 'cat2'], novel=['cat3', 'cat4'])


def test_lvis_split_errors(tmp_path):
    src = _lvis_file(tmp_path / 'lvis.json', frequencies=('f', 'x', 'r', 'r'))
    with pytest.raises(
            ValueError,
            match=r"lvis.json: LVIS category id 2 "
            r"\('cat2'\) has frequency 'x'"):
        make_lvis_ovd_split(src, str(tmp_path))
    assert lvis_ovd_split([dict(id=1, name='a', frequency='r')]) == dict(
        base=[], novel=['a'])


def _run(*args):
    return subprocess.run([PYTHON, 'tools/misc/make_ovd_split.py', *args],
                          cwd=REPO,
                          capture_output=True,
                          text=True)


def test_cli(tmp_path):
    proc = _run('--help')
    assert proc.returncode == 0, proc.stderr
    assert '--outputs' in proc.stdout

    src = _coco_file(tmp_path / 'instances_val2017.json')
    proc = _run('coco', src, str(tmp_path / 'out'))
    assert proc.returncode == 0, proc.stderr
    assert 'instances_val2017_ovd_train_base.json: 2 images, 2 annotations, ' \
        '65 categories' in proc.stdout
    assert 'instances_val2017_ovd_val_all.json: 3 images, 4 annotations, ' \
        '65 categories' in proc.stdout
    assert 'wrote 2 file(s)' in proc.stdout
