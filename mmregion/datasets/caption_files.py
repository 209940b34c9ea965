"""Readers of image-caption files: COCO Captions json and CC3M-style tsv.

Both return one :class:`CaptionedImage` per image, with every caption of
that image, so the caption datasets and the concept-pool tool read captions
the same way.
"""
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional


@dataclass
class CaptionedImage:
    """An image and its captions.

    Args:
        file_name (str): Image path as written in the file (relative to the
            image folder, or absolute).
        img_id (int | str): COCO image id, or the tsv's image path.
        captions (list[str]): Its captions, in file order.
        height (int, optional): Image height when the file gives it.
        width (int, optional): Image width when the file gives it.
    """
    file_name: str
    img_id: object
    captions: List[str] = field(default_factory=list)
    height: Optional[int] = None
    width: Optional[int] = None


def read_coco_captions(path: str) -> List[CaptionedImage]:
    """Read a COCO Captions json (``captions_train2017.json`` layout).

    The file holds ``images`` (``id``, ``file_name``, optionally
    ``height``/``width``) and ``annotations`` (``image_id``, ``caption``).

    Args:
        path (str): The json file.

    Returns:
        list[CaptionedImage]: Images with at least one caption, in the
        order of ``images``.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: If a key is missing, a caption is not a non-empty
            string, or an annotation names an unknown image; the message
            names the file and the annotation.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'caption file {path} does not exist')
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    for key in ('images', 'annotations'):
        if not isinstance(data, dict) or key not in data:
            raise ValueError(f'{path}: not a COCO Captions file (no '
                             f'{key!r} list; expected keys images and '
                             f'annotations)')
    images: Dict[object, CaptionedImage] = {}
    for i, img in enumerate(data['images']):
        if 'id' not in img or 'file_name' not in img:
            raise ValueError(f'{path}: images[{i}] needs id and file_name, '
                             f'got keys {sorted(img)}')
        images[img['id']] = CaptionedImage(
            img['file_name'], img['id'], [], img.get('height'),
            img.get('width'))
    for i, ann in enumerate(data['annotations']):
        caption = ann.get('caption')
        if not isinstance(caption, str) or not caption.strip():
            raise ValueError(f'{path}: annotations[{i}] (id '
                             f'{ann.get("id")}) has no caption text: '
                             f'{caption!r}')
        if ann.get('image_id') not in images:
            raise ValueError(f'{path}: annotations[{i}] (id '
                             f'{ann.get("id")}) names image_id '
                             f'{ann.get("image_id")!r}, which is not in '
                             f'images')
        images[ann['image_id']].captions.append(caption.strip())
    return [img for img in images.values() if img.captions]


def read_tsv_captions(path: str) -> List[CaptionedImage]:
    """Read a CC3M-style tsv: one ``image_path<TAB>caption`` per line.

    Lines of the same image are grouped; blank lines are skipped.

    Args:
        path (str): The tsv file.

    Returns:
        list[CaptionedImage]: One per image, in order of first appearance;
        ``img_id`` is the image path.

    Raises:
        FileNotFoundError: If ``path`` is not a file.
        ValueError: For a line without exactly one tab or with an empty
            field, naming the file and the line number.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'caption file {path} does not exist')
    images: Dict[str, CaptionedImage] = {}
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            line = line.rstrip('\r\n')
            if not line.strip():
                continue
            fields = line.split('\t')
            if len(fields) != 2 or not all(x.strip() for x in fields):
                raise ValueError(
                    f'{path}:{line_no}: expected image_path<TAB>caption, '
                    f'got {line!r:.80}')
            file_name, caption = fields[0].strip(), fields[1].strip()
            images.setdefault(file_name,
                              CaptionedImage(file_name, file_name))
            images[file_name].captions.append(caption)
    return list(images.values())


def read_caption_file(path: str) -> List[CaptionedImage]:
    """Read a caption file by its extension (``.json`` or ``.tsv``).

    Args:
        path (str): A COCO Captions json or a tsv file.

    Returns:
        list[CaptionedImage]: The images with their captions.

    Raises:
        ValueError: For another extension.
    """
    if path.endswith('.json'):
        return read_coco_captions(path)
    if path.endswith(('.tsv', '.txt')):
        return read_tsv_captions(path)
    raise ValueError(f'{path}: unknown caption file type; expected a COCO '
                     f'Captions .json or an image_path<TAB>caption .tsv')


def captioned_images_to_data_list(images: List[CaptionedImage],
                                  img_prefix: str = '') -> List[dict]:
    """Caption-file records as mmengine dataset ``data_list`` entries.

    Args:
        images (list[CaptionedImage]): Read by :func:`read_coco_captions` or
            :func:`read_tsv_captions`.
        img_prefix (str): Folder the image paths are relative to.

    Returns:
        list[dict]: Per image ``img_path``, ``img_id``, ``captions`` (list of
        str) and, when known, ``height`` and ``width``.
    """
    data_list = []
    for image in images:
        info = dict(
            img_path=osp.join(img_prefix, image.file_name),
            img_id=image.img_id,
            captions=list(image.captions))
        if image.height is not None and image.width is not None:
            info.update(height=image.height, width=image.width)
        data_list.append(info)
    return data_list
