"""Image prompts: class embeddings from exemplar regions through a
RegionCLIP detector's own CLIP, mixable with text vocabularies."""
import json
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import Compose
from torch import Tensor

from ..models.language.vocabulary import Vocabulary
from .region_features import Boxes, class_scores, iter_region_features


def read_image_prompts(path: str) -> List[Dict]:
    """Exemplar regions from a json list of ``{"image", "box", "name"}``.

    Args:
        path (str): The json file; images relative to its folder.

    Returns:
        list[dict]: ``image`` (absolute path), ``box`` [x1, y1, x2, y2],
        ``name``, in file order.

    Raises:
        ValueError: Naming the entry that lacks a key or a 4-number box.
    """
    with open(path, encoding='utf-8') as f:
        entries = json.load(f)
    root = osp.dirname(osp.abspath(path))
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{path}: expected a non-empty list of {{"image", '
                         f'"box", "name"}} entries')
    prompts = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict) or not {'image', 'box', 'name'} <= set(
                entry) or len(entry['box']) != 4:
            raise ValueError(f'{path}: entry {i} must be {{"image": path, '
                             f'"box": [x1, y1, x2, y2], "name": str}}, got '
                             f'{entry!r:.100}')
        prompts.append(dict(image=osp.join(root, entry['image']),
                            box=[float(v) for v in entry['box']],
                            name=str(entry['name'])))
    return prompts


def image_prompt_vocabulary(model, pipeline: Compose,
                            prompts: Sequence[Dict],
                            batch_size: int = 8) -> Vocabulary:
    """Class embeddings from exemplar regions through the detector's CLIP.

    Each exemplar box is embedded like a detection (RoIAlign on res4, res5,
    attention pool, L2 norm); the exemplars of a name are averaged and
    normalised again.

    Args:
        model (nn.Module): A RegionCLIP detector in eval mode.
        pipeline (Compose): :func:`inference_pipeline`.
        prompts (Sequence[dict]): :func:`read_image_prompts` entries.
        batch_size (int): Images per forward pass. Defaults to 8.

    Returns:
        Vocabulary: One class per name, in order of first appearance;
        ``meta['exemplars']`` counts the boxes per class.
    """
    boxes: Boxes = OrderedDict()
    for p in prompts:
        boxes.setdefault(p['image'], []).append(p['box'])
    boxes = OrderedDict((k, np.asarray(v, np.float32))
                        for k, v in boxes.items())
    per_name: Dict[str, List[Tensor]] = OrderedDict(
        (p['name'], []) for p in prompts)
    names_by_image = OrderedDict()
    for p in prompts:
        names_by_image.setdefault(p['image'], []).append(p['name'])
    for image, feats in iter_region_features(model, pipeline, list(boxes),
                                             boxes, batch_size):
        for name, emb in zip(names_by_image[image], feats['embeddings']):
            per_name[name].append(emb)
    emb = torch.stack([torch.stack(v).mean(0) for v in per_name.values()])
    return Vocabulary(
        emb, list(per_name),
        meta=dict(format='image_prompts',
                  exemplars=[len(v) for v in per_name.values()]),
        where='image prompts')


def top1_region_accuracy(model, pipeline: Compose,
                         regions: Sequence[Tuple[str, Sequence, Sequence]],
                         vocabulary: Vocabulary) -> float:
    """Share of boxes whose best class (:func:`class_scores`) is their
    name: region recognition with known boxes.

    Args:
        model (nn.Module): A RegionCLIP detector in eval mode.
        pipeline (Compose): :func:`inference_pipeline`.
        regions (Sequence[tuple]): Per image (path, (n, 4) xyxy boxes,
            n names).
        vocabulary (Vocabulary): The classes to choose from.

    Returns:
        float: Top-1 accuracy over all boxes.
    """
    boxes = OrderedDict(
        (p, np.asarray(b, np.float32).reshape(-1, 4)) for p, b, _ in regions)
    names = {p: list(n) for p, _, n in regions}
    correct = total = 0
    for image, feats in iter_region_features(model, pipeline, list(boxes),
                                             boxes):
        best = class_scores(model, feats['embeddings'], vocabulary).argmax(1)
        correct += sum(vocabulary.class_names[i] == name
                       for i, name in zip(best.tolist(), names[image]))
        total += len(names[image])
    return correct / max(total, 1)


def merge_vocabularies(first: Vocabulary, second: Vocabulary) -> Vocabulary:
    """Classes of both; a name in both gets the normalised mean of its two
    embeddings (e.g. a text prompt and image exemplars of the same word).

    Args:
        first (Vocabulary): E.g. the ``--texts`` vocabulary.
        second (Vocabulary): E.g. the image-prompt vocabulary.

    Returns:
        Vocabulary: ``first``'s classes, then ``second``'s new ones.
    """
    first.check_dim(second.dim, 'merge_vocabularies')
    names = list(first.class_names)
    synonyms = [list(s) for s in first.synonyms]
    rows = list(first.embeddings)
    for name, syn, emb in zip(second.class_names, second.synonyms,
                              second.embeddings):
        if name in names:
            i = names.index(name)
            rows[i] = F.normalize(rows[i] + emb, dim=-1)
        else:
            names.append(name)
            synonyms.append(syn)
            rows.append(emb)
    return Vocabulary(torch.stack(rows), synonyms,
                      meta=dict(format='merged'), where='texts + images')
