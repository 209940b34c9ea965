"""The pieces every converter shares: anchor reordering, BatchNorm
handling, key descriptions, checkpoint I/O."""
import pytest
import torch
import torch.nn as nn

from mmregion.converters import regionclip, yolact
from mmregion.converters.common import (
    add_bn_counters,
    as_tensor,
    describe_by_reason,
    describe_keys,
    fold_bias_into_bn,
    load_checkpoint_dict,
    to_mmdet_anchor_order,
    to_official_anchor_order,
)

LAYOUTS = {
    'yolact v1 (square)': lambda: yolact.anchor_permutation(1, True),
    'yolact++': lambda: yolact.anchor_permutation(3, False),
    'detectron2 C4': lambda: regionclip.anchor_permutation(5, 3),
    'detectron2 FPN': lambda: regionclip.anchor_permutation(1, 3),
}


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
@pytest.mark.parametrize('per_anchor', [1, 4, 81])
def test_anchor_reordering_is_inverted(layout, per_anchor):
    perm = LAYOUTS[layout]()
    assert sorted(perm) == list(range(len(perm)))
    weight = torch.randn(len(perm) * per_anchor, 3, 1, 1)
    bias = torch.randn(len(perm) * per_anchor)
    for tensor in (weight, bias):
        mm = to_mmdet_anchor_order(tensor, perm)
        assert mm.shape == tensor.shape
        # official anchor d's block is mmdet anchor perm[d]'s block
        for d, m in enumerate(perm):
            assert torch.equal(mm[m * per_anchor:(m + 1) * per_anchor],
                               tensor[d * per_anchor:(d + 1) * per_anchor])
        assert torch.equal(to_official_anchor_order(mm, perm), tensor)
        assert torch.equal(
            to_mmdet_anchor_order(to_official_anchor_order(tensor, perm),
                                  perm), tensor)


def test_yolact_plus_permutation_is_not_the_identity():
    # a regression guard: the inverse test above would pass with identity
    assert yolact.anchor_permutation(3, False) != list(range(9))
    assert regionclip.anchor_permutation(5, 3)[:4] == [0, 5, 10, 1]


def test_add_bn_counters_only_where_missing():
    state = {
        'a.bn.running_var': torch.ones(2),
        'a.bn.num_batches_tracked': torch.tensor(7),
        'b.bn.running_var': torch.ones(2),
        'c.bn.running_var': torch.ones(2),
    }
    assert add_bn_counters(state, prefix='c.') == ['c.bn.num_batches_tracked']
    assert add_bn_counters(state) == ['b.bn.num_batches_tracked']
    assert state['a.bn.num_batches_tracked'].item() == 7
    counter = state['b.bn.num_batches_tracked']
    assert counter.dtype == torch.long and counter.shape == ()
    assert counter.item() == 0
    assert add_bn_counters(state) == []


def test_fold_bias_into_bn_is_exact_in_eval():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, bias=True)
    bn = nn.BatchNorm2d(4).eval()
    bn.running_mean.uniform_(-1, 1)
    bn.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 3, 6, 6)
    expected = bn(conv(x))
    state = {'bn.running_mean': bn.running_mean.clone()}
    folded = fold_bias_into_bn(
        state, {'bn.running_mean': conv.bias.detach(),
                'absent.running_mean': torch.zeros(4)})
    assert folded == ['bn.running_mean']
    bn.running_mean.copy_(state['bn.running_mean'])
    no_bias = nn.functional.conv2d(x, conv.weight)
    assert torch.allclose(bn(no_bias), expected, atol=1e-6)


def test_descriptions():
    assert describe_keys(['b', 'a']) == '2 keys: a, b'
    assert describe_keys(['x']) == '1 key: x'
    assert describe_keys(list('fedcba')) == '6 keys: a, b, c, d, e, ...'
    skipped = {'k1': 'why', 'k2': 'other', 'k3': 'why', 'k4': 'why',
               'k5': 'why'}
    assert describe_by_reason(skipped) == (
        'why (4 keys: k1, k3, k4, ...); other (1 key: k2)')


def test_as_tensor():
    import numpy as np
    assert torch.equal(as_tensor(np.arange(3)), torch.arange(3))
    assert as_tensor(np.float32(2)).item() == 2
    assert as_tensor('text') is None


def test_load_checkpoint_dict_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match='Toy checkpoint .* does not'):
        load_checkpoint_dict(str(tmp_path / 'no.pth'), 'Toy', 'a dict')
    path = str(tmp_path / 'list.pth')
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match='holds a list, not a dict'):
        load_checkpoint_dict(path, 'Toy', 'a dict')
