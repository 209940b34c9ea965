"""Region embeddings of a RegionCLIP detector: features of given boxes or
of its proposals, class scores against words, exemplar vocabularies."""
import json
import os
import os.path as osp
from collections import OrderedDict
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from mmdet.structures.bbox import bbox2roi, scale_boxes
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import DefaultScope
from torch import Tensor

from ..fileio import atomic_open, atomic_save
from ..models.language.vocabulary import Vocabulary

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')

Boxes = Dict[str, np.ndarray]
"""Image file → (n, 4) xyxy boxes in original pixels."""


def inference_pipeline(cfg) -> Compose:
    """The config's test pipeline without ``LoadAnnotations``.

    Args:
        cfg (Config): A detector config.

    Returns:
        Compose: Image path dict → ``inputs`` / ``data_samples``.
    """
    steps = [
        t for t in cfg.test_dataloader.dataset.pipeline
        if t['type'] not in ('LoadAnnotations', 'mmdet.LoadAnnotations')
    ]
    with DefaultScope.overwrite_default_scope('mmdet'):
        return Compose(steps)


def read_boxes(path: str, image_root: Optional[str] = None) -> Boxes:
    """Boxes per image from a json file.

    Two layouts: ``{"img.png": [[x1, y1, x2, y2], ...], ...}``, or a COCO
    instances file (its ``images`` and ``annotations``; xywh boxes become
    xyxy). Image names are relative to ``image_root`` (default: the json's
    folder) unless absolute; a name not found there is looked up by its
    base name in ``image_root`` (COCO's ``val/000000.png`` in a ``val``
    folder).

    Args:
        path (str): The json file.
        image_root (str, optional): Folder of the images.

    Returns:
        dict[str, ndarray]: Image path → (n, 4) float32 xyxy boxes.

    Raises:
        ValueError: For boxes that are not [x1, y1, x2, y2] lists.
    """
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    root = image_root or osp.dirname(osp.abspath(path))
    if isinstance(data, dict) and 'images' in data and 'annotations' in data:
        per_image = OrderedDict(
            (img['id'], (img['file_name'], [])) for img in data['images'])
        for ann in data['annotations']:
            x, y, w, h = ann['bbox']
            per_image[ann['image_id']][1].append([x, y, x + w, y + h])
        data = OrderedDict(per_image.values())
    boxes: Boxes = OrderedDict()
    for name, entries in data.items():
        array = np.asarray(entries, dtype=np.float32).reshape(-1, 4) \
            if len(entries) else np.zeros((0, 4), np.float32)
        if array.size != 4 * len(entries):
            raise ValueError(f'{path}: boxes of {name!r} must be [x1, y1, '
                             f'x2, y2] lists, got {entries!r:.80}')
        path_in_root = osp.join(root, name)
        if not osp.isfile(path_in_root) and osp.isfile(
                osp.join(root, osp.basename(name))):
            path_in_root = osp.join(root, osp.basename(name))
        boxes[path_in_root] = array
    return boxes


def _region_encoder(model):
    """The CLIP backbone and RoI extractor of a RegionCLIP detector."""
    backbone = getattr(model, 'backbone', None)
    roi_head = getattr(model, 'roi_head', None)
    if not hasattr(backbone, 'pool_regions') or roi_head is None:
        raise ValueError(
            f'{type(model).__name__} has no CLIP region path (a RegionCLIP '
            f'detector with a CLIPResNet backbone is needed)')
    return backbone, roi_head.bbox_roi_extractor


