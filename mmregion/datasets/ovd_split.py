"""Write the open-vocabulary (base/novel) versions of COCO-format files.

Any COCO-format dataset (:func:`make_custom_ovd_split`): from
``DIR/NAME.json`` and the novel (or base) class names, write

* ``NAME_ovd_train_base.json``: the annotations of the base classes and
  the images that have at least one of them;
* ``NAME_ovd_val_all.json``: every image and annotation;
* ``NAME_ovd_categories.json``: ``{"base": [names], "novel": [names]}``;
* ``NAME_ovd_names_base.txt``, ``NAME_ovd_names_all.txt``: the class names
  of the training and of the test vocabulary, one a line, in label order
  (``tools/misc/extract_text_embeddings.py --names-file``).

Every category of both instances files gets a ``split`` field ('base' or
'novel'), which :class:`mmregion.datasets.CocoOVDDataset` (``class_group``)
and :class:`mmregion.evaluation.OVDMetric` read.

COCO, OVR-CNN protocol (48 base / 17 novel classes of
:mod:`mmregion.data.ovd_splits`). From ``DIR/NAME.json``,
:func:`make_coco_ovd_split` writes to ``out_dir``:

* ``NAME_ovd_train_base.json``: the annotations of the 48 base classes and
  the images that have at least one of them. Novel objects are not
  annotated, so they are background in training, as in OVR-CNN.
* ``NAME_ovd_val_all.json``: the annotations of all 65 classes and the
  images that have at least one of them; evaluate it with
  :class:`mmregion.evaluation.OVDMetric` for novel, base and all AP50.

Both keep the 65 OVD categories (ids and order of the input, the 15 other
COCO classes dropped), each with a ``split`` field ('base' or 'novel'), so a
dataset config may use the 48 base names or all 65. Every other top-level
key (``info``, ``licenses``) is copied. Run it on ``instances_train2017``
for the training file and on ``instances_val2017`` for the evaluation file.
No novel-only evaluation file is written: the reported novel AP50 is the one
on all of ``val_all``'s images, where images without novel objects still
count false positives.

LVIS v1 (866 base = frequent + common, 337 novel = rare): from
``DIR/NAME.json``, :func:`make_lvis_ovd_split` writes

* ``NAME_ovd_train_base.json``: every image and every category (each with
  a ``split`` field), without the annotations of rare categories, as
  Detic's ``lvis_v1_train_norare.json``;
* ``NAME_ovd_categories.json``: ``{"base": [names], "novel": [names]}``.

LVIS is evaluated on the unchanged ``lvis_v1_val.json``, where APr is the
novel AP.

Files are written atomically (a temporary file, then ``os.replace``).
"""
import json
import os
import os.path as osp
from collections import Counter
from typing import Collection, Dict, List, Optional, Sequence, Set

from mmengine.logging import print_log

from ..data.ovd_splits import (
    COCO_OVD_CLASSES,
    LVIS_BASE_FREQUENCIES,
    category_splits,
    coco_ovd_split,
    lvis_ovd_split,
)
from ..fileio import atomic_open, dump_json_atomic
from .validated_coco import segmentation_problem

COCO_OVD_OUTPUTS = ('train_base', 'val_all')
"""The files :func:`make_coco_ovd_split` can write."""

_LIST_KEYS = ('images', 'annotations', 'categories')
_REQUIRED_FIELDS = dict(
    images=('id', ),
    annotations=('id', 'image_id', 'category_id'),
    categories=('id', 'name'))


