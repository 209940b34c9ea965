"""RegionCLIP's region-text pretraining: pseudo labels and the three losses.

Notation: ``f_i`` a student region embedding, ``t_i`` the teacher's
embedding of the same region, ``l_c`` the text embedding of concept ``c``
(all L2-normalised inside), ``T`` the temperature (0.01), ``cos`` the
cosine similarity.

* :func:`concept_pseudo_labels`: ``q_ic = softmax_c(cos(t_i, l_c) / T)``,
  label ``y_i = argmax_c q_ic``, kept when ``max_c q_ic > threshold``.
* :func:`region_text_contrastive_loss`: regions with the same concept are
  positives, the concepts of the other kept regions are the negatives.
* :func:`region_distillation_loss`: KL from the teacher's to the student's
  distribution over the whole concept pool.
* :func:`image_text_contrastive_loss`: whole-image box vs caption,
  symmetric, with the negatives of all processes (:func:`gather_with_grad`).

A loss over no region is a zero that keeps the autograd graph (``0 *
features.sum()``), so every process of a distributed run back-propagates
through the same parameters.
"""
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine import dist
from torch import Tensor

from ...datasets.concepts import caption_objects


class PseudoLabels(NamedTuple):
    """Teacher pseudo labels of N regions over C concepts.

    Attributes:
        probs (Tensor): (N, C) teacher distributions ``q``.
        labels (Tensor): (N,) argmax concept of each region (long).
        keep (Tensor): (N,) bool, max probability above the threshold.
    """
    probs: Tensor
    labels: Tensor
    keep: Tensor


LOSS_NAMES = ('region_text', 'distillation', 'image_text')
"""Keys of :class:`RegionPretrainer`'s ``loss_weights``."""

def _cosine_logits(features: Tensor, embeddings: Tensor,
                   temperature: float) -> Tensor:
    """``cos(features_i, embeddings_j) / temperature``, shape (N, M)."""
    return F.normalize(features, dim=-1) @ F.normalize(
        embeddings, dim=-1).t().to(features.dtype) / temperature


def _zero_loss(*tensors: Tensor) -> Tensor:
    """A scalar zero connected to the graph of ``tensors``."""
    return sum(t.sum() for t in tensors) * 0.0


@torch.no_grad()
def concept_pseudo_labels(teacher_features: Tensor,
                          concept_embeddings: Tensor,
                          temperature: float = 0.01,
                          threshold: float = 0.1,
                          allowed: Optional[Tensor] = None) -> PseudoLabels:
    """Label regions with concepts by the teacher's region embeddings.

    ``q_ic = softmax_c(cos(t_i, l_c) / T)``; ``y_i = argmax_c q_ic``;
    region i is kept when ``max_c q_ic > threshold``. With ``allowed``,
    the softmax ranges over the allowed concepts of each region only (the
    others get ``q_ic = 0``) and a region with none is not kept.

    Args:
        teacher_features (Tensor): (N, D) teacher region embeddings.
        concept_embeddings (Tensor): (C, D) concept text embeddings.
        temperature (float): Softmax temperature T. Defaults to 0.01.
        threshold (float): Minimum max-probability to keep a region.
            Defaults to 0.1.
        allowed (Tensor, optional): (N, C) bool, the candidate concepts of
            each region (e.g. those its image's captions name). Defaults
            to None (all).

    Returns:
        PseudoLabels: ``probs`` (N, C), ``labels`` (N,), ``keep`` (N,).
    """
    logits = _cosine_logits(teacher_features, concept_embeddings,
                            temperature).float()
    if allowed is None:
        probs = logits.softmax(dim=-1)
    else:
        probs = logits.masked_fill(~allowed, float('-inf')).softmax(dim=-1)
        probs = probs.nan_to_num(0.0)  # rows without a candidate
    max_probs, labels = probs.max(dim=-1)
    return PseudoLabels(probs, labels, max_probs > threshold)


def caption_candidates(captions: Sequence[Sequence[str]],
                       concept_names: Sequence[str],
                       image_index: Tensor) -> Tensor:
    """The concepts each region's image's captions name.

    Args:
        captions (Sequence[Sequence[str]]): Per image, its captions.
        concept_names (Sequence[str]): The C concepts of the pool.
        image_index (Tensor): (N,) image of each region (long).

    Returns:
        Tensor: (N, C) bool, concept c named by a caption of region i's
        image (:func:`~mmregion.datasets.caption_objects`).
    """
    per_image = []
    for image_captions in captions:
        named = set()
        for caption in image_captions:
            named |= caption_objects(caption, concept_names)
        per_image.append([name in named for name in concept_names])
    table = torch.tensor(per_image, dtype=torch.bool,
                         device=image_index.device).view(
                             len(captions), len(concept_names))
    return table[image_index.long()]


def region_text_contrastive_loss(region_features: Tensor,
                                 concept_embeddings: Tensor,
                                 labels: Tensor,
                                 temperature: float = 0.01) -> Tensor:
    """Contrast kept regions with the concepts of all kept regions.

    With ``s_ij = cos(f_i, l_{y_j}) / T`` over the N kept regions::

        L = -1/N sum_i log( sum_{j: y_j = y_i} exp(s_ij)
                            / sum_j exp(s_ij) )

    Regions sharing a concept are all positives of each other (a
    multiple-instance NCE, as in RegionCLIP); the concepts of the other
    regions are the negatives.

    Args:
        region_features (Tensor): (N, D) student embeddings of kept regions.
        concept_embeddings (Tensor): (C, D) concept text embeddings.
        labels (Tensor): (N,) pseudo-label concept index of each region.
        temperature (float): T. Defaults to 0.01.

    Returns:
        Tensor: Scalar loss; 0 (in the graph) when N is 0.
    """
    if len(labels) == 0:
        return _zero_loss(region_features)
    logits = _cosine_logits(region_features, concept_embeddings[labels],
                            temperature)
    positives = labels[:, None] == labels[None, :]
    log_probs = logits.log_softmax(dim=-1)
    positive_log_probs = log_probs.masked_fill(~positives, float('-inf'))
    return -positive_log_probs.logsumexp(dim=-1).mean()


