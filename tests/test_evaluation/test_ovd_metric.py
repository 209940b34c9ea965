"""OVDMetric against pycocotools run directly on the same predictions."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from mmregion.evaluation import OVDMetric
from mmregion.synthetic import NOVEL_CLASSES, SHAPE_CLASSES

CLASSES = ('b1', 'b2', 'n1', 'n2')
NOVEL = ('n1', 'n2')
# image id -> [(label, [x, y, w, h])]
GT = {
    1: [(0, [10, 10, 20, 20]), (1, [50, 50, 40, 40])],
    2: [(0, [50, 50, 30, 30]), (2, [10, 10, 20, 20])],
    3: [(1, [10, 10, 30, 30]), (3, [50, 50, 30, 30])],
}
# image id -> [(label, score, [x1, y1, x2, y2])]; per class AP50:
# b1: two hits -> 1; b2: a hit and a miss (FP), one gt missed -> 51/101
# (precision 1 up to recall 0.5); n1: IoU 0.38 -> 0; n2: an FP ranked above
# the hit -> 0.5.
PREDS = {
    1: [(0, .9, [10, 10, 30, 30]), (1, .9, [50, 50, 90, 90])],
    2: [(0, .8, [50, 50, 80, 80]), (2, .9, [12, 12, 40, 40])],
    3: [(1, .8, [60, 60, 90, 90]), (3, .9, [0, 0, 20, 20]),
        (3, .5, [50, 50, 80, 80])],
}


def _write_gt(path, with_split=True):
    categories = [dict(id=i + 1, name=n) for i, n in enumerate(CLASSES)]
    if with_split:
        for c in categories:
            c['split'] = 'novel' if c['name'] in NOVEL else 'base'
    anns = [
        dict(
            id=img * 10 + k,
            image_id=img,
            category_id=label + 1,
            bbox=box,
            area=box[2] * box[3],
            iscrowd=0) for img, objs in GT.items()
        for k, (label, box) in enumerate(objs)
    ]
    with open(path, 'w') as f:
        json.dump(
            dict(
                images=[
                    dict(id=i, file_name=f'{i}.jpg', height=100, width=100)
                    for i in GT
                ],
                annotations=anns,
                categories=categories), f)
    return str(path)


def _data_samples(preds, with_gt=False):
    """Data samples as mmdet's evaluator hands them to a metric."""
    samples = []
    for img in GT:
        dets = preds.get(img, [])
        sample = dict(
            img_id=img,
            ori_shape=(100, 100),
            pred_instances=dict(
                bboxes=torch.tensor([d[2] for d in dets],
                                    dtype=torch.float32).reshape(-1, 4),
                scores=torch.tensor([d[1] for d in dets]),
                labels=torch.tensor([d[0] for d in dets], dtype=torch.long)))
        if with_gt:
            sample['instances'] = [
                dict(
                    bbox=[x, y, x + w, y + h], bbox_label=label, ignore_flag=0)
                for label, (x, y, w, h) in GT[img]
            ]
        samples.append(sample)
    return samples


def _evaluate(metric, preds, **kwargs):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _data_samples(preds, **kwargs))
    return metric.evaluate(len(GT))


def _direct_ap50(gt_file, preds, tmp_path):
    """Novel/base/all AP50 and COCO's AP50 from pycocotools directly."""
    results = [
        dict(
            image_id=img,
            category_id=label + 1,
            score=score,
            bbox=[x1, y1, x2 - x1, y2 - y1]) for img, dets in preds.items()
        for label, score, (x1, y1, x2, y2) in dets
    ]
    res_file = str(tmp_path / 'direct.bbox.json')
    with open(res_file, 'w') as f:
        json.dump(results, f)
    coco = COCO(gt_file)
    coco_eval = COCOeval(coco, coco.loadRes(res_file), 'bbox')
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    ap50 = {}
    for k, cat_id in enumerate(coco_eval.params.catIds):
        p = coco_eval.eval['precision'][0, :, k, 0, -1]
        ap50[coco.cats[cat_id]['name']] = p[p > -1].mean()
    return dict(
        novel=np.mean([ap50[n] for n in NOVEL]),
        base=np.mean([ap50[n] for n in CLASSES if n not in NOVEL]),
        all=np.mean(list(ap50.values())),
        coco_ap50=coco_eval.stats[1])


