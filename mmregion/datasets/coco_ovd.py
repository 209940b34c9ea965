"""COCO open-vocabulary detection: the 65 OVD classes, split from the file."""
from mmdet.registry import DATASETS

from ..data.ovd_splits import COCO_OVD_CLASSES
from .custom_ovd import CustomOVDDataset


@DATASETS.register_module()
class CocoOVDDataset(CustomOVDDataset):
    """COCO restricted to the 65 OVD classes, or to its base/novel group.

    :class:`CustomOVDDataset` with COCO's 65 OVD class names as the classes
    considered (so the original ``instances_*2017.json`` works too, with
    ``novel_classes`` given). The split is read like any dataset's: from
    the categories' ``split`` field, which ``tools/misc/make_ovd_split.py
    coco`` writes (48 base / 17 novel, OVR-CNN), or from ``novel_classes``
    / ``split_file``. Train on ``class_group='base'``, test on ``'all'``.

    Args:
        **kwargs: Arguments of :class:`CustomOVDDataset`.
    """
    METAINFO = dict(classes=COCO_OVD_CLASSES)
