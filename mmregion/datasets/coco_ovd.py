"""COCO with the open-vocabulary (OVR-CNN 48/17) class groups."""
from mmdet.registry import DATASETS

from ..data.ovd_splits import (COCO_OVD_BASE_CLASSES, COCO_OVD_CLASSES,
                               COCO_OVD_NOVEL_CLASSES)
from .validated_coco import ValidatedCocoDataset


@DATASETS.register_module()
class CocoOVDDataset(ValidatedCocoDataset):
    """COCO restricted to the 65 OVD classes, or to its base/novel group.

    Train on ``class_group='base'`` (48 classes; annotations of other
    classes are dropped), test on ``'all'`` (65). Files come from
    ``tools/misc/make_ovd_split.py``.

    Args:
        **kwargs: Arguments of :class:`ValidatedCocoDataset`
            (``class_group`` among them; default: all 65 classes).
    """
    METAINFO = dict(classes=COCO_OVD_CLASSES)
    CLASS_GROUPS = dict(
        all=COCO_OVD_CLASSES,
        base=COCO_OVD_BASE_CLASSES,
        novel=COCO_OVD_NOVEL_CLASSES)
