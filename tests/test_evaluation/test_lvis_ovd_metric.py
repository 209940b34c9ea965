"""LVIS metric on numpy 2 (the lvis 0.5.3 np.float bug and our fix)."""
import json

import numpy as np
import pytest
import torch
from mmdet.evaluation.metrics import LVISMetric

from mmregion.evaluation import LVISOVDMetric


def _lvis_file(path):
    categories = [
        dict(id=1, name='cat', frequency='r', synset='cat.n.01'),
        dict(id=2, name='dog', frequency='c', synset='dog.n.01'),
        dict(id=3, name='car', frequency='f', synset='car.n.01'),
    ]
    images, annotations = [], []
    for i in range(1, 4):
        images.append(
            dict(id=i, width=100, height=100, file_name=f'{i}.jpg',
                 not_exhaustive_category_ids=[], neg_category_ids=[]))
        for c in range(1, 4):
            x = 10 + 25 * (c - 1)
            annotations.append(
                dict(id=len(annotations) + 1, image_id=i, category_id=c,
                     bbox=[x, 10, 20, 20], area=400.0,
                     segmentation=[[x, 10, x + 20, 10, x + 20, 30, x, 30]]))
    json.dump(dict(images=images, annotations=annotations,
                   categories=categories), open(path, 'w'))
    return annotations


def _run(metric_cls, path, annotations):
    metric = metric_cls(ann_file=str(path), metric='bbox')
    metric.dataset_meta = dict(classes=('cat', 'dog', 'car'))
    for img_id in range(1, 4):
        anns = [a for a in annotations if a['image_id'] == img_id]
        boxes = torch.tensor([[a['bbox'][0], a['bbox'][1],
                               a['bbox'][0] + 20, a['bbox'][1] + 20]
                              for a in anns])
        labels = torch.tensor([a['category_id'] - 1 for a in anns])
        # Perfect boxes, except that every 'cat' (rare) is called 'dog'.
        labels[labels == 0] = 1
        pred = dict(bboxes=boxes, scores=torch.ones(len(anns)),
                    labels=labels)
        metric.process({}, [dict(img_id=img_id, ori_shape=(100, 100),
                                 pred_instances=pred)])
    return metric.evaluate(3)


def test_plain_lvis_metric_fails_on_numpy_2(tmp_path):
    if 'float' in np.__dict__:
        pytest.skip('this numpy still has np.float')
    path = tmp_path / 'lvis.json'
    anns = _lvis_file(path)
    with pytest.raises(AttributeError, match="no attribute 'float'"):
        _run(LVISMetric, path, anns)


def test_lvis_ovd_metric_reports_rare_common_frequent(tmp_path):
    path = tmp_path / 'lvis.json'
    anns = _lvis_file(path)
    results = _run(LVISOVDMetric, path, anns)
    assert results['lvis/bbox_APr'] == 0.0
    assert results['lvis/bbox_APf'] == pytest.approx(1.0)
    assert 0.0 < results['lvis/bbox_AP'] < 1.0
    assert 'float' not in np.__dict__
