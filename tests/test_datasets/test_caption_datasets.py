"""Image-caption datasets (COCO Captions json, tsv) with mmdet pipelines."""
import json
import os.path as osp

import pytest
from mmdet.registry import DATASETS

PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(64, 64), keep_ratio=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'img_shape', 'captions'))
]


def test_coco_captions_dataset(shapes_root):
    ds = DATASETS.build(
        dict(
            type='CocoImageCaptionDataset',
            data_root=shapes_root,
            ann_file='annotations/captions_train.json',
            pipeline=PIPELINE))
    assert len(ds) == 16
    info = ds.get_data_info(0)
    assert info['img_path'] == osp.join(shapes_root, 'train/000000.png')
    assert len(info['captions']) == 2 and info['height'] == 96
    item = ds[0]
    assert item['inputs'].shape == (3, 64, 64)
    sample = item['data_samples']
    assert sample.captions == info['captions']
    assert sample.img_id == 1


def test_tsv_dataset_groups_captions_of_an_image(shapes_root, tmp_path):
    tsv = tmp_path / 'pairs.tsv'
    tsv.write_text('train/000000.png\ta red star.\n'
                   'train/000001.png\ttwo hearts.\n\n'
                   'train/000000.png\ta star on a background.\n')
    ds = DATASETS.build(
        dict(
            type='TsvImageCaptionDataset',
            data_root=shapes_root,
            ann_file=str(tsv),
            pipeline=PIPELINE))
    assert len(ds) == 2
    assert ds.get_data_info(0)['captions'] == [
        'a red star.', 'a star on a background.'
    ]
    assert ds[1]['data_samples'].captions == ['two hearts.']
    assert ds[1]['data_samples'].img_id == 'train/000001.png'


def test_bad_caption_json_is_named(tmp_path):
    ann = tmp_path / 'caps.json'
    ann.write_text(json.dumps(dict(images=[dict(id=1, file_name='a.png')],
                                   annotations=[dict(id=1, image_id=1,
                                                     caption='')])))
    with pytest.raises(ValueError, match=r'caps.json: annotations\[0\] '
                       r'\(id 1\) has no caption text'):
        DATASETS.build(
            dict(type='CocoImageCaptionDataset', ann_file=str(ann)))
    ann.write_text(json.dumps(dict(annotations=[])))
    with pytest.raises(ValueError, match="no 'images' list"):
        DATASETS.build(
            dict(type='CocoImageCaptionDataset', ann_file=str(ann)))
