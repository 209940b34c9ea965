"""Pseudo labels and the three region-text losses against their formulas."""
import math
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from mmregion.models.losses import (
    caption_candidates,
    concept_pseudo_labels,
    gather_with_grad,
    image_text_contrastive_loss,
    region_distillation_loss,
    region_text_contrastive_loss,
)

T = 0.01


def _unit(*values):
    return F.normalize(torch.tensor(values, dtype=torch.float), dim=-1)


@pytest.fixture
def concepts():
    """Three concepts along the first three axes of a 4-d space."""
    return torch.eye(4)[:3]


def test_pseudo_labels_argmax_and_threshold(concepts):
    # cosines: region 0 → (0, 1, 0): concept 1, certain;
    # region 1 → concepts 0 and 2 at cosines differing by 0.01: logits differ
    # by 1 at T = 0.01, probabilities e/(1+e) = 0.731 and 0.269;
    # region 2 → orthogonal to every concept: uniform, 1/3 each.
    c = 0.7
    teacher = torch.stack([
        _unit(0, 1, 0, 0),
        torch.tensor([c + 0.01, 0, c, math.sqrt(1 - c**2 - (c + .01)**2)]),
        _unit(0, 0, 0, 1)
    ])
    labels = concept_pseudo_labels(teacher, concepts, T, threshold=0.1)
    assert labels.labels.tolist()[:2] == [1, 0]
    expected = torch.tensor([
        [0, 1, 0],
        [math.e / (1 + math.e), 0, 1 / (1 + math.e)],
        [1 / 3, 1 / 3, 1 / 3],
    ])
    # exp(-70) vs exp(0) and the like: the near-zero entries are < 1e-30
    assert torch.allclose(labels.probs, expected, atol=1e-4)
    assert labels.keep.tolist() == [True, True, True]
    assert concept_pseudo_labels(teacher, concepts, T,
                                 0.5).keep.tolist() == [True, True, False]
    assert concept_pseudo_labels(teacher, concepts, T,
                                 0.75).keep.tolist() == [True, False, False]
    # the labels do not depend on feature norms
    scaled = concept_pseudo_labels(teacher * 7, concepts, T, 0.5)
    assert torch.allclose(scaled.probs, labels.probs, atol=1e-5)


def _direct_contrastive(features, concepts, labels, temperature):
    """-1/N sum_i log(sum_{j: y_j = y_i} e^{s_ij} / sum_j e^{s_ij})."""
    f = F.normalize(features, dim=-1)
    c = F.normalize(concepts, dim=-1)
    total = 0.0
    for i in range(len(labels)):
        s = [float(f[i] @ c[labels[j]]) / temperature
             for j in range(len(labels))]
        num = sum(math.exp(s[j]) for j in range(len(labels))
                  if labels[j] == labels[i])
        total -= math.log(num / sum(math.exp(v) for v in s))
    return total / len(labels)


def test_region_text_contrastive_matches_formula():
    torch.manual_seed(0)
    features = torch.randn(5, 8, dtype=torch.float64)
    concepts = torch.randn(4, 8, dtype=torch.float64)
    labels = torch.tensor([0, 2, 0, 3, 2])
    for temperature in (1.0, 0.1):
        loss = region_text_contrastive_loss(features, concepts, labels,
                                            temperature)
        assert loss.item() == pytest.approx(
            _direct_contrastive(features, concepts, labels, temperature),
            rel=1e-9)
    # all regions of one concept: every column is positive, the loss is 0
    same = region_text_contrastive_loss(features, concepts,
                                        torch.tensor([1] * 5), 1.0)
    assert same.item() == pytest.approx(0.0, abs=1e-12)