@torch.no_grad()
def embed_batch(model, data: dict,
                boxes: Optional[Sequence[Tensor]] = None,
                max_proposals: int = 100) -> List[Dict[str, Tensor]]:
    """Normalised region embeddings of one collated batch.

    Args:
        model (nn.Module): A RegionCLIP detector in eval mode.
        data (dict): ``pseudo_collate`` of pipeline outputs.
        boxes (Sequence[Tensor], optional): Per image (n_i, 4) xyxy boxes in
            original pixels; None takes the detector's proposals (its RPN
            or offline RPN), the ``max_proposals`` best.
        max_proposals (int): Proposals kept per image. Defaults to 100.

    Returns:
        list[dict]: Per image ``boxes`` (n, 4) in original pixels,
        ``embeddings`` (n, D) L2-normalised, and with proposals
        ``objectness`` (n,).
    """
    backbone, extractor = _region_encoder(model)
    batch = model.data_preprocessor(data, False)
    inputs, samples = batch['inputs'], batch['data_samples']
    feats = model.extract_feat(inputs)
    if boxes is None:
        proposals = _proposals(model, feats, inputs, samples)
        found = [p[:max_proposals] for p in proposals]
        in_input = [p.bboxes for p in found]
    else:
        in_input = [
            scale_boxes(b.to(inputs.device).float(),
                        s.metainfo['scale_factor'])
            for b, s in zip(boxes, samples)
        ]
    rois = bbox2roi(in_input)
    emb = backbone.pool_regions(extractor(feats[:extractor.num_inputs], rois))
    emb = F.normalize(emb.float(), dim=-1).split([len(b) for b in in_input])
    results = []
    for i, sample in enumerate(samples):
        sx, sy = sample.metainfo['scale_factor']
        out = dict(
            boxes=scale_boxes(in_input[i], (1 / sx, 1 / sy)).cpu(),
            embeddings=emb[i].cpu())
        if boxes is None:
            out['objectness'] = found[i].scores.float().cpu()
        results.append(out)
    return results


def _proposals(model, feats, inputs, samples) -> list:
    """The detector's proposals (``bboxes``, ``scores``), best first."""
    if model.proposal_source == 'gt':
        raise ValueError('this config takes ground-truth boxes as '
                         'proposals; give --boxes, or use a config with an '
                         'RPN')
    if model.with_rpn:
        return model.rpn_head.predict(feats, samples, rescale=False)
    return model._offline_proposals(inputs, samples)


def iter_region_features(
        model, pipeline: Compose, images: Sequence[str],
        boxes: Optional[Boxes] = None, batch_size: int = 8,
        max_proposals: int = 100
) -> Iterator[Tuple[str, Dict[str, Tensor]]]:
    """Region embeddings of images, ``batch_size`` images at a time.

    Args:
        model (nn.Module): A RegionCLIP detector in eval mode.
        pipeline (Compose): :func:`inference_pipeline`.
        images (Sequence[str]): Image files.
        boxes (dict, optional): Image file → (n, 4) boxes (original
            pixels); None: the detector's proposals.
        batch_size (int): Images per forward pass. Defaults to 8.
        max_proposals (int): Proposals kept per image. Defaults to 100.

    Yields:
        tuple[str, dict]: The image and :func:`embed_batch`'s dict.
    """
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        data = pseudo_collate([pipeline(dict(img_path=p, img_id=i))
                               for i, p in enumerate(chunk)])
        chunk_boxes = None if boxes is None else [
            torch.from_numpy(boxes[p]) for p in chunk
        ]
        yield from zip(chunk, embed_batch(model, data, chunk_boxes,
                                          max_proposals))


def class_scores(model, embeddings: Tensor, vocabulary: Vocabulary) -> Tensor:
    """Class probabilities of region embeddings against a vocabulary, as the
    detector's classifier gives them (cosine / T, zero background logit,
    softmax; the background column dropped).

    Args:
        model (nn.Module): A RegionCLIP detector.
        embeddings (Tensor): (n, D) region embeddings.
        vocabulary (Vocabulary): C classes.

    Returns:
        Tensor: (n, C) probabilities.
    """
    classifier = model.roi_head.bbox_head.classifier
    texts = vocabulary.embeddings.to(embeddings.device)
    logits = embeddings @ texts.t() / classifier.temperature
    logits = torch.cat([logits, logits.new_zeros(len(logits), 1)], dim=1)
    return logits.softmax(-1)[:, :-1]


def save_features(path: str, features: Dict[str, Union[Tensor, list, str]]
                  ) -> None:
    """Write one image's features as ``.pth`` or ``.npz`` (by suffix).

    Args:
        path (str): Output file.
        features (dict): Tensors, lists and strings.
    """
    if path.endswith('.npz'):
        arrays = {
            k: v.numpy() if isinstance(v, Tensor) else np.asarray(v)
            for k, v in features.items()
        }
        with atomic_open(path, 'wb') as f:
            np.savez(f, **arrays)
    else:
        atomic_save(features, path)


def list_images(images: str) -> List[str]:
    """An image file, or the images of a folder (sorted).

    Args:
        images (str): A file or a folder.

    Returns:
        list[str]: Image paths.

    Raises:
        FileNotFoundError: When there is no such file or no image in it.
    """
    if osp.isfile(images):
        return [images]
    if not osp.isdir(images):
        raise FileNotFoundError(f'{images}: no such image file or folder')
    found = sorted(
        osp.join(images, f) for f in os.listdir(images)
        if f.lower().endswith(IMAGE_SUFFIXES))
    if not found:
        raise FileNotFoundError(f'{images}: no images '
                                f'({", ".join(IMAGE_SUFFIXES)}) in it')
    return found


