from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from mmregion.models.layers.text_classifier import TextClassifier


def test_logits_are_cosine_over_temperature_with_zero_background():
    torch.manual_seed(0)
    emb = torch.randn(3, 8)
    feats = torch.randn(5, 8)
    clf = TextClassifier(8, emb, temperature=0.01)
    logits = clf(feats)
    assert logits.shape == (5, 4)
    expected = F.normalize(feats, dim=-1) @ F.normalize(emb, dim=-1).t()
    torch.testing.assert_close(logits[:, :3], expected / 0.01)
    assert torch.all(logits[:, 3] == 0)
    # Scale-invariant in both features and embeddings.
    torch.testing.assert_close(clf(feats * 7), logits)


def test_switch_vocabulary_and_vocabulary_objects():
    clf = TextClassifier(4, torch.eye(4)[:2], with_background=False)
    assert clf(torch.ones(1, 4)).shape == (1, 2)
    clf.set_vocabulary(SimpleNamespace(embeddings=torch.eye(4)))
    assert clf.num_classes == 4
    assert clf(torch.eye(4)).argmax(1).tolist() == [0, 1, 2, 3]


def test_errors():
    with pytest.raises(ValueError, match=r'dim 512 .*dim 640 \(512 vs 640\)'):
        TextClassifier(640, torch.zeros(3, 512))
    with pytest.raises(ValueError, match='roi_head.vocabulary: the '
                       'vocabulary is empty'):
        TextClassifier(8).set_vocabulary(
            torch.zeros(0, 8), where='roi_head.vocabulary')
    with pytest.raises(RuntimeError, match='no vocabulary'):
        TextClassifier(8)(torch.zeros(1, 8))
    with pytest.raises(ValueError, match='temperature must be > 0'):
        TextClassifier(8, temperature=0)