def test_region_distillation_matches_formula():
    torch.manual_seed(1)
    features = torch.randn(3, 6, dtype=torch.float64)
    concepts = torch.randn(5, 6, dtype=torch.float64)
    teacher = torch.randn(3, 5, dtype=torch.float64).softmax(-1)
    temperature = 0.5
    p = (F.normalize(features, dim=-1) @ F.normalize(concepts, dim=-1).t() /
         temperature).softmax(-1)
    expected = (teacher * (teacher.log() - p.log())).sum() / 3
    loss = region_distillation_loss(features, concepts, teacher, temperature)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-9)
    # the teacher's own features give zero divergence
    assert region_distillation_loss(
        features, concepts, p, temperature).item() == pytest.approx(
            0.0, abs=1e-12)


def _direct_image_text(images, texts, temperature):
    """Symmetric InfoNCE on the whole (M, M) matrix."""
    logits = F.normalize(images, dim=-1) @ F.normalize(texts, dim=-1).t()
    logits = logits / temperature
    total = 0.0
    for i in range(len(images)):
        total -= logits[i, i] - torch.logsumexp(logits[i], 0)
        total -= logits[i, i] - torch.logsumexp(logits[:, i], 0)
    return float(total) / (2 * len(images))


def test_image_text_contrastive_matches_formula():
    torch.manual_seed(2)
    images = torch.randn(4, 8, dtype=torch.float64)
    texts = torch.randn(4, 8, dtype=torch.float64)
    loss = image_text_contrastive_loss(images, texts, 0.2)
    assert loss.item() == pytest.approx(
        _direct_image_text(images, texts, 0.2), rel=1e-9)
    with pytest.raises(ValueError, match='4 images but 3 captions'):
        image_text_contrastive_loss(images, texts[:3])


def test_no_region_above_threshold_is_a_zero_in_the_graph(concepts):
    student = torch.randn(0, 4, requires_grad=True)
    no_labels = torch.zeros(0, dtype=torch.long)
    for loss in (region_text_contrastive_loss(student, concepts, no_labels),
                 region_distillation_loss(student, concepts,
                                          torch.zeros(0, 3))):
        assert loss.item() == 0.0 and torch.isfinite(loss)
        assert loss.requires_grad
        loss.backward()
        assert student.grad is not None and student.grad.shape == (0, 4)
    # all regions below the threshold: the keep mask selects none
    teacher = torch.ones(3, 4)  # equally far from the three concepts
    labels = concept_pseudo_labels(teacher, concepts, T, threshold=0.5)
    assert not labels.keep.any()
    regions = torch.randn(3, 4, requires_grad=True)
    loss = region_text_contrastive_loss(regions[labels.keep], concepts,
                                        labels.labels[labels.keep])
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(regions.grad, torch.zeros(3, 4))


def test_batch_of_one_image():
    image = torch.randn(1, 8, requires_grad=True)
    text = torch.randn(1, 8)
    loss = image_text_contrastive_loss(image, text)
    assert loss.item() == 0.0 and torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(image.grad).all()
    # one kept region: its own concept is the only column
    region = torch.randn(1, 8, requires_grad=True)
    loss = region_text_contrastive_loss(region, torch.randn(3, 8),
                                        torch.tensor([2]))
    assert loss.item() == pytest.approx(0.0, abs=1e-6)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world_size: int, port: int, out_dir: str) -> None:
    torch_dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
        world_size=world_size)
    try:
        torch.manual_seed(0)
        # uneven batches: rank 0 has 2 pairs, rank 1 has 3
        images = torch.randn(5, 6, dtype=torch.float64)
        texts = torch.randn(5, 6, dtype=torch.float64)
        rows = slice(0, 2) if rank == 0 else slice(2, 5)
        local_images = images[rows].clone().requires_grad_(True)
        gathered, offset = gather_with_grad(local_images)
        assert gathered.shape == (5, 6) and offset == rows.start
        assert torch.equal(gathered.detach(), images)
        loss = image_text_contrastive_loss(local_images, texts[rows], 0.5)
        loss.backward()
        torch.save(
            dict(loss=loss.detach(), grad=local_images.grad, rows=rows),
            osp.join(out_dir, f'rank{rank}.pth'))
    finally:
        torch_dist.destroy_process_group()


