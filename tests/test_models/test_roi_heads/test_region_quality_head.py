"""RegionQualityHead: OLN-style IoU targets sampled away from unlabelled
objects, and its place in RegionCLIPRoIHead (loss in training, objectness x
quality at test time)."""
import pytest
import torch
from mmdet.registry import MODELS
from test_regionclip_roi_head import BOX_CONFIG, _batch, _model

QUALITY = dict(type='RegionQualityHead', in_channels=128, roi_size=4)


def _head(**changes):
    torch.manual_seed(0)
    return MODELS.build({**QUALITY, **changes})


def test_sample_targets_are_ious_and_skip_boxes_far_from_every_gt():
    head = _head(min_iou=0.1, num_samples=10)
    gt = torch.tensor([[0., 0., 10., 10.]])
    priors = torch.tensor([
        [0., 0., 10., 5.],  # half the box: IoU 0.5
        [0., 0., 20., 10.],  # twice the box: IoU 0.5
        [5., 5., 15., 15.],  # IoU 25 / 175
        [50., 50., 60., 60.],  # overlaps no box: an unlabelled object?
    ])
    boxes, target = head.sample([priors], [gt])
    # the gt box itself (IoU 1) and the three overlapping priors
    assert boxes[0].tolist() == [gt[0].tolist()] + priors[:3].tolist()
    torch.testing.assert_close(target, torch.tensor([1., .5, .5, 25 / 175]))


def test_sample_caps_per_image_and_handles_images_without_boxes():
    head = _head(num_samples=3)
    gt = torch.tensor([[0., 0., 10., 10.]])
    priors = gt.repeat(8, 1) + torch.arange(8.)[:, None] * 0.1
    boxes, target = head.sample([priors, priors], [gt, gt[:0]])
    assert [len(b) for b in boxes] == [3, 0]
    assert target.shape == (3, ) and (target > 0.5).all()
    loss = head.loss(target.new_zeros(0), target.new_zeros(0))
    assert loss['loss_quality'].item() == 0.0


def test_forward_is_a_probability_and_does_not_train_the_features():
    head = _head()
    feats = torch.randn(5, 128, 4, 4, requires_grad=True)
    q = head(feats)
    assert q.shape == (5, ) and ((q > 0) & (q < 1)).all()
    head.loss(q, torch.rand(5))['loss_quality'].backward()
    assert feats.grad is None  # detached: the CLIP features stay as they are
    assert head.fc[-1].weight.grad.abs().sum() > 0


@pytest.mark.parametrize('changes, match', [
    (dict(min_iou=1.0), r'min_iou must be in \[0, 1\), got 1.0'),
    (dict(num_samples=0), r'num_samples must be >= 1, got 0'),
    (dict(context_scale=0.5), r'context_scale must be > 1 \(or 0: no '
     r'context\), got 0.5'),
    (dict(score_power=0), r'score_power must be > 0, got 0'),
])
def test_bad_settings_are_named(changes, match):
    with pytest.raises(ValueError, match=match):
        _head(**changes)


@pytest.mark.parametrize('context', [0.0, 2.0])
def test_roi_head_adds_the_loss_and_multiplies_objectness_by_quality(context):
    quality = dict(QUALITY, context_scale=context)
    model = _model(BOX_CONFIG, **{'roi_head.quality_head': quality})
    # with context, the enlarged boxes' features double the input channels
    assert model.roi_head.quality_head.conv.conv.in_channels == (
        256 if context else 128)
    image, samples = _batch(with_masks=False)
    losses = model.loss(image, samples)
    assert torch.isfinite(losses['loss_quality'])
    assert losses['loss_quality'] > 0
    losses['loss_quality'].backward()
    assert model.roi_head.quality_head.fc[-1].weight.grad.abs().sum() > 0
    assert all(p.grad is None or p.grad.abs().sum() == 0
               for p in model.backbone.parameters())

    model.eval()
    with torch.no_grad():
        with_q = model.predict(image, samples)[0].pred_instances
        # a quality of 1 everywhere gives the detector without the head
        model.roi_head.quality_head.fc[-1].bias.fill_(1e4)
        q_one = model.predict(image, samples)[0].pred_instances
        head = model.roi_head.quality_head
        model.roi_head.quality_head = None
        plain = model.predict(image, samples)[0].pred_instances
        model.roi_head.quality_head = head
    torch.testing.assert_close(q_one.scores, plain.scores)
    assert not torch.allclose(with_q.scores.sort().values[-5:],
                              plain.scores.sort().values[-5:])


@pytest.mark.parametrize('power', [1.0, 4.0])
def test_score_power_raises_the_quality_in_the_score(power):
    quality = dict(QUALITY, score_power=power)
    model = _model(BOX_CONFIG, **{'roi_head.quality_head': quality})
    image, samples = _batch(with_masks=False)
    model.eval()
    with torch.no_grad():
        # a quality of 0.5 everywhere: scores sqrt(p * obj * 0.5 ** power)
        model.roi_head.quality_head.fc[-1].weight.zero_()
        model.roi_head.quality_head.fc[-1].bias.zero_()
        with_q = model.predict(image, samples)[0].pred_instances
        model.roi_head.quality_head = None
        plain = model.predict(image, samples)[0].pred_instances
    top = plain.scores.sort(descending=True).values[:5]
    torch.testing.assert_close(
        with_q.scores.sort(descending=True).values[:5],
        top * 0.5**(power / 2))


def test_quality_without_objectness_is_refused():
    with pytest.raises(ValueError, match=r'quality_head multiplies the '
                       r'objectness; it needs use_objectness=True'):
        _model(BOX_CONFIG, **{'roi_head.quality_head': QUALITY,
                              'roi_head.use_objectness': False})
    with pytest.raises(ValueError, match=r"objectness_score='sigmoid'"):
        _model(BOX_CONFIG, **{'roi_head.quality_head': QUALITY,
                              'roi_head.bbox_head.objectness_score': 'logit'})


@pytest.mark.parametrize('changes, match', [
    (dict(in_channels=64), r'128 channels at \(4, 4\); got in_channels=64, '
     r'roi_size=\(4, 4\)'),
    (dict(roi_size=7), r'128 channels at \(4, 4\); got in_channels=128, '
     r'roi_size=\(7, 7\)'),
])
def test_quality_head_must_read_the_extractors_features(changes, match):
    with pytest.raises(ValueError, match=match):
        _model(BOX_CONFIG, **{'roi_head.quality_head': {**QUALITY,
                                                        **changes}})
