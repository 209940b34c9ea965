"""Images with their captions from a CC3M-style tsv file."""
from mmdet.registry import DATASETS

from .caption_files import read_tsv_captions
from .coco_image_caption import CocoImageCaptionDataset


@DATASETS.register_module()
class TsvImageCaptionDataset(CocoImageCaptionDataset):
    """Image-caption pairs from ``image_path<TAB>caption`` lines.

    The CC3M layout: one line per caption, image paths relative to
    ``data_prefix['img']`` (or absolute); lines of the same image are
    grouped into one item with several ``captions``. Items and pipeline
    conventions are those of :class:`CocoImageCaptionDataset`; ``img_id``
    is the image path.

    Args:
        ann_file (str): The tsv file.
        **kwargs: :class:`CocoImageCaptionDataset` arguments.
    """
    read_captions = staticmethod(read_tsv_captions)
