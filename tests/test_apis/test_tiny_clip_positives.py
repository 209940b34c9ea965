"""Caption-aware positives of the tiny CLIP's contrastive loss."""
import pytest
import torch
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from mmregion.apis.ovd_settings import object_words
from mmregion.apis.tiny_clip import multi_positive_clip_loss
from mmregion.datasets import caption_objects

SHAPES = ('circle', 'cross', 'star')


def test_caption_objects_singular_and_plural():
    assert caption_objects('a picture of two crosses and a red star.',
                           SHAPES) == frozenset({'cross', 'star'})
    assert caption_objects('Circles on a coloured background.',
                           SHAPES) == frozenset({'circle'})
    # whole words only: 'starry' names no star
    assert caption_objects('a starry circle', SHAPES) == {'circle'}


def test_object_words_drop_template_nouns():
    assert object_words(['background', 'picture', 'hexagon', 'image',
                         'moon']) == ['hexagon', 'moon']


def _features(n=4, d=8):
    g = torch.Generator().manual_seed(0)
    return (F.normalize(torch.randn(n, d, generator=g), dim=-1),
            F.normalize(torch.randn(n, d, generator=g), dim=-1),
            torch.tensor(10.0))


def test_distinct_keys_equal_clip_loss():
    image, text, scale = _features()
    keys = [frozenset({k}) for k in 'abcd']
    assert multi_positive_clip_loss(image, text, scale, keys).item() == \
        pytest.approx(ClipLoss()(image, text, scale).item(), rel=1e-6)


def test_same_objects_are_not_negatives():
    image, text, scale = _features()
    # images 0 and 1 show the same objects: caption 1 is as right for
    # image 0 as caption 0; targets 1/2 each
    keys = [frozenset({'a'}), frozenset({'a'}), frozenset({'b'}),
            frozenset({'c'})]
    logits = scale * image @ text.t()
    targets = torch.tensor([[.5, .5, 0, 0], [.5, .5, 0, 0], [0, 0, 1, 0],
                            [0, 0, 0, 1.]])
    expected = -((targets * logits.log_softmax(1)).sum(1).mean() +
                 (targets * logits.t().log_softmax(1)).sum(1).mean()) / 2
    loss = multi_positive_clip_loss(image, text, scale, keys)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert loss.item() != pytest.approx(
        ClipLoss()(image, text, scale).item(), rel=1e-3)
