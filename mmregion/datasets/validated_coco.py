"""A COCO dataset that checks its annotation file while loading it."""
import os.path as osp
from typing import List, Optional, Sequence, Union

from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from ..data.ovd_splits import OVD_GROUPS, category_splits, read_names_file


def segmentation_problem(segm: object) -> Optional[str]:
    """Say what is wrong with a COCO ``segmentation`` value, if anything.

    Args:
        segm (object): The ``segmentation`` field of one annotation: a list
            of polygons ``[[x1, y1, x2, y2, ...], ...]`` or an RLE dict with
            ``counts`` and ``size``.

    Returns:
        str | None: A description of the problem, or None when it is valid.
    """
    if isinstance(segm, dict):
        if 'counts' not in segm or 'size' not in segm:
            return 'an RLE dict needs both "counts" and "size"'
        if not isinstance(segm['counts'], (list, str)):
            return (f'RLE "counts" must be a list or a string, got '
                    f'{type(segm["counts"]).__name__}')
        return None
    if not isinstance(segm, list) or not segm:
        return ('expected a non-empty list of polygons or an RLE dict, got '
                f'{segm!r:.60}')
    for k, poly in enumerate(segm):
        if not isinstance(poly, list) or not all(
                isinstance(v, (int, float)) for v in poly):
            return f'polygon {k} is not a flat list of numbers'
        if len(poly) < 6 or len(poly) % 2:
            return (f'polygon {k} has {len(poly)} coordinates; a polygon '
                    f'needs an even number, at least 6')
    return None