def load_instances_json(path: str) -> dict:
    """Load a COCO-style instances file and check its structure.

    Args:
        path (str): The annotation file (COCO or LVIS format).

    Returns:
        dict: The parsed file. It has the lists ``images``, ``annotations``
        and ``categories``; every entry has the fields the split needs,
        every annotation refers to a listed image and category, and every
        ``segmentation`` is a valid polygon list or RLE.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such annotation file')
    try:
        with open(path) as f:
            data = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f'{path}: not a valid JSON file: {e}') from e
    if not isinstance(data, dict):
        raise ValueError(f'{path}: expected a JSON object with keys '
                         f'{_LIST_KEYS}, got a {type(data).__name__}')
    for key in _LIST_KEYS:
        if not isinstance(data.get(key), list):
            raise ValueError(f'{path}: key "{key}" must be a list, got '
                             f'{type(data.get(key)).__name__}')
        for k, entry in enumerate(data[key]):
            missing = [
                field for field in _REQUIRED_FIELDS[key]
                if not isinstance(entry, dict) or field not in entry
            ]
            if missing:
                raise ValueError(f'{path}: {key}[{k}] lacks field(s) '
                                 f'{missing}: {entry!r:.80}')
    cat_ids = {c['id'] for c in data['categories']}
    img_ids = {im['id'] for im in data['images']}
    for ann in data['annotations']:
        if ann['category_id'] not in cat_ids:
            raise ValueError(
                f'{path}: annotation id {ann["id"]} has category_id '
                f'{ann["category_id"]}, which is not among the file\'s '
                f'categories')
        problem = (segmentation_problem(ann['segmentation'])
                   if 'segmentation' in ann else None)
        if problem is not None:
            raise ValueError(
                f'{path}: annotation id {ann["id"]} of image id '
                f'{ann["image_id"]} has a malformed segmentation: {problem}')
        if ann['image_id'] not in img_ids:
            raise ValueError(
                f'{path}: annotation id {ann["id"]} has image_id '
                f'{ann["image_id"]}, which is not among the file\'s images')
    return data


def _subset(data: dict, categories: List[dict], ann_cat_ids: Collection[int],
            keep_all_images: bool) -> dict:
    """A copy of ``data`` with some annotations, images and categories.

    Args:
        data (dict): A checked instances file.
        categories (list[dict]): The categories of the copy.
        ann_cat_ids (Collection[int]): Category ids whose annotations are
            kept.
        keep_all_images (bool): Keep every image, not only those with a
            kept annotation.

    Returns:
        dict: The new file content; other top-level keys are shared.
    """
    annotations = [
        a for a in data['annotations'] if a['category_id'] in ann_cat_ids
    ]
    img_ids: Set[int] = {a['image_id'] for a in annotations}
    images = [
        im for im in data['images'] if keep_all_images or im['id'] in img_ids
    ]
    out = {k: v for k, v in data.items() if k not in _LIST_KEYS}
    out.update(images=images, annotations=annotations, categories=categories)
    return out


def _write_instances(path: str, content: dict) -> None:
    """Write an instances file atomically and log its size."""
    dump_json_atomic(content, path)
    print_log(
        f'wrote {path}: {len(content["images"])} images, '
        f'{len(content["annotations"])} annotations, '
        f'{len(content["categories"])} categories',
        logger='current')


def _out_path(in_path: str, out_dir: str, suffix: str) -> str:
    stem = osp.splitext(osp.basename(in_path))[0]
    return osp.join(out_dir, f'{stem}_ovd_{suffix}.json')


def make_coco_ovd_split(
        instances_json: str,
        out_dir: str,
        outputs: Sequence[str] = COCO_OVD_OUTPUTS) -> Dict[str, str]:
    """Write the COCO OVD (48 base / 17 novel) files of an instances file.

    See the module docstring for what each file holds.

    Args:
        instances_json (str): A COCO instances file, e.g.
            ``instances_train2017.json``; its categories must include the 65
            OVD class names.
        out_dir (str): Output folder, created if missing.
        outputs (Sequence[str]): Which files to write, among
            ``('train_base', 'val_all')``. Defaults to both.

    Returns:
        dict[str, str]: Output name (``'train_base'``, ``'val_all'``) → path
        of the written file.
    """
    unknown = [o for o in outputs if o not in COCO_OVD_OUTPUTS]
    if unknown or not outputs:
        raise ValueError(f'outputs must be a non-empty subset of '
                         f'{COCO_OVD_OUTPUTS}, got {list(outputs)}')
    data = load_instances_json(instances_json)
    names = [c['name'] for c in data['categories']]
    missing = [n for n in COCO_OVD_CLASSES if n not in names]
    if missing:
        raise ValueError(
            f'{instances_json}: the categories lack {len(missing)} of the 65 '
            f'COCO OVD classes: {missing} (the file has {names})')
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        raise ValueError(f'{instances_json}: category name(s) {repeated} '
                         f'appear more than once')
    categories = [
        dict(c, split=coco_ovd_split(c['name'])) for c in data['categories']
        if c['name'] in COCO_OVD_CLASSES
    ]
    base_ids = {c['id'] for c in categories if c['split'] == 'base'}
    all_ids = {c['id'] for c in categories}
    ann_cat_ids = dict(train_base=base_ids, val_all=all_ids)
    os.makedirs(out_dir, exist_ok=True)
    paths = {}
    for name in outputs:
        paths[name] = _out_path(instances_json, out_dir, name)
        _write_instances(paths[name],
                         _subset(data, categories, ann_cat_ids[name], False))
    return paths


def make_lvis_ovd_split(lvis_json: str, out_dir: str) -> Dict[str, str]:
    """Write the LVIS OVD (866 base / 337 novel) training file and split.

    See the module docstring for what each file holds.

    Args:
        lvis_json (str): An LVIS annotation file, e.g.
            ``lvis_v1_train.json``; every category needs ``frequency``.
        out_dir (str): Output folder, created if missing.

    Returns:
        dict[str, str]: ``'train_base'`` and ``'categories'`` → paths of the
        written files.
    """
    data = load_instances_json(lvis_json)
    try:
        split = lvis_ovd_split(data['categories'])
    except ValueError as e:
        raise ValueError(f'{lvis_json}: {e}') from e
    categories = [
        dict(
            c,
            split='base'
            if c['frequency'] in LVIS_BASE_FREQUENCIES else 'novel')
        for c in data['categories']
    ]
    base_ids = {c['id'] for c in categories if c['split'] == 'base'}
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(
        train_base=_out_path(lvis_json, out_dir, 'train_base'),
        categories=_out_path(lvis_json, out_dir, 'categories'))
    _write_instances(paths['train_base'],
                     _subset(data, categories, base_ids, True))
    dump_json_atomic(split, paths['categories'])
    print_log(
        f'wrote {paths["categories"]}: {len(split["base"])} base, '
        f'{len(split["novel"])} novel categories',
        logger='current')
    return paths


def make_custom_ovd_split(instances_json: str,
                          out_dir: str,
                          novel_classes: Optional[Sequence[str]] = None,
                          base_classes: Optional[Sequence[str]] = None
                          ) -> Dict[str, str]:
    """Write the OVD files of any COCO-format instances file.

    See the module docstring for what each file holds. Give the novel
    classes or the base classes; the other categories form the other
    group.

    Args:
        instances_json (str): A COCO-format instances file.
        out_dir (str): Output folder, created if missing.
        novel_classes (Sequence[str], optional): Novel category names.
        base_classes (Sequence[str], optional): Base category names.

    Returns:
        dict[str, str]: ``'train_base'``, ``'val_all'``, ``'categories'``,
        ``'names_base'`` and ``'names_all'`` → paths of the written files.

    Raises:
        ValueError: For names that are not categories of the file, a
            group left empty, or a file without images.
    """
    if (novel_classes is None) == (base_classes is None):
        raise ValueError('give the novel classes or the base classes '
                         '(exactly one of them)')
    data = load_instances_json(instances_json)
    names = [c['name'] for c in data['categories']]
    repeated = sorted(n for n, k in Counter(names).items() if k > 1)
    if repeated:
        raise ValueError(f'{instances_json}: category name(s) {repeated} '
                         f'appear more than once')
    if not data['images']:
        raise ValueError(f'{instances_json}: the file lists no images')
    groups = category_splits(
        data['categories'],
        novel_classes=novel_classes,
        base_classes=base_classes,
        source=instances_json)
    split = {g: [n for n in names if groups[n] == g] for g in ('base',
                                                                'novel')}
    for group, members in split.items():
        if not members:
            raise ValueError(
                f'{instances_json}: the split leaves no {group} class '
                f'among its {len(names)} categories {names}')
    categories = [dict(c, split=groups[c['name']]) for c in data['categories']]
    base_ids = {c['id'] for c in categories if c['split'] == 'base'}
    all_ids = {c['id'] for c in categories}
    os.makedirs(out_dir, exist_ok=True)
    paths = {k: _out_path(instances_json, out_dir, k)
             for k in ('train_base', 'val_all', 'categories')}
    for group in ('base', 'all'):
        stem = osp.splitext(osp.basename(instances_json))[0]
        paths[f'names_{group}'] = osp.join(
            out_dir, f'{stem}_ovd_names_{group}.txt')
        with atomic_open(paths[f'names_{group}']) as f:
            f.write(''.join(f'{n}\n' for n in names
                            if group == 'all' or groups[n] == group))
    _write_instances(paths['train_base'],
                     _subset(data, categories, base_ids, False))
    _write_instances(paths['val_all'],
                     _subset(data, categories, all_ids, True))
    dump_json_atomic(split, paths['categories'], indent=1)
    print_log(
        f'wrote {paths["categories"]}: base {split["base"]}, novel '
        f'{split["novel"]}',
        logger='current')
    return paths
