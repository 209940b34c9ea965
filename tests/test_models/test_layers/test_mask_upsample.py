"""Window-only upsampling of cropped masks equals full bilinear upsampling."""
import pytest
import torch
import torch.nn.functional as F

from mmregion.models.layers import upsample_cropped_masks
from mmregion.models.layers.size_groups import round_up_pow2


def _cropped(n=40, h=30, w=34, seed=0):
    g = torch.Generator().manual_seed(seed)
    masks = torch.rand(n, h, w, generator=g)
    x1 = torch.randint(0, w - 2, (n, ), generator=g)
    y1 = torch.randint(0, h - 2, (n, ), generator=g)
    x2 = (x1 + torch.randint(1, w, (n, ), generator=g)).clamp(max=w)
    y2 = (y1 + torch.randint(1, h, (n, ), generator=g)).clamp(max=h)
    cols, rows = torch.arange(w), torch.arange(h)
    inside = (((rows >= y1[:, None]) & (rows < y2[:, None]))[:, :, None]
              & ((cols >= x1[:, None]) & (cols < x2[:, None]))[:, None])
    return masks * inside, torch.stack([x1, y1, x2, y2], 1)


@pytest.mark.parametrize('size', [(120, 160), (97, 131), (30, 34), (20, 25)])
@pytest.mark.parametrize('thr', [0.5, 0.3, 0.0])
def test_equals_full_bilinear_upsampling(size, thr):
    masks, windows = _cropped()
    want = F.interpolate(
        masks[None], size, mode='bilinear', align_corners=False)[0] > thr
    got = upsample_cropped_masks(masks, windows, size, thr)
    assert got.dtype == torch.bool and got.shape == (40, ) + size
    assert torch.equal(got, want)
    assert want.any(dim=(1, 2)).sum() > 10


def test_empty_window_and_no_masks():
    masks, windows = _cropped(n=3)
    windows[0] = torch.tensor([5, 5, 5, 9])  # zero width
    masks[0] = 0
    got = upsample_cropped_masks(masks, windows, (60, 68), 0.5)
    assert not got[0].any()
    empty = upsample_cropped_masks(masks[:0], windows[:0], (60, 68), 0.5)
    assert empty.shape == (0, 60, 68)


def test_negative_threshold_falls_back_to_full_upsampling():
    masks, windows = _cropped(n=4)
    got = upsample_cropped_masks(masks, windows, (50, 50), -0.1)
    assert got.all()  # every pixel, window or not, is > -0.1


def test_index_and_splits_equal_upsampling_each_chunk():
    """A padded batch viewed as (B * M, h, w): the chosen masks come back as
    one tensor per image, each equal to full upsampling of its masks."""
    masks, windows = _cropped(n=12)
    index = torch.tensor([0, 1, 2, 6, 7, 9, 10, 11])
    chunks = upsample_cropped_masks(masks, windows[index], (97, 131), 0.4,
                                    index, [3, 0, 5])
    assert [tuple(c.shape) for c in chunks] == [(3, 97, 131), (0, 97, 131),
                                                (5, 97, 131)]
    want = F.interpolate(
        masks[index][None], (97, 131), mode='bilinear',
        align_corners=False)[0] > 0.4
    assert torch.equal(torch.cat(chunks), want)


def test_windows_covering_the_whole_mask():
    """Windows wider than half the output pad to the output size itself."""
    g = torch.Generator().manual_seed(3)
    masks = torch.rand(5, 30, 34, generator=g)
    windows = torch.tensor([[0, 0, 34, 30]] * 4 + [[2, 1, 33, 29]])
    masks[4, :, :2] = masks[4, :, 33:] = 0
    masks[4, :1] = masks[4, 29:] = 0
    want = F.interpolate(
        masks[None], (61, 70), mode='bilinear', align_corners=False)[0] > .5
    assert torch.equal(
        upsample_cropped_masks(masks, windows, (61, 70), 0.5), want)


def test_runs_in_deterministic_mode():
    """mmengine's ``randomness=dict(deterministic=True)`` turns on
    torch.use_deterministic_algorithms, which refuses some scatter ops."""
    masks, windows = _cropped(n=6)
    before = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        got = upsample_cropped_masks(masks, windows, (45, 50), 0.5)
    finally:
        torch.use_deterministic_algorithms(before)
    want = F.interpolate(
        masks[None], (45, 50), mode='bilinear', align_corners=False)[0] > .5
    assert torch.equal(got, want)


def test_bad_bounds_or_splits_get_a_clear_error():
    masks, windows = _cropped(n=4)
    with pytest.raises(ValueError, match=r'bounds must be \(4, 4\)'):
        upsample_cropped_masks(masks, windows[:3], (20, 20), 0.5)
    with pytest.raises(ValueError, match='must be non-negative and sum to'):
        upsample_cropped_masks(masks, windows, (20, 20), 0.5, splits=[1, 2])


def test_round_up_pow2():
    sizes = torch.tensor([0, 1, 2, 3, 16, 17, 200])
    assert round_up_pow2(sizes).tolist() == [1, 1, 2, 4, 16, 32, 256]
    assert round_up_pow2(sizes, 16).tolist() == [16, 16, 16, 16, 16, 32, 256]
