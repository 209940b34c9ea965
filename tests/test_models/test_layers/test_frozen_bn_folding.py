"""Frozen and eval-mode BN folded into convolutions at inference
(CLIPResNet, mmdet's ResNet)."""
import copy

import torch

from mmregion.models.backbones import CLIPResNet
from mmregion.models.layers.frozen_bn_folding import (
    FoldedFrozenBatchNorm2d,
    FoldingConv2d,
)


def _pair(seed: int = 0):
    torch.manual_seed(seed)
    plain = CLIPResNet('RN-tiny', out_indices=(3, ), fold_frozen_bn=False)
    with torch.no_grad():
        for module in plain.modules():
            if hasattr(module, 'running_var'):
                module.running_var.uniform_(0.5, 1.5)
                module.running_mean.normal_(0, 0.2)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0, 0.2)
    folded = CLIPResNet('RN-tiny', out_indices=(3, ))
    folded.load_state_dict(plain.state_dict())
    return plain.eval(), folded.eval()


def test_every_conv_bn_pair_is_folded_and_the_state_dict_kept():
    plain, folded = _pair()
    convs = [m for m in folded.modules() if isinstance(m, FoldingConv2d)]
    bns = [
        m for m in folded.modules() if isinstance(m, FoldedFrozenBatchNorm2d)
    ]
    # stem (3) + per block conv1..3 (+ downsample): every BN is paired
    assert len(convs) == len(bns) == sum(
        hasattr(m, 'running_var') for m in plain.modules())
    assert list(folded.state_dict()) == list(plain.state_dict())


def test_folded_inference_matches_and_other_modes_are_unchanged():
    plain, folded = _pair()
    x = torch.randn(2, 3, 64, 96)
    with torch.no_grad():
        ref = plain(x)[0]
        out = folded(x)[0]
    assert ref.abs().max() > 0.1
    torch.testing.assert_close(out,
                               ref,
                               rtol=1e-5,
                               atol=1e-5 * float(ref.abs().max()))
    assert not torch.equal(out, ref)  # it did run the folded path
    # with autograd (and in train mode) the unfolded computation runs
    assert torch.equal(folded(x)[0], plain(x)[0])
    assert torch.equal(folded.train()(x)[0], plain.train()(x)[0])


def test_folded_weights_follow_a_new_state_dict():
    plain, folded = _pair(0)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        folded(x)
        other, _ = _pair(1)
        folded.load_state_dict(other.state_dict())
        torch.testing.assert_close(folded(x)[0],
                                   other(x)[0],
                                   rtol=1e-5,
                                   atol=1e-5)


def test_mmdet_resnet_batchnorm_folds_only_in_eval_mode():
    from mmdet.models.backbones import ResNet

    from mmregion.models.layers.frozen_bn_folding import (
        FoldedBatchNorm2d,
        fold_frozen_bn,
    )
    torch.manual_seed(0)
    plain = ResNet(18, base_channels=8, out_indices=(3, ))
    with torch.no_grad():
        for m in plain.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_var.uniform_(0.5, 1.5)
                m.running_mean.normal_(0, 0.2)
    folded = copy.deepcopy(plain)
    # stem + 8 blocks x 2 + 3 downsample shortcuts
    assert fold_frozen_bn(folded) == 1 + 16 + 3
    assert sum(isinstance(m, FoldedBatchNorm2d)
               for m in folded.modules()) == 20
    assert list(folded.state_dict()) == list(plain.state_dict())
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        plain.eval(), folded.eval()  # (mmdet's ResNet.train returns None)
        ref, out = plain(x)[0], folded(x)[0]
        torch.testing.assert_close(out, ref, rtol=1e-5,
                                   atol=1e-5 * float(ref.abs().max()))
        assert not torch.equal(out, ref)  # the folded path ran
        # a BN left in train mode normalises by the batch: nothing folds
        for m in folded.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
        for m in plain.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
        assert torch.equal(folded(x)[0], plain(x)[0])
