from .caption_files import (
                            CaptionedImage,
                            read_caption_file,
                            read_coco_captions,
                            read_tsv_captions,
)
from .coco_image_caption import CocoImageCaptionDataset
from .coco_ovd import CocoOVDDataset
from .concepts import (
                            ConceptCounts,
                            ConceptPool,
                            caption_objects,
                            count_concepts,
                            extract_concepts,
                            load_spacy,
)
from .custom_ovd import CustomOVDDataset
from .lvis_ovd import LVISOVDDataset
from .synthetic_shapes import SyntheticShapesDataset
from .transforms import FloatResize, resize_float_image
from .tsv_image_caption import TsvImageCaptionDataset
from .validated_coco import ValidatedCocoDataset, segmentation_problem

__all__ = [
    'ValidatedCocoDataset', 'SyntheticShapesDataset', 'CocoOVDDataset',
    'CustomOVDDataset',
    'LVISOVDDataset', 'segmentation_problem', 'CocoImageCaptionDataset',
    'TsvImageCaptionDataset', 'CaptionedImage', 'read_caption_file',
    'read_coco_captions', 'read_tsv_captions', 'ConceptCounts', 'ConceptPool',
    'caption_objects', 'count_concepts', 'extract_concepts', 'load_spacy',
    'FloatResize', 'resize_float_image'
]