def region_distillation_loss(region_features: Tensor,
                             concept_embeddings: Tensor,
                             teacher_probs: Tensor,
                             temperature: float = 0.01) -> Tensor:
    """KL divergence of the student's concept distribution from the
    teacher's, over the whole concept pool.

    With ``p_ic = softmax_c(cos(f_i, l_c) / T)`` and the teacher's ``q_ic``
    (:func:`concept_pseudo_labels`)::

        L = 1/N sum_i sum_c q_ic (log q_ic - log p_ic)

    Args:
        region_features (Tensor): (N, D) student region embeddings.
        concept_embeddings (Tensor): (C, D) concept text embeddings.
        teacher_probs (Tensor): (N, C) teacher distributions.
        temperature (float): T. Defaults to 0.01.

    Returns:
        Tensor: Scalar loss; 0 (in the graph) when N is 0.
    """
    if len(region_features) == 0:
        return _zero_loss(region_features)
    log_probs = _cosine_logits(region_features, concept_embeddings,
                               temperature).log_softmax(dim=-1)
    return F.kl_div(
        log_probs, teacher_probs.to(log_probs.dtype), reduction='batchmean')


def gather_with_grad(features: Tensor) -> Tuple[Tensor, int]:
    """All processes' features, the local ones keeping their gradient.

    The other processes' rows come from ``mmengine.dist.all_gather`` (no
    gradient; batches of different sizes are padded for the transfer and
    trimmed after); this process's rows are ``features`` itself. Without a
    distributed run it returns ``features``.

    Args:
        features (Tensor): (B, D) local features.

    Returns:
        tuple[Tensor, int]: (M, D) features of all processes in rank order
        (M = sum of their B), and the row where this process's start.
    """
    world_size = dist.get_world_size()
    if world_size == 1:
        return features, 0
    rank = dist.get_rank()
    sizes = [
        int(n) for n in dist.all_gather(
            torch.tensor([len(features)], device=features.device))
    ]
    padded = features.detach().new_zeros((max(sizes), ) + features.shape[1:])
    padded[:len(features)] = features.detach()
    parts = [
        part[:n] for part, n in zip(dist.all_gather(padded), sizes)
    ]
    parts[rank] = features
    return torch.cat(parts), sum(sizes[:rank])


def image_text_contrastive_loss(image_features: Tensor,
                                text_features: Tensor,
                                temperature: float = 0.01,
                                gather: bool = True) -> Tensor:
    """Symmetric contrastive loss of whole-image boxes and captions.

    With the B local pairs ``(v_i, w_i)``, the M pairs of all processes
    ``(V_k, W_k)`` (:func:`gather_with_grad`) and this process's first row
    ``o`` among them::

        L = 1/2 [ -1/B sum_i log softmax_k(cos(v_i, W_k) / T)[o + i]
                  -1/B sum_i log softmax_k(cos(w_i, V_k) / T)[o + i] ]

    Each process back-propagates through its own rows only; the other
    processes' rows are constants (as in CLIP's and RegionCLIP's training).
    With equal batch sizes the mean of the processes' losses is the loss of
    the whole (M, M) similarity matrix.

    Args:
        image_features (Tensor): (B, D) embeddings of the whole-image boxes.
        text_features (Tensor): (B, D) caption embeddings.
        temperature (float): T. Defaults to 0.01.
        gather (bool): Use the other processes' pairs as negatives.
            Defaults to True.

    Returns:
        Tensor: Scalar loss (0 for a single pair in a single process).
    """
    if image_features.shape[0] != text_features.shape[0]:
        raise ValueError(f'image_text_contrastive_loss: '
                         f'{image_features.shape[0]} images but '
                         f'{text_features.shape[0]} captions')
    offset = 0
    all_images, all_texts = image_features, text_features
    if gather:
        all_images, offset = gather_with_grad(image_features)
        all_texts, _ = gather_with_grad(text_features)
    targets = offset + torch.arange(
        len(image_features), device=image_features.device)
    image_to_text = _cosine_logits(image_features, all_texts, temperature)
    text_to_image = _cosine_logits(text_features, all_images, temperature)
    return (F.cross_entropy(image_to_text, targets) +
            F.cross_entropy(text_to_image, targets)) / 2


def check_loss_weights(
        loss_weights: Optional[Dict[str, float]]) -> Dict[str, float]:
    """Fill missing weights with 1.0; refuse unknown names and negatives.

    Args:
        loss_weights (dict, optional): Loss name (:data:`LOSS_NAMES`) →
            weight.

    Returns:
        dict[str, float]: A weight for every loss.
    """
    weights = dict.fromkeys(LOSS_NAMES, 1.0)
    for name, value in (loss_weights or {}).items():
        if name not in weights:
            raise KeyError(f'RegionPretrainer.loss_weights: unknown loss '
                           f'{name!r}; known: {list(LOSS_NAMES)}')
        if value < 0:
            raise ValueError(f'RegionPretrainer.loss_weights[{name!r}] must '
                             f'be >= 0, got {value}')
        weights[name] = float(value)
    return weights
