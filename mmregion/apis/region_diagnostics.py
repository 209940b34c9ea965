"""Region-level diagnostics of the synthetic open-vocabulary experiment.

How well a CLIP visual tower recognises the shapes in ground-truth boxes
(top-1 accuracy against chance), and what the pretraining teacher's pseudo
labels on the pretraining regions keep and get right, measured against
the synthetic ground truth. Both embed regions as the pretraining and the
detector do: RoIAlign on res4 of the whole image, then res5 and the
attention pool (:meth:`RegionPretrainer.embed_regions`).
"""
import json
import os.path as osp
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.structures.bbox import bbox2roi, bbox_overlaps
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch import Tensor

from ..datasets.caption_files import read_coco_captions
from ..models.losses.region_text_losses import concept_pseudo_labels
from .runner import load_config


def dataset_classes(data_root: str) -> Tuple[List[str], List[str]]:
    """The classes and novel classes of a generated shapes dataset.

    Args:
        data_root (str): Root with ``meta.json``.

    Returns:
        tuple[list[str], list[str]]: All classes (label order), novel ones.
    """
    path = osp.join(data_root, 'meta.json')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no meta.json; generate the data '
                                f'with tools/misc/make_synthetic.py')
    with open(path) as f:
        meta = json.load(f)
    return list(meta['classes']), list(meta['novel_classes'])


