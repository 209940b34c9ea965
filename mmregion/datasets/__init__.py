from .coco_ovd import CocoOVDDataset
from .lvis_ovd import LVISOVDDataset
from .synthetic_shapes import SyntheticShapesDataset
from .validated_coco import ValidatedCocoDataset, segmentation_problem

__all__ = [
    'ValidatedCocoDataset', 'SyntheticShapesDataset', 'CocoOVDDataset',
    'LVISOVDDataset', 'segmentation_problem'
]
