"""A COCO-format open-vocabulary dataset: base/novel split from its file."""
from mmdet.registry import DATASETS

from .validated_coco import ValidatedCocoDataset


@DATASETS.register_module()
class CocoOVDDataset(ValidatedCocoDataset):
    """A COCO-format dataset whose classes and split come from its files.

    The classes are the annotation file's categories (in file order); the
    base/novel split is their ``split`` field, or ``novel_classes`` /
    ``split_file`` in the config (see :class:`ValidatedCocoDataset`).
    Train on ``class_group='base'`` (annotations of other classes are
    dropped), test on ``'all'``. Any COCO-format dataset works: write its
    files with ``tools/misc/make_ovd_split.py custom INSTANCES.json OUT_DIR
    --novel 'x,y'``. COCO's OVR-CNN split (48 base / 17 novel) is the case
    ``make_ovd_split.py coco``, whose files keep the 65 OVD categories with
    their ``split``.

    Args:
        **kwargs: Arguments of :class:`ValidatedCocoDataset`
            (``class_group``, ``novel_classes``, ``split_file`` among them;
            default: all the file's classes).
    """
    METAINFO = dict(classes=())