def init_region_model(config: Union[str, Config],
                      weights: Optional[str] = None,
                      device: str = 'cpu'):
    """A RegionCLIP detector for region features, in eval mode.

    Without ``weights`` the weights its config names are loaded
    (``init_weights``: the CLIP backbone's ``checkpoint``, an offline RPN).

    Args:
        config (str | Config): A RegionCLIP config.
        weights (str, optional): A detector checkpoint.
        device (str): Device. Defaults to 'cpu'.

    Returns:
        tuple[nn.Module, Config]: The model and its config.
    """
    from mmdet.apis import init_detector

    from ..engine.checkpoint_loader import install
    install()
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model = init_detector(cfg, weights, device=device)
    if weights is None:
        model.init_weights()
    _region_encoder(model)
    return model.eval(), cfg


def extract_region_features(images: str, config: Union[str, Config],
                            out_dir: str,
                            boxes: Optional[str] = None,
                            weights: Optional[str] = None,
                            texts: Optional[str] = None,
                            fmt: str = 'pth',
                            batch_size: int = 8,
                            max_proposals: int = 100,
                            device: str = 'cpu',
                            progress: bool = True,
                            **vocab_kwargs) -> List[str]:
    """Region embeddings of images, one file per image
    (``tools/misc/extract_region_features.py``).

    Each file holds ``image`` (its path), ``boxes`` (n, 4) xyxy in
    original pixels, ``embeddings`` (n, D) L2-normalised, with proposals
    ``objectness`` (n,), and with ``texts`` ``scores`` (n, C)
    (:func:`class_scores`) and ``class_names``.

    Args:
        images (str): An image or a folder of images.
        config (str | Config): A RegionCLIP config.
        out_dir (str): Output folder (``<image stem>.<fmt>``).
        boxes (str, optional): A boxes json (:func:`read_boxes`, image
            names relative to ``images`` when it is a folder); None: the
            detector's proposals.
        weights (str, optional): A detector checkpoint.
        texts (str, optional): Words to score the regions against
            (anything :func:`~mmregion.apis.inference.load_vocabulary`
            reads).
        fmt (str): ``'pth'`` or ``'npz'``. Defaults to ``'pth'``.
        batch_size (int): Images per forward pass. Defaults to 8.
        max_proposals (int): Proposals per image. Defaults to 100.
        device (str): Device. Defaults to 'cpu'.
        progress (bool): Show a progress bar. Defaults to True.
        **vocab_kwargs: ``clip_checkpoint``, ``templates``, ``cache_dir``
            for the ``texts`` vocabulary.

    Returns:
        list[str]: The files written.
    """
    from mmengine.utils import ProgressBar

    from .inference import load_vocabulary
    if fmt not in ('pth', 'npz'):
        raise ValueError(f"fmt must be 'pth' or 'npz', got {fmt!r}")
    # the inputs are checked before the model is built (a user's first
    # error is about their own files, not about weights)
    if boxes is not None:
        if not osp.exists(images):
            raise FileNotFoundError(f'{images}: no such image file or folder')
        root = images if osp.isdir(images) else None
        box_map = read_boxes(boxes, root)
        image_list = list(box_map)
        missing = [p for p in image_list if not osp.isfile(p)]
        if missing:
            raise FileNotFoundError(f'{boxes}: {len(missing)} images not '
                                    f'found, e.g. {missing[0]}')
    else:
        box_map, image_list = None, list_images(images)
    model, cfg = init_region_model(config, weights, device)
    vocab = None if texts is None else load_vocabulary(
        cfg, texts, **vocab_kwargs).check_dim(model.backbone.embed_dim,
                                              '--texts')
    bar = ProgressBar(len(image_list)) if progress else None
    written = []
    for image, feats in iter_region_features(model, inference_pipeline(cfg),
                                             image_list, box_map, batch_size,
                                             max_proposals):
        feats = dict(image=image, **feats)
        if vocab is not None:
            feats['scores'] = class_scores(model, feats['embeddings'],
                                           vocab)
            feats['class_names'] = vocab.class_names
        stem = osp.splitext(osp.basename(image))[0]
        path = osp.join(out_dir, f'{stem}.{fmt}')
        save_features(path, feats)
        written.append(path)
        if bar is not None:
            bar.update()
    return written
