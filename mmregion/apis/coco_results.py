"""Detections of a folder of images as one COCO-format file."""
import os.path as osp
from typing import Dict, List, Optional, Sequence

from PIL import Image

from ..fileio import dump_json_atomic


def coco_results(image_paths: Sequence[str],
                 predictions: Sequence[Dict],
                 class_names: Sequence[str],
                 root: Optional[str] = None) -> Dict:
    """A COCO dataset dict holding detections as its annotations.

    ``images`` (id, file_name, width, height) and ``categories`` (id 1..C,
    the typed words in vocabulary order) form the header; ``annotations``
    are the detections (``bbox`` in xywh, ``score``, ``area``,
    ``iscrowd`` 0, ``segmentation`` as RLE when the model predicts masks),
    so ``pycocotools.coco.COCO(file)`` loads it and its ``annotations``
    are a valid ``COCO.loadRes`` list against any ground truth with the
    same image ids.

    Args:
        image_paths (Sequence[str]): N image files, in prediction order.
        predictions (Sequence[dict]): N dicts as mmdet's
            ``DetInferencer.pred2dict`` makes them: ``labels`` (k,),
            ``scores`` (k,), ``bboxes`` (k, 4) xyxy in pixels, optional
            ``masks`` (k RLE dicts).
        class_names (Sequence[str]): The C class names; label i is
            category i + 1.
        root (str, optional): ``file_name`` is relative to it. Defaults to
            the common folder of the images.

    Returns:
        dict: ``images``, ``categories``, ``annotations``.
    """
    if len(image_paths) != len(predictions):
        raise ValueError(f'coco_results: {len(image_paths)} images but '
                         f'{len(predictions)} predictions')
    if root is None and image_paths:
        root = osp.commonpath([osp.dirname(osp.abspath(p))
                               for p in image_paths])
    images: List[Dict] = []
    annotations: List[Dict] = []
    for image_id, (path, pred) in enumerate(zip(image_paths, predictions), 1):
        with Image.open(path) as image:
            width, height = image.size
        images.append(
            dict(id=image_id,
                 file_name=osp.relpath(osp.abspath(path), root),
                 width=width, height=height))
        masks = pred.get('masks')
        for i, (label, score, box) in enumerate(
                zip(pred['labels'], pred['scores'], pred['bboxes'])):
            x1, y1, x2, y2 = (float(v) for v in box)
            ann = dict(id=len(annotations) + 1, image_id=image_id,
                       category_id=int(label) + 1,
                       bbox=[x1, y1, x2 - x1, y2 - y1],
                       area=(x2 - x1) * (y2 - y1), score=float(score),
                       iscrowd=0)
            if masks is not None:
                ann['segmentation'] = masks[i]
            annotations.append(ann)
    categories = [
        dict(id=i + 1, name=name) for i, name in enumerate(class_names)
    ]
    return dict(images=images, categories=categories,
                annotations=annotations)


def write_coco_results(path: str, image_paths: Sequence[str],
                       predictions: Sequence[Dict],
                       class_names: Sequence[str]) -> Dict:
    """Write :func:`coco_results` to ``path`` (atomically).

    Args:
        path (str): Output json file.
        image_paths (Sequence[str]): The image files.
        predictions (Sequence[dict]): Their predictions (pred2dict).
        class_names (Sequence[str]): The vocabulary's class names.

    Returns:
        dict: What was written.
    """
    results = coco_results(image_paths, predictions, class_names)
    dump_json_atomic(results, path)
    return results