def build_region_model(config: str, weights: Optional[str],
                       text_weights: str,
                       concepts: object,
                       cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """A :class:`RegionPretrainer` whose teacher holds ``weights``, in eval.

    Args:
        config (str): A pretraining config.
        weights (str, optional): CLIP visual weights of the teacher (None:
            random).
        text_weights (str): CLIP file of the text encoder.
        concepts (str | list[str]): Concept pool (file or names).
        cfg_options (dict, optional): Further overrides.

    Returns:
        RegionPretrainer: Initialised, eval mode.
    """
    cfg = load_config(
        config, {
            'model.backbone.checkpoint': weights,
            'model.text_encoder.checkpoint': text_weights,
            'model.concepts': concepts,
            **(cfg_options or {})
        })
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def gt_batches(model: torch.nn.Module, data_root: str, split: str,
               image_size: Tuple[int, int], batch_size: int = 8,
               limit: Optional[int] = None) -> Iterator[tuple]:
    """Preprocessed batches of a split with their ground-truth boxes.

    Args:
        model (nn.Module): Gives the ``data_preprocessor``.
        data_root (str): Shapes dataset root.
        split (str): Split name (``annotations/instances_{split}.json``).
        image_size (tuple[int, int]): Resize scale (keeps the ratio).
        batch_size (int): Images per batch. Defaults to 8.
        limit (int, optional): Use the first ``limit`` images only.

    Yields:
        tuple: ``inputs`` (B, 3, H, W) and the data samples (with
        ``gt_instances`` in input coordinates, and ``captions`` in their
        metainfo when ``annotations/captions_{split}.json`` exists).
    """
    classes, _ = dataset_classes(data_root)
    caption_file = osp.join(data_root, 'annotations',
                            f'captions_{split}.json')
    captions = {
        image.img_id: image.captions
        for image in read_coco_captions(caption_file)
    } if osp.isfile(caption_file) else {}
    with DefaultScope.overwrite_default_scope('mmdet'):
        dataset = DATASETS.build(
            dict(
                type='SyntheticShapesDataset',
                data_root=data_root,
                ann_file=f'annotations/instances_{split}.json',
                data_prefix=dict(img=''),
                metainfo=dict(classes=classes),
                test_mode=True,
                pipeline=[
                    dict(type='LoadImageFromFile'),
                    dict(type='Resize', scale=image_size, keep_ratio=True),
                    dict(type='LoadAnnotations', with_bbox=True),
                    dict(type='PackDetInputs')
                ]))
    count = len(dataset) if limit is None else min(limit, len(dataset))
    for start in range(0, count, batch_size):
        items = [dataset[i] for i in range(start,
                                           min(start + batch_size, count))]
        data = model.data_preprocessor(pseudo_collate(items), False)
        for sample in data['data_samples']:
            if sample.img_id in captions:
                sample.set_metainfo(dict(captions=captions[sample.img_id]))
        yield data['inputs'], data['data_samples']


@torch.no_grad()
def region_recognition(model: torch.nn.Module, batches: Iterator[tuple],
                       class_embeddings: Tensor, classes: Sequence[str],
                       novel: Sequence[str]) -> Dict[str, float]:
    """Top-1 accuracy of the teacher tower on ground-truth boxes.

    Args:
        model (RegionPretrainer): From :func:`build_region_model`.
        batches (Iterator): From :func:`gt_batches`.
        class_embeddings (Tensor): (C, D) text embeddings of ``classes``.
        classes (Sequence[str]): Class names in label order.
        novel (Sequence[str]): The novel classes.

    Returns:
        dict[str, float]: ``top1``, ``top1_novel``, ``top1_base`` (over
        the boxes of those classes; the prediction ranges over all
        classes), ``chance`` (1 / C) and ``boxes``.
    """
    hits, labels = [], []
    for inputs, samples in batches:
        boxes = [s.gt_instances.bboxes for s in samples]
        if not sum(len(b) for b in boxes):
            continue
        emb = model.embed_regions(model.teacher_backbone, inputs,
                                  bbox2roi(boxes))
        pred = concept_pseudo_labels(emb, class_embeddings, 1.0, 0.0).labels
        gt = torch.cat([s.gt_instances.labels for s in samples])
        hits.append(pred == gt)
        labels.append(gt)
    hits, labels = torch.cat(hits).float(), torch.cat(labels)
    is_novel = torch.tensor([classes[i] in novel for i in labels.tolist()])
    return dict(
        top1=_mean(hits),
        top1_novel=_mean(hits[is_novel]),
        top1_base=_mean(hits[~is_novel]),
        chance=1.0 / len(classes),
        boxes=float(len(hits)))


@torch.no_grad()
def pseudo_label_quality(model: torch.nn.Module, batches: Iterator[tuple],
                         classes: Sequence[str], novel: Sequence[str],
                         iou_thr: float = 0.5) -> Dict[str, float]:
    """What the teacher's pseudo labels of the pretraining regions keep
    and how often they name the shape they cover.

    Every region of the pretraining (grid boxes or offline-RPN proposals,
    all of them, not a sample) is labelled as the pretraining labels it
    (:meth:`RegionPretrainer.pseudo_labels`: the model's concept pool,
    temperature, threshold and ``caption_concepts``). A region *covers*
    a shape when its IoU with that ground-truth box is at least
    ``iou_thr``; its label is *right* when the concept is that shape's
    class name.

    Args:
        model (RegionPretrainer): From :func:`build_region_model`.
        batches (Iterator): From :func:`gt_batches`.
        classes (Sequence[str]): Class names in label order.
        novel (Sequence[str]): The novel classes.
        iou_thr (float): IoU for a region to cover a shape. Defaults to
            0.5.

    Returns:
        dict[str, float]: ``kept`` (fraction of all regions kept),
        ``covering`` (fraction of regions covering a shape), ``accuracy``
        (right among kept covering regions), ``accuracy_novel`` and
        ``accuracy_base`` (same, by the covered class),
        ``accuracy_unfiltered`` (right among all covering regions),
        ``kept_shape_on_background`` (fraction of kept regions covering
        no shape that are labelled with a shape name), ``recall_novel``
        and ``recall_base`` (ground-truth shapes of those classes covered
        by some region) and ``regions``.
    """
    names = list(model.concept_names)
    rows = []
    for inputs, samples in batches:
        boxes = model.regions(inputs, samples)
        labels = model.pseudo_labels(inputs, bbox2roi(boxes), samples)
        offset = 0
        for sample, regions in zip(samples, boxes):
            part = slice(offset, offset + len(regions))
            offset += len(regions)
            rows.append(
                _region_rows(regions, sample.gt_instances, labels, part,
                             names, classes, novel, iou_thr))
    return _pseudo_label_summary(rows)


def _region_rows(regions: Tensor, gt, labels, part: slice,
                 names: List[str], classes: Sequence[str],
                 novel: Sequence[str], iou_thr: float) -> Dict[str, Tensor]:
    """Per-region flags of one image: kept, covering, right, novel,
    labelled with a shape name."""
    named = [names[i] for i in labels.labels[part].tolist()]
    shape_named = torch.tensor([n in classes for n in named], dtype=torch.bool)
    covering = torch.zeros(len(regions), dtype=torch.bool)
    right = torch.zeros(len(regions), dtype=torch.bool)
    is_novel = torch.zeros(len(regions), dtype=torch.bool)
    gt_novel = torch.tensor([classes[j] in novel for j in gt.labels.tolist()],
                            dtype=torch.bool)
    gt_found = torch.zeros(len(gt), dtype=torch.bool)
    if len(gt) and len(regions):
        overlaps = bbox_overlaps(regions, gt.bboxes)
        gt_found = overlaps.max(dim=0).values.cpu() >= iou_thr
        iou, match = overlaps.max(dim=1)
        covering = iou >= iou_thr
        gt_names = [classes[gt.labels[j]] for j in match.tolist()]
        right = torch.tensor([a == b for a, b in zip(named, gt_names)],
                             dtype=torch.bool) & covering
        is_novel = torch.tensor([n in novel for n in gt_names],
                                dtype=torch.bool) & covering
    return dict(kept=labels.keep[part].cpu(), covering=covering.cpu(),
                right=right.cpu(), novel=is_novel.cpu(), shape=shape_named,
                gt_found=gt_found, gt_novel=gt_novel)


def _pseudo_label_summary(rows: List[Dict[str, Tensor]]) -> Dict[str, float]:
    """The fractions of :func:`pseudo_label_quality` over all images."""
    flags = {k: torch.cat([r[k] for r in rows]) for k in rows[0]}
    kept, cov, right = flags['kept'], flags['covering'], flags['right']
    novel = flags['novel']
    return dict(
        kept=_mean(kept.float()),
        covering=_mean(cov.float()),
        accuracy=_mean(right[kept & cov].float()),
        accuracy_novel=_mean(right[kept & cov & novel].float()),
        accuracy_base=_mean(right[kept & cov & ~novel].float()),
        accuracy_unfiltered=_mean(right[cov].float()),
        kept_shape_on_background=_mean(
            flags['shape'][kept & ~cov].float()),
        recall_novel=_mean(flags['gt_found'][flags['gt_novel']].float()),
        recall_base=_mean(flags['gt_found'][~flags['gt_novel']].float()),
        regions=float(len(kept)))


def _mean(values: Tensor) -> float:
    """Mean of a 1-d tensor; NaN when empty."""
    return float(values.mean()) if len(values) else float('nan')