def test_image_text_negatives_gathered_across_two_processes(tmp_path):
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2)
    torch.manual_seed(0)
    images = torch.randn(5, 6, dtype=torch.float64)
    texts = torch.randn(5, 6, dtype=torch.float64)
    for rank in (0, 1):
        result = torch.load(tmp_path / f'rank{rank}.pth', weights_only=False)
        rows = result['rows']
        # the local rows against all 5 pairs; the others are constants
        local = images[rows].clone().requires_grad_(True)
        all_images = torch.cat(
            [images[:rows.start], local, images[rows.stop:]])
        logits_i2t = F.normalize(local, dim=-1) @ F.normalize(
            texts, dim=-1).t() / 0.5
        logits_t2i = F.normalize(texts[rows], dim=-1) @ F.normalize(
            all_images, dim=-1).t() / 0.5
        targets = torch.arange(rows.start, rows.stop)
        expected = (F.cross_entropy(logits_i2t, targets) +
                    F.cross_entropy(logits_t2i, targets)) / 2
        expected.backward()
        assert result['loss'].item() == pytest.approx(expected.item(),
                                                      rel=1e-9)
        assert torch.allclose(result['grad'], local.grad, rtol=1e-9)
    # the negatives are those of both processes: not the single-process loss
    single = image_text_contrastive_loss(images[:2], texts[:2], 0.5)
    first = torch.load(tmp_path / 'rank0.pth', weights_only=False)['loss']
    assert abs(single.item() - first.item()) > 1e-3


def test_pseudo_labels_over_allowed_concepts(concepts):
    # region 0 is nearest concept 1 but its image names only 0 and 2:
    # the softmax ranges over those two; region 1 has no candidate
    teacher = torch.stack([_unit(0.2, 1, 0.1, 0), _unit(1, 0, 0, 0)])
    allowed = torch.tensor([[True, False, True], [False, False, False]])
    labels = concept_pseudo_labels(teacher, concepts, T, 0.5, allowed)
    assert labels.labels[0].item() == 0
    assert labels.probs[0, 1].item() == 0
    full = concept_pseudo_labels(teacher[:1], concepts, T, 0.5)
    logits = full.probs[0, [0, 2]].log()
    assert torch.allclose(labels.probs[0, [0, 2]], logits.softmax(-1),
                          atol=1e-5)
    assert labels.probs[1].tolist() == [0, 0, 0]
    assert labels.keep.tolist() == [True, False]


def test_caption_candidates_per_region():
    names = ['circle', 'cross', 'red star', 'moon']
    captions = [['two crosses and a circle.', 'a picture.'],
                ['a red star on a moonlit sea.']]
    table = caption_candidates(captions, names, torch.tensor([1, 0, 0]))
    assert table.tolist() == [[False, False, True, False],
                              [True, True, False, False],
                              [True, True, False, False]]
    assert caption_candidates([[]], names,
                              torch.zeros(0, dtype=torch.long)).shape == (0,
                                                                          4)


def test_distillation_from_a_masked_teacher_is_finite(concepts):
    # zero teacher probabilities (concepts the captions do not name) add
    # nothing to the KL divergence
    student = torch.stack([_unit(1, 0.5, 0, 0)]).requires_grad_()
    teacher = torch.tensor([[0.8, 0.0, 0.2]])
    loss = region_distillation_loss(student, concepts, teacher, T)
    p = F.log_softmax(F.normalize(student, dim=-1) @ concepts.t() / T, -1)
    expected = 0.8 * (math.log(0.8) - p[0, 0]) + 0.2 * (math.log(0.2) -
                                                         p[0, 2])
    assert torch.isfinite(loss)
    assert torch.allclose(loss, expected, atol=1e-4)
    loss.backward()
    assert torch.isfinite(student.grad).all()
