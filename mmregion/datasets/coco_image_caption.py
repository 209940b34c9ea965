"""Images with their COCO Captions, for region-text pretraining."""
from typing import Callable, List, Optional

from mmdet.registry import DATASETS
from mmengine.dataset import BaseDataset

from .caption_files import (
    CaptionedImage,
    captioned_images_to_data_list,
    read_coco_captions,
)


@DATASETS.register_module()
class CocoImageCaptionDataset(BaseDataset):
    """Image-caption pairs from a COCO Captions json (one item per image).

    Each item carries ``img_path``, ``img_id`` and ``captions`` (all captions
    of the image); the pipeline loads and resizes the image with mmdet's
    transforms and ``PackDetInputs`` keeps the captions in the data sample's
    metainfo when ``'captions'`` is in its ``meta_keys``:

    .. code-block:: python

        pipeline = [
            dict(type='LoadImageFromFile'),
            dict(type='Resize', scale=(1333, 800), keep_ratio=True),
            dict(type='PackDetInputs', meta_keys=(
                'img_id', 'img_path', 'ori_shape', 'img_shape',
                'scale_factor', 'captions'))
        ]

    (mmdet's own ``CocoCaptionDataset`` reads a different, one caption per
    line json for caption evaluation.)

    Args:
        ann_file (str): The COCO Captions json (``captions_train2017.json``).
        data_root (str): Root joined to ``ann_file`` and ``data_prefix``.
        data_prefix (dict): ``img``: the image folder. Defaults to
            ``dict(img='')``.
        **kwargs: Other :class:`mmengine.dataset.BaseDataset` arguments
            (``pipeline``, ``test_mode``, ``indices``, ...).
    """
    METAINFO = dict(task='image_caption')
    read_captions: Callable[[str], List[CaptionedImage]] = staticmethod(
        read_coco_captions)

    def __init__(self,
                 *args,
                 data_prefix: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(
            *args, data_prefix=data_prefix or dict(img=''), **kwargs)

    def load_data_list(self) -> List[dict]:
        """Read the caption file.

        Returns:
            list[dict]: ``img_path``, ``img_id``, ``captions`` per image.

        Raises:
            ValueError: If the file holds no captioned image.
        """
        data_list = captioned_images_to_data_list(
            self.read_captions(self.ann_file), self.data_prefix.get('img', ''))
        if not data_list:
            raise ValueError(f'{self.ann_file}: no captioned images in it')
        return data_list
