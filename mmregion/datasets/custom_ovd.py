"""Any COCO-format open-vocabulary dataset: classes and split from files."""
from mmdet.registry import DATASETS

from .validated_coco import ValidatedCocoDataset


@DATASETS.register_module()
class CustomOVDDataset(ValidatedCocoDataset):
    """A COCO-format dataset whose classes and split come from its files.

    The classes are the annotation file's categories (in file order); the
    base/novel split is their ``split`` field, or ``novel_classes`` /
    ``split_file`` in the config (see :class:`ValidatedCocoDataset`).
    Train on ``class_group='base'`` (annotations of other classes are
    dropped), test on ``'all'``. Write the files of your dataset with
    ``tools/misc/make_ovd_split.py custom INSTANCES.json OUT_DIR --novel
    'x,y'``; docs/own_data.md walks through it.

    Args:
        **kwargs: Arguments of :class:`ValidatedCocoDataset`
            (``class_group``, ``novel_classes``, ``split_file`` among them;
            default: all the file's classes).
    """
    METAINFO = dict(classes=())
