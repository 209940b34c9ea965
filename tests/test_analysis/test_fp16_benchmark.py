"""The mixed-precision benchmark runs and reports comparable detections."""
import os.path as osp

from conftest import REPO

from mmregion.analysis.fp16_benchmark import (
    benchmark_fp16,
    format_fp16_results,
)


def test_fp16_benchmark_on_the_tiny_regionclip():
    config = 'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py'
    results = benchmark_fp16(
        osp.join(REPO, config), batch_size=1, iters=1, size=(64, 64))
    assert results['dtype'] == 'bfloat16'
    assert results['fp32_ms'] > 0 and results['mixed_ms'] > 0
    assert 0 <= results['score_diff'] < 1
    assert format_fp16_results(results).startswith('float32 ')
