"""Batched Fast NMS / standard NMS against mmdet's and mmcv's per-image
ones."""
import pytest
import torch
from mmcv.ops import nms
from mmdet.models.layers import fast_nms

from mmregion.models.layers import batched_fast_nms, batched_standard_nms

SETTINGS = dict(score_thr=0.05, iou_thr=0.5, top_k=20, max_num=15)


def _random_batch(seed, b=3, n=60, c=5, k=4):
    """Clustered random boxes (so that NMS suppresses), scores, coeffs."""
    g = torch.Generator().manual_seed(seed)
    centres = torch.rand(b, 6, 2, generator=g) * 80 + 10
    pick = torch.randint(0, 6, (b, n), generator=g)
    ctr = centres.gather(1, pick[..., None].expand(-1, -1, 2))
    ctr = ctr + torch.randn(b, n, 2, generator=g) * 4
    wh = torch.rand(b, n, 2, generator=g) * 20 + 10
    boxes = torch.cat([ctr - wh / 2, ctr + wh / 2], -1)
    scores = torch.rand(b, n, c, generator=g) ** 2
    coeffs = torch.randn(b, n, k, generator=g)
    return boxes, scores, coeffs


@pytest.mark.parametrize('seed', range(5))
def test_fast_nms_equals_mmdet_per_image(seed):
    _assert_equals_mmdet_fast_nms(*_random_batch(seed), SETTINGS)


def _assert_equals_mmdet_fast_nms(boxes, scores, coeffs, settings):
    """Every image of the batched result equals mmdet's per-image one."""
    dets = batched_fast_nms(boxes, scores, coeffs, **settings)
    for i in range(len(boxes)):
        background = scores[i].new_zeros(len(scores[i]), 1)
        with_bg = torch.cat([scores[i], background], 1)
        ref_dets, ref_labels, ref_coeffs = fast_nms(
            boxes[i], with_bg, coeffs[i], settings['score_thr'],
            settings['iou_thr'], settings['top_k'], settings['max_num'])
        valid = dets.valid[i]
        assert valid.sum() == len(ref_dets) > 0
        torch.testing.assert_close(dets.bboxes[i][valid], ref_dets[:, :4])
        torch.testing.assert_close(dets.scores[i][valid], ref_dets[:, 4])
        assert torch.equal(dets.labels[i][valid], ref_labels)
        torch.testing.assert_close(dets.coeffs[i][valid], ref_coeffs)


@pytest.mark.parametrize('seed', range(3))
def test_fast_nms_with_uneven_candidate_counts_equals_mmdet(seed):
    """Classes with 1 to ~150 candidates above the threshold: the IoU
    matrices are built in several width groups (16, 32, ..., 200)."""
    boxes, scores, coeffs = _random_batch(seed, b=2, n=200, c=12)
    # class j keeps about a fraction ((j + 1) / 12) ** 2 of its candidates
    g = torch.Generator().manual_seed(seed)
    kept = torch.rand(scores.shape, generator=g) < (
        (torch.arange(12) + 1.) / 12)**2
    scores = kept.float() * (0.06 + 0.94 * scores)
    settings = dict(score_thr=0.05, iou_thr=0.5, top_k=200, max_num=-1)
    counts = (scores > 0.05).sum(1)
    assert counts.min() < 16 and counts.max() > 128
    _assert_equals_mmdet_fast_nms(boxes, scores, coeffs, settings)


def _reference_standard_nms(boxes, scores, score_thr, iou_thr, top_k,
                            max_num):
    """Greedy NMS per class with mmcv, then the best max_num overall."""
    kept = []
    for c in range(scores.shape[1]):
        s, idx = scores[:, c].topk(min(top_k, len(scores)))
        above = s > score_thr
        s, idx = s[above], idx[above]
        if len(idx) == 0:
            continue
        _, keep = nms(boxes[idx], s, iou_thr)
        kept += [(float(s[j]), c, int(idx[j])) for j in keep]
    kept.sort(key=lambda t: -t[0])
    return kept[:max_num]


@pytest.mark.parametrize('seed', range(3))
def test_standard_nms_equals_greedy_nms_per_image_and_class(seed):
    boxes, scores, coeffs = _random_batch(seed)
    dets = batched_standard_nms(boxes, scores, coeffs, **SETTINGS)
    for i in range(len(boxes)):
        ref = _reference_standard_nms(boxes[i], scores[i], **SETTINGS)
        valid = dets.valid[i]
        assert int(valid.sum()) == len(ref)
        torch.testing.assert_close(dets.scores[i][valid],
                                   torch.tensor([r[0] for r in ref]))
        assert dets.labels[i][valid].tolist() == [r[1] for r in ref]
        torch.testing.assert_close(dets.bboxes[i][valid],
                                   boxes[i][[r[2] for r in ref]])


@pytest.mark.parametrize('seed', range(3))
def test_fast_nms_keeps_a_subset_of_standard_nms(seed):
    """Suppressed boxes may still suppress in Fast NMS, so it never keeps a
    box that greedy NMS removes."""
    boxes, scores, coeffs = _random_batch(seed)
    settings = dict(SETTINGS, max_num=-1)
    fast = batched_fast_nms(boxes, scores, coeffs, **settings)
    std = batched_standard_nms(boxes, scores, coeffs, **settings)
    for i in range(len(boxes)):
        key = lambda d: {(int(lab), round(float(s), 6))  # noqa: E731
                         for lab, s in zip(d.labels[i][d.valid[i]],
                                           d.scores[i][d.valid[i]])}
        assert key(fast) <= key(std)
    assert fast.valid.sum() < std.valid.sum()


def test_nothing_above_threshold_gives_empty_padded_output():
    boxes, scores, coeffs = _random_batch(0)
    for fn in (batched_fast_nms, batched_standard_nms):
        dets = fn(boxes, scores, coeffs, 1.5, 0.5, 20, 10)
        assert dets.bboxes.shape == (3, 0, 4)
        assert dets.coeffs.shape == (3, 0, 4)
        assert dets.valid.shape == (3, 0)


def test_max_num_caps_each_image_and_pads_the_rest():
    boxes, scores, coeffs = _random_batch(1)
    scores[1] = 0.  # image 1 has no detection
    dets = batched_fast_nms(boxes, scores, coeffs, 0.05, 0.5, 20, 3)
    assert dets.valid.shape == (3, 3)
    assert dets.valid[0].all() and not dets.valid[1].any()
    assert (dets.scores[0][:-1] >= dets.scores[0][1:]).all()
