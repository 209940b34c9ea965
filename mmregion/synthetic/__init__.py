from .outlines import OUTLINE_NAMES, shape_outline
from .presets import OVD_NOVEL_CLASSES, PRESETS, shapes_preset
from .shapes import (
                     BASE_CLASSES,
                     COLOURS,
                     NOVEL_CLASSES,
                     SHAPE_CLASSES,
                     ShapesConfig,
                     class_split,
                     draw_image,
                     generate_shapes_dataset,
                     generate_split,
)

__all__ = [
    'SHAPE_CLASSES', 'BASE_CLASSES', 'NOVEL_CLASSES', 'ShapesConfig',
    'class_split', 'draw_image', 'generate_split', 'generate_shapes_dataset',
    'OUTLINE_NAMES', 'shape_outline', 'OVD_NOVEL_CLASSES', 'PRESETS',
    'shapes_preset', 'COLOURS'
]
