"""The built-in synthetic shapes dataset as an mmdet dataset."""
from mmdet.registry import DATASETS

from ..synthetic.shapes import BASE_CLASSES, NOVEL_CLASSES, SHAPE_CLASSES
from .validated_coco import ValidatedCocoDataset


@DATASETS.register_module()
class SyntheticShapesDataset(ValidatedCocoDataset):
    """The shapes dataset written by :func:`generate_shapes_dataset`.

    COCO-format instances with the eight shape classes; ``metainfo`` also
    carries the base/novel split used by open-vocabulary experiments;
    ``class_group='base'`` (or ``'novel'``, ``'all'``) keeps only those
    classes, as open-vocabulary training on base classes needs.
    Generate it with ``python tools/misc/make_synthetic.py data/shapes``.

    Args:
        **kwargs: Arguments of :class:`ValidatedCocoDataset`.
    """
    METAINFO = dict(
        classes=SHAPE_CLASSES,
        novel_classes=NOVEL_CLASSES,
        palette=[(220, 20, 60), (0, 130, 200), (60, 180, 75), (245, 130, 48),
                 (145, 30, 180), (70, 240, 240), (240, 50, 230),
                 (128, 128, 0)])
    CLASS_GROUPS = dict(
        all=SHAPE_CLASSES, base=BASE_CLASSES, novel=NOVEL_CLASSES)
