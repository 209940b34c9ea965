import pytest
import torch
import torch.nn.functional as F

from mmregion.models.losses.focal_scaled_ce import FocalScaledCrossEntropyLoss


def _direct(scores, labels, gamma, bg_weight):
    """RegionCLIP's formula written out row by row."""
    num_classes = scores.shape[1] - 1
    total = 0.0
    for s, y in zip(scores, labels):
        p = F.softmax(s, dim=0)
        ce = -torch.log(p[y])
        w = bg_weight if y == num_classes else 1.0
        total += ce * (1 - p[y])**gamma * w
    return total / len(labels)


def test_matches_the_formula():
    torch.manual_seed(0)
    scores = torch.randn(6, 5) * 3
    labels = torch.tensor([0, 4, 4, 2, 1, 4])
    loss = FocalScaledCrossEntropyLoss(gamma=0.5, bg_weight=0.2)
    torch.testing.assert_close(
        loss(scores, labels), _direct(scores, labels, 0.5, 0.2))
    per_row = loss(scores, labels, reduction_override='none')
    assert per_row.shape == (6, )
    torch.testing.assert_close(per_row.sum(),
                               _direct(scores, labels, 0.5, 0.2) * 6)


def test_gamma_zero_and_plain_weighted_ce():
    torch.manual_seed(1)
    scores = torch.randn(8, 4)
    labels = torch.tensor([0, 3, 3, 1, 2, 3, 0, 3])
    focal0 = FocalScaledCrossEntropyLoss(gamma=0.0, bg_weight=1.0)
    torch.testing.assert_close(
        focal0(scores, labels), F.cross_entropy(scores, labels))
    plain = FocalScaledCrossEntropyLoss(gamma=None, bg_weight=0.8)
    class_weight = torch.tensor([1.0, 1.0, 1.0, 0.8])
    torch.testing.assert_close(
        plain(scores, labels),
        F.cross_entropy(scores, labels, weight=class_weight))


def test_focal_scaling_down_weights_easy_rows():
    scores = torch.tensor([[10.0, 0.0, 0.0], [0.0, 0.1, 0.0]])
    labels = torch.tensor([0, 0])
    per_row = FocalScaledCrossEntropyLoss(gamma=0.5)(
        scores, labels, reduction_override='none')
    ce = F.cross_entropy(scores, labels, reduction='none')
    assert per_row[0] / ce[0] < 0.01 < per_row[1] / ce[1]


def test_empty_and_sampler_weights():
    loss = FocalScaledCrossEntropyLoss()
    scores = torch.zeros(0, 3, requires_grad=True)
    out = loss(scores, torch.zeros(0, dtype=torch.long))
    assert out.item() == 0.0 and out.requires_grad
    scores = torch.randn(4, 3)
    labels = torch.tensor([0, 1, 2, 2])
    masked = loss(scores, labels, weight=torch.tensor([1.0, 1.0, 0.0, 0.0]))
    torch.testing.assert_close(masked, loss(scores[:2], labels[:2]))
    with pytest.raises(ValueError, match='gamma must be >= 0'):
        FocalScaledCrossEntropyLoss(gamma=-1)


def test_confident_rows_keep_finite_gradients():
    """A row classified with p_t == 1 in float32 (a confident background
    RoI of an untrained CLIP) must not turn the gradient into NaN."""
    scores = torch.tensor([[-100., -90., 0.], [5., 0., 0.]],
                          requires_grad=True)
    loss = FocalScaledCrossEntropyLoss(gamma=0.5, bg_weight=0.2)(
        scores, torch.tensor([2, 0]))
    loss.backward()
    assert torch.isfinite(scores.grad).all()
    assert scores.grad[0].abs().max() < 1e-6
    torch.testing.assert_close(
        loss, _direct(scores.detach(), torch.tensor([2, 0]), 0.5, 0.2))