def test_matches_pycocotools(tmp_path):
    gt_file = _write_gt(tmp_path / 'gt.json')
    res = _evaluate(OVDMetric(ann_file=gt_file), PREDS)
    direct = _direct_ap50(gt_file, PREDS, tmp_path)

    for group in ('novel', 'base', 'all'):
        assert res[f'coco/{group}_ap50'] == pytest.approx(
            direct[group], abs=1e-6)
    assert res['coco/all_ap50'] == pytest.approx(direct['coco_ap50'], abs=1e-6)
    # the hand-derived values
    assert res['coco/novel_ap50'] == pytest.approx(0.25, abs=1e-6)
    assert res['coco/base_ap50'] == pytest.approx((1 + 51 / 101) / 2, abs=1e-6)
    # CocoMetric's own outputs are kept
    assert res['coco/bbox_mAP_50'] == pytest.approx(
        direct['coco_ap50'], abs=1e-3)
    assert 'coco/bbox_mAP' in res


def test_novel_classes_argument_and_gt_from_samples(tmp_path):
    gt_file = _write_gt(tmp_path / 'gt.json', with_split=False)
    direct = _direct_ap50(gt_file, PREDS, tmp_path)
    for metric, kwargs in [
        (OVDMetric(ann_file=gt_file, novel_classes=NOVEL), {}),
        (OVDMetric(novel_classes=NOVEL), dict(with_gt=True))
    ]:
        res = _evaluate(metric, PREDS, **kwargs)
        for group in ('novel', 'base', 'all'):
            assert res[f'coco/{group}_ap50'] == pytest.approx(
                direct[group], abs=1e-6)


def test_split_field_of_ovr_cnn_files(tmp_path):
    gt_file = _write_gt(tmp_path / 'gt.json')
    with open(gt_file) as f:
        data = json.load(f)
    for c in data['categories']:
        c['split'] = dict(base='seen', novel='unseen')[c['split']]
    with open(gt_file, 'w') as f:
        json.dump(data, f)
    assert OVDMetric(ann_file=gt_file).novel_classes == NOVEL


def test_perfect_and_no_novel_detections(tmp_path):
    gt_file = _write_gt(tmp_path / 'gt.json')
    perfect = {
        img: [(label, 1.0, [x, y, x + w, y + h])
              for label, (x, y, w, h) in objs]
        for img, objs in GT.items()
    }
    res = _evaluate(OVDMetric(ann_file=gt_file), perfect)
    for group in ('novel', 'base', 'all'):
        assert res[f'coco/{group}_ap50'] == pytest.approx(1.0, abs=1e-6)

    base_only = {
        img: [d for d in dets if CLASSES[d[0]] not in NOVEL]
        for img, dets in perfect.items()
    }
    res = _evaluate(OVDMetric(ann_file=gt_file), base_only)
    assert res['coco/novel_ap50'] == 0.0
    assert res['coco/base_ap50'] == pytest.approx(1.0, abs=1e-6)
    assert res['coco/all_ap50'] == pytest.approx(0.5, abs=1e-6)


def test_errors(tmp_path):
    gt_file = _write_gt(tmp_path / 'gt.json', with_split=False)
    with pytest.raises(
            ValueError,
            match=r"gt.json: category id 1 \('b1'\) "
            r"has split None"):
        OVDMetric(ann_file=gt_file)
    with pytest.raises(ValueError, match='needs novel_classes'):
        OVDMetric()
    metric = OVDMetric(novel_classes=['n1', 'n3'])
    with pytest.raises(ValueError, match=r"novel_classes \['n3'\]"):
        metric.dataset_meta = dict(classes=CLASSES)


def test_shapes_ground_truth_as_predictions(shapes_root):
    """bbox and segm AP50 are 1 on the synthetic val split."""
    ann_file = osp.join(shapes_root, 'annotations/instances_val.json')
    metric = METRICS.build(
        dict(type='OVDMetric', ann_file=ann_file, metric=['bbox', 'segm']))
    assert metric.novel_classes == NOVEL_CLASSES
    metric.dataset_meta = dict(classes=SHAPE_CLASSES)
    coco = COCO(ann_file)
    samples = []
    for img_id, img in coco.imgs.items():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        masks = np.stack([coco.annToMask(a) for a in anns]).astype(bool)
        samples.append(
            dict(
                img_id=img_id,
                ori_shape=(img['height'], img['width']),
                pred_instances=dict(
                    bboxes=torch.tensor([[x, y, x + w, y + h]
                                         for x, y, w, h in (a['bbox']
                                                            for a in anns)]),
                    scores=torch.ones(len(anns)),
                    labels=torch.tensor([a['category_id'] - 1 for a in anns]),
                    masks=torch.from_numpy(masks))))
    metric.process({}, samples)
    res = metric.evaluate(len(samples))
    for key in ('all_ap50', 'novel_ap50', 'base_ap50', 'segm_all_ap50',
                'segm_novel_ap50', 'segm_base_ap50'):
        assert res[f'coco/{key}'] == pytest.approx(1.0, abs=1e-6), key
    assert res['coco/segm_mAP_50'] == 1.0