@DATASETS.register_module()
class ValidatedCocoDataset(CocoDataset):
    """mmdet's :class:`CocoDataset` with early, named errors for bad input.

    While the annotation file is parsed (at dataset build time, before the
    first iteration) it checks:

    * every annotation's ``category_id`` is one of the file's categories
      (mmdet silently drops such annotations) → ``ValueError`` naming the
      file, the annotation id, the image and the known ids;
    * every image file exists (local files only) → ``FileNotFoundError``
      naming the annotation file and the first missing images;
    * every ``segmentation`` is a valid polygon list or RLE → a warning
      naming the file, annotation and image, and the instance is skipped
      (mmdet's convention for a single bad sample);
    * the dataset is not empty after filtering → ``ValueError`` naming the
      file and the filter.

    A corrupt image file is reported when it is loaded, by mmcv's
    ``LoadImageFromFile`` ("failed to load image: PATH").

    Open-vocabulary training and testing select a class group with
    ``class_group`` (``'base'``, ``'novel'`` or ``'all'``): the base/novel
    split comes from the config (``novel_classes``, or ``split_file``: the
    ``*_ovd_categories.json`` of ``tools/misc/make_ovd_split.py`` or a text
    file of novel names) or else from the ``split`` field of the annotation
    file's categories, which ``make_ovd_split.py`` writes. The group's
    categories, in file order, become ``metainfo['classes']`` and the
    labels; annotations of other classes are dropped. ``metainfo.classes``
    (or the class's ``METAINFO``), when set, first restricts the categories
    considered; when empty, every category of the file is a class.

    Args:
        check_image_files (bool): Whether to check that image files exist.
            Defaults to True.
        class_group (str, optional): ``'all'``, ``'base'`` or ``'novel'``.
            Defaults to None (the classes of ``metainfo``/``METAINFO``, no
            split needed).
        novel_classes (Sequence[str], optional): The novel class names;
            the other categories are base. Overrides the file's split.
        split_file (str, optional): A file giving the novel classes (json
            with a ``"novel"`` list, or one name a line); relative to
            ``data_root``. Overrides the file's split.
        **kwargs: Arguments of :class:`mmdet.datasets.CocoDataset`.
    """

    def __init__(self,
                 *args,
                 check_image_files: bool = True,
                 class_group: Optional[str] = None,
                 novel_classes: Optional[Sequence[str]] = None,
                 split_file: Optional[str] = None,
                 **kwargs):
        if class_group is not None and class_group not in OVD_GROUPS:
            raise ValueError(
                f'{type(self).__name__}: unknown class_group '
                f'{class_group!r}; expected one of {sorted(OVD_GROUPS)}')
        if novel_classes is not None and split_file is not None:
            raise ValueError(f'{type(self).__name__}: give novel_classes '
                             f'or split_file, not both')
        self.check_image_files = check_image_files
        self.class_group = class_group
        self.novel_classes = novel_classes
        self.split_file = split_file
        self._class_cat_ids: Optional[List[int]] = None
        self._missing_images: List[str] = []
        super().__init__(*args, **kwargs)

    @property
    def cat_ids(self) -> Optional[List[int]]:
        """The category ids of the classes, in label order."""
        return self._class_cat_ids

    @cat_ids.setter
    def cat_ids(self, file_cat_ids: List[int]) -> None:
        """Keep the ids of ``class_group`` among those mmdet selected.

        mmdet's ``CocoDataset.load_data_list`` sets the ids of the
        ``metainfo`` classes (all ids when there are none) while its COCO
        api is loaded, then builds ``cat2label`` from ``cat_ids`` and skips
        annotations of other categories; filtering here makes both follow
        the group.

        Args:
            file_cat_ids (list[int]): Ids of the file's categories that
                mmdet selected.
        """
        if self.class_group is None and self.metainfo.get('classes'):
            self._class_cat_ids = list(file_cat_ids)  # as mmdet
            return
        cats = self._group_categories(self.coco.load_cats(file_cat_ids))
        self._class_cat_ids = [c['id'] for c in cats]
        self._metainfo['classes'] = tuple(c['name'] for c in cats)

    def _group_categories(self, cats: List[dict]) -> List[dict]:
        """The categories of ``class_group`` (all for None/'all')."""
        if not cats:
            raise ValueError(
                f'{self.ann_file}: none of its categories is a class of '
                f'the dataset (classes {self.metainfo.get("classes")})')
        if self.class_group in (None, 'all'):
            return cats
        novel = self.novel_classes
        source = self.ann_file
        if self.split_file is not None:
            path = self.split_file
            if not osp.isabs(path) and self.data_root and not osp.isfile(
                    path):
                path = osp.join(self.data_root, path)
            novel, source = read_names_file(path), path
        groups = category_splits(
            cats, novel_classes=novel, source=source)
        group = [c for c in cats if groups[c['name']] == self.class_group]
        if not group:
            raise ValueError(
                f'{source}: no category of class_group '
                f'{self.class_group!r} among its {len(cats)} categories')
        return group

    def load_data_list(self) -> List[dict]:
        """Load and check the annotation file.

        Returns:
            list[dict]: One data info per image, as mmdet's CocoDataset.
        """
        self._missing_images = []
        data_list = super().load_data_list()
        if self._missing_images:
            n = len(self._missing_images)
            shown = ', '.join(self._missing_images[:5])
            raise FileNotFoundError(
                f'{self.ann_file}: {n} image file(s) listed in the '
                f'annotations do not exist, e.g. {shown} (data_prefix='
                f'{self.data_prefix})')
        return data_list

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Check one image's annotations, then parse them as mmdet does.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info``.

        Returns:
            dict: The parsed data info.
        """
        img_info = raw_data_info['raw_img_info']
        known = self.coco.cats
        kept = []
        for ann in raw_data_info['raw_ann_info']:
            if ann['category_id'] not in known:
                raise ValueError(
                    f'{self.ann_file}: annotation id {ann.get("id")} of image '
                    f'id {img_info["img_id"]} ({img_info["file_name"]}) has '
                    f'category_id {ann["category_id"]}, which is not among '
                    f'the categories the file defines (ids '
                    f'{sorted(known)})')
            problem = (
                segmentation_problem(ann['segmentation'])
                if 'segmentation' in ann else None)
            if problem is not None:
                print_log(
                    f'{self.ann_file}: skipping annotation id '
                    f'{ann.get("id")} of image {img_info["file_name"]}: '
                    f'malformed segmentation: {problem}',
                    logger='current',
                    level=30)
                continue
            kept.append(ann)
        data_info = super().parse_data_info(
            dict(raw_img_info=img_info, raw_ann_info=kept))
        if (self.check_image_files and self.backend_args is None
                and not osp.isfile(data_info['img_path'])):
            self._missing_images.append(data_info['img_path'])
        return data_info

    def filter_data(self) -> List[dict]:
        """Filter as mmdet does, and refuse an empty result.

        Returns:
            list[dict]: The kept data infos.
        """
        data_list = super().filter_data()
        if not data_list:
            raise ValueError(
                f'{self.ann_file}: the dataset is empty (it lists '
                f'{len(self.data_list)} image(s); {len(data_list)} left after '
                f'filter_cfg={self.filter_cfg} with classes '
                f'{self.metainfo.get("classes")})')
        return data_list
