"""Base/novel class splits of the open-vocabulary detection benchmarks.

COCO (OVR-CNN split, used by OVR-CNN, ViLD, RegionCLIP, Detic): 65 of the 80
COCO classes, 48 *base* classes annotated in training and 17 *novel* classes
seen only at test time. The names are COCO category names, as in mmdet's
``CocoDataset.METAINFO['classes']`` ('tv', 'motorcycle', 'couch', ...).

LVIS v1: the 337 *rare* categories (``frequency == 'r'``) are novel, the 866
*common* and *frequent* ones (``'c'``, ``'f'``) are base. The split is read
from an LVIS categories list by :func:`lvis_ovd_split`.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

COCO_OVD_BASE_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'train', 'truck', 'boat',
    'bench', 'bird', 'horse', 'sheep', 'bear', 'zebra', 'giraffe', 'backpack',
    'handbag', 'suitcase', 'frisbee', 'skis', 'kite', 'surfboard', 'bottle',
    'fork', 'spoon', 'bowl', 'banana', 'apple', 'sandwich', 'orange',
    'broccoli', 'carrot', 'pizza', 'donut', 'chair', 'bed', 'toilet', 'tv',
    'laptop', 'mouse', 'remote', 'microwave', 'oven', 'toaster',
    'refrigerator', 'book', 'clock', 'vase', 'toothbrush')
"""The 48 COCO base classes, in COCO category-id order."""

COCO_OVD_NOVEL_CLASSES: Tuple[str, ...] = ('airplane', 'bus', 'cat', 'dog',
                                           'cow', 'elephant', 'umbrella',
                                           'tie', 'snowboard', 'skateboard',
                                           'cup', 'knife', 'cake', 'couch',
                                           'keyboard', 'sink', 'scissors')
"""The 17 COCO novel classes, in COCO category-id order."""

COCO_OVD_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train',
    'truck', 'boat', 'bench', 'bird', 'cat', 'dog', 'horse', 'sheep', 'cow',
    'elephant', 'bear', 'zebra', 'giraffe', 'backpack', 'umbrella', 'handbag',
    'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'kite', 'skateboard',
    'surfboard', 'bottle', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana',
    'apple', 'sandwich', 'orange', 'broccoli', 'carrot', 'pizza', 'donut',
    'cake', 'chair', 'couch', 'bed', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'toothbrush')
"""All 65 COCO OVD classes (base and novel), in COCO category-id order."""

LVIS_BASE_FREQUENCIES: Tuple[str, ...] = ('f', 'c')
"""LVIS ``frequency`` values of the base categories (frequent, common)."""

LVIS_NOVEL_FREQUENCIES: Tuple[str, ...] = ('r', )
"""LVIS ``frequency`` values of the novel categories (rare)."""

SPLIT_NAMES: Dict[str, str] = {
    'base': 'base',
    'novel': 'novel',
    'seen': 'base',
    'unseen': 'novel'
}
"""Accepted values of a category's ``split`` field and the group each means.

