"""The built-in synthetic shapes dataset as an mmdet dataset."""
from mmdet.registry import DATASETS

from ..synthetic.shapes import NOVEL_CLASSES, SHAPE_CLASSES
from .validated_coco import ValidatedCocoDataset


@DATASETS.register_module()
class SyntheticShapesDataset(ValidatedCocoDataset):
    """The shapes dataset written by :func:`generate_shapes_dataset`.

    COCO-format instances with the eight shape classes; ``metainfo`` also
    names the novel classes. ``class_group='base'`` (or ``'novel'``,
    ``'all'``) keeps only those classes, as open-vocabulary training on
    base classes needs; the split is the ``split`` field the generator
    writes into the files' categories (see :class:`ValidatedCocoDataset`).
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
