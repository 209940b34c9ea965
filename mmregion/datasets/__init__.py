from .coco_ovd import CocoOVDDataset
from .synthetic_shapes import SyntheticShapesDataset
from .validated_coco import ValidatedCocoDataset, segmentation_problem

__all__ = [
    'ValidatedCocoDataset', 'SyntheticShapesDataset', 'CocoOVDDataset',
    'segmentation_problem'
]
