"""Base/novel class splits of the open-vocabulary detection benchmarks.

COCO (OVR-CNN split, used by OVR-CNN, ViLD, RegionCLIP, Detic): 65 of the 80
COCO classes, 48 *base* classes annotated in training and 17 *novel* classes
seen only at test time. The names are COCO category names, as in mmdet's
``CocoDataset.METAINFO['classes']`` ('tv', 'motorcycle', 'couch', ...).

LVIS v1: the 337 *rare* categories (``frequency == 'r'``) are novel, the 866
*common* and *frequent* ones (``'c'``, ``'f'``) are base. The split is read
from an LVIS categories list by :func:`lvis_ovd_split`.
"""
from typing import Dict, List, Mapping, Sequence, Tuple

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
