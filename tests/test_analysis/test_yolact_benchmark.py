"""The YOLACT benchmark runs both models on the same batches and checks
that their masks agree (timings are printed, never asserted)."""
import os.path as osp

import pytest

from conftest import REPO
from mmregion.analysis.yolact_benchmark import (benchmark, build_models,
                                                reference_config)
from mmengine.config import Config

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
