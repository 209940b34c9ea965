"""The YOLACT benchmark runs both models on the same batches and checks
that their masks agree (timings are printed, never asserted)."""
import os.path as osp

import pytest
import torch
from conftest import REPO
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmregion.analysis.yolact_benchmark import (
    benchmark,
    build_models,
    mask_mismatch,
    reference_config,
)

CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes.py')


def test_benchmark_times_both_models_with_identical_masks():
    models = build_models(CONFIG)
    stats = benchmark(models, batch_size=2, iters=1, warmup=0,
                      input_size=192)
    assert set(stats) == {'mmdet', 'mmregion'}
    for s in stats.values():
        assert s['detections'] > 0
        for part in ('net', 'post', 'total'):
            assert s[part]['median'] > 0
    assert stats['mmregion']['mask_mismatch'] == 0.0
    assert stats['mmregion']['post_ratio'] > 0
    assert stats['mmdet']['post_ratio'] == 1.0


def test_a_failing_variant_is_reported_not_raised():
    models = build_models(CONFIG)
    models['broken'] = None
    stats = benchmark(models, batch_size=1, iters=1, warmup=0,
                      input_size=192)
    assert 'error' in stats['broken']


def test_yolactpp_has_no_mmdet_reference():
    cfg = Config.fromfile(
        osp.join(REPO, 'configs/yolact/yolactpp_r50_1xb8-55e_coco.py'))
    with pytest.raises(ValueError, match='mmdet has no YOLACT\\+\\+'):
        reference_config(cfg.model)


def _detections(labels, boxes, seed):
    g = torch.Generator().manual_seed(seed)
    return InstanceData(
        labels=torch.tensor(labels),
        bboxes=torch.tensor(boxes, dtype=torch.float32),
        masks=torch.rand(len(labels), 6, 7, generator=g) > 0.5)


def test_mask_mismatch_pairs_reordered_detections():
    boxes = [[0, 0, 4, 4], [1, 1, 5, 6], [2, 0, 6, 3]]
    a = _detections([3, 1, 3], boxes, 0)
    order = torch.tensor([2, 0, 1])  # nearly tied scores swapped
    b = InstanceData(labels=a.labels[order], bboxes=a.bboxes[order] + 0.1,
                     masks=a.masks[order].clone())
    assert mask_mismatch([a], [b]) == 0.0
    b.masks[0, 0, 0] = ~b.masks[0, 0, 0]
    assert mask_mismatch([a], [b]) == 1 / a.masks.numel()


def test_mask_mismatch_is_one_when_detections_differ():
    a = _detections([3, 1], [[0, 0, 4, 4], [1, 1, 5, 6]], 0)
    relabelled = _detections([3, 2], [[0, 0, 4, 4], [1, 1, 5, 6]], 0)
    assert mask_mismatch([a], [relabelled]) == 1.0
    assert mask_mismatch([a], [a[:1]]) == 1.0