mmregion writes 'base'/'novel'; the OVR-CNN and RegionCLIP annotation files
use 'seen'/'unseen'."""


def coco_ovd_split(name: str) -> str:
    """The OVD group of a COCO class.

    Args:
        name (str): A COCO category name.

    Returns:
        str: ``'base'`` or ``'novel'``.
    """
    if name in COCO_OVD_BASE_CLASSES:
        return 'base'
    if name in COCO_OVD_NOVEL_CLASSES:
        return 'novel'
    raise ValueError(f'{name!r} is not one of the 65 COCO OVD classes '
                     f'(base {COCO_OVD_BASE_CLASSES}, novel '
                     f'{COCO_OVD_NOVEL_CLASSES})')


def lvis_ovd_split(categories: Sequence[Mapping]) -> Dict[str, List[str]]:
    """Split LVIS categories into base (frequent + common) and novel (rare).

    LVIS v1 gives 866 base and 337 novel categories.

    Args:
        categories (Sequence[Mapping]): The ``categories`` list of an LVIS
            annotation file; each needs ``id``, ``name`` and ``frequency``
            (one of ``'f'``, ``'c'``, ``'r'``).

    Returns:
        dict[str, list[str]]: ``{'base': [...], 'novel': [...]}``, category
        names in the order given.
    """
    split: Dict[str, List[str]] = dict(base=[], novel=[])
    for cat in categories:
        freq = cat.get('frequency')
        if freq in LVIS_BASE_FREQUENCIES:
            split['base'].append(cat['name'])
        elif freq in LVIS_NOVEL_FREQUENCIES:
            split['novel'].append(cat['name'])
        else:
            raise ValueError(
                f'LVIS category id {cat.get("id")} ({cat.get("name")!r}) has '
                f'frequency {freq!r}; expected one of '
                f'{LVIS_BASE_FREQUENCIES + LVIS_NOVEL_FREQUENCIES}')
    return split


OVD_GROUPS: Tuple[str, ...] = ('all', 'base', 'novel')
"""The class groups an OVD dataset can select (``class_group``)."""


def read_names_file(path: str) -> List[str]:
    """Class names of a text file, one a line (blank lines and ``#``
    comments skipped), or of a split json (its ``"novel"`` list).

    Args:
        path (str): The file.

    Returns:
        list[str]: The names, in file order.

    Raises:
        FileNotFoundError: If the file does not exist.
        ValueError: If it names no class or repeats one.
    """
    import json
    import os.path as osp
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such names file')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if path.endswith('.json'):
        try:
            names = json.loads(text)['novel']
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f'{path}: expected a json object with a '
                             f'"novel" list of class names ({e})') from None
    else:
        names = [
            line.strip() for line in text.splitlines()
            if line.strip() and not line.lstrip().startswith('#')
        ]
    if not names:
        raise ValueError(f'{path}: the names file is empty; expected one '
                         f'class name a line')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'{path}: class name(s) {repeated} appear more '
                         f'than once')
    return list(names)


def category_splits(categories: Sequence[Mapping],
                    novel_classes: Optional[Sequence[str]] = None,
                    base_classes: Optional[Sequence[str]] = None,
                    source: str = 'the categories') -> Dict[str, str]:
    """The base/novel group of every category of a COCO-format file.

    The split comes from the caller (``novel_classes`` or
    ``base_classes``: the other categories form the other group) or else
    from each category's ``split`` field ('base'/'novel', or
    'seen'/'unseen' as in the OVR-CNN files), as
    ``tools/misc/make_ovd_split.py`` writes it. COCO's OVR-CNN split is one
    such file (``make_ovd_split.py coco``).

    Args:
        categories (Sequence[Mapping]): The file's ``categories`` entries
            (``name``, optionally ``split``).
        novel_classes (Sequence[str], optional): Names of the novel
            classes.
        base_classes (Sequence[str], optional): Names of the base classes
            (exclusive with ``novel_classes``).
        source (str): What ``categories`` came from, for messages.

    Returns:
        dict[str, str]: Category name → ``'base'`` or ``'novel'``.

    Raises:
        ValueError: For names that are not categories, both arguments
            given, or a category without a valid ``split`` field.
    """
    names = [c['name'] for c in categories]
    if novel_classes is not None and base_classes is not None:
        raise ValueError('give novel_classes or base_classes, not both')
    listed = novel_classes if novel_classes is not None else base_classes
    if listed is not None:
        unknown = [n for n in listed if n not in names]
        if unknown:
            raise ValueError(f'{source}: class name(s) {unknown} are not '
                             f'categories of it (it has {names})')
        inside = 'novel' if novel_classes is not None else 'base'
        outside = 'base' if inside == 'novel' else 'novel'
        groups = {n: inside if n in listed else outside for n in names}
    else:
        groups = {}
        for cat in categories:
            group = SPLIT_NAMES.get(cat.get('split'))
            if group is None:
                raise ValueError(
                    f'{source}: category id {cat.get("id")} '
                    f'({cat["name"]!r}) has split {cat.get("split")!r}; '
                    f'expected base/novel. Write the split with '
                    f'tools/misc/make_ovd_split.py custom FILE OUT_DIR '
                    f'--novel NAMES, or give the dataset novel_classes=')
            groups[cat['name']] = group
    return groups
