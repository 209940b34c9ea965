"""CLIP's attention pool computed for its pooled token only."""
import open_clip
import pytest
import torch

from mmregion.models.layers.attention_pool import attention_pool_first_token


@pytest.mark.parametrize('grid', [2, 3])
def test_matches_open_clip_attention_pool(grid):
    torch.manual_seed(0)
    pool = open_clip.create_model('RN-tiny').visual.attnpool.eval()
    with torch.no_grad():
        for p in pool.parameters():
            p.normal_(0, 0.3)
    x = torch.randn(5, pool.k_proj.in_features, grid, grid)
    if grid != 2:  # RN-tiny's grid is 2 x 2 (64 / 32)
        with pytest.raises(RuntimeError):
            attention_pool_first_token(pool, x)
        return
    x.requires_grad_(True)
    out = attention_pool_first_token(pool, x)
    expected = pool(x)
    scale = float(expected.abs().max())
    assert scale > 1
    # float32 rounding of attention logits of ~scale: 2.5e-6 of it seen on
    # one CPU, a wrong pooled token is off by O(scale)
    torch.testing.assert_close(out, expected, rtol=0, atol=1e-5 * scale)
    (grad, ) = torch.autograd.grad(out.sum(), x)
    (ref, ) = torch.autograd.grad(expected.sum(), x)
    torch.testing.assert_close(grad,
                               ref,
                               rtol=0,
                               atol=2e-6 * float(ref.abs().max()))
