"""LVIS v1 with the open-vocabulary (866 base / 337 novel) class groups."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.datasets import LVISV1Dataset
from mmdet.registry import DATASETS

from ..data.ovd_splits import (
    LVIS_BASE_FREQUENCIES,
    LVIS_NOVEL_FREQUENCIES,
    OVD_GROUPS,
    category_splits,
    lvis_ovd_split,
    read_names_file,
)


@DATASETS.register_module()
class LVISOVDDataset(LVISV1Dataset):
    """LVIS v1 restricted to a frequency group of its categories.

    Train on ``class_group='base'`` (the 866 frequent + common categories):
    annotations of rare categories are dropped and labels are the indices of
    the base categories (0..865, in the file's category order, which is id
    order in LVIS v1), so they index the 866-class train vocabulary. Test
    on ``'all'`` (1203 categories, labels as mmdet's
    :class:`LVISV1Dataset`). The groups come from each category's
    ``frequency`` in the annotation file (``'f'``, ``'c'``, ``'r'``), so the
    original ``lvis_v1_train.json`` and the base-only file of
    ``tools/misc/make_ovd_split.py lvis`` give the same training set.

    Another split can be given as for :class:`ValidatedCocoDataset`: a
    ``split`` field on every category of the file (``make_ovd_split.py
    custom``), or ``novel_classes`` / ``split_file`` in the config; the
    frequencies are the split only when neither is there.

    ``metainfo['classes']`` becomes the group's category names in the same
    order (what a vocabulary built from the dataset's class names needs);
    ``metainfo`` may not set ``classes`` itself.

    Args:
        class_group (str): ``'all'``, ``'base'`` or ``'novel'``. Defaults
            to ``'all'``.
        novel_classes (Sequence[str], optional): Novel class names.
        split_file (str, optional): File of novel class names (json with
            a ``"novel"`` list or one name a line).
        **kwargs: Arguments of :class:`mmdet.datasets.LVISV1Dataset`.
    """
    FREQUENCY_GROUPS: Dict[str, Tuple[str, ...]] = dict(
        all=LVIS_BASE_FREQUENCIES + LVIS_NOVEL_FREQUENCIES,
        base=LVIS_BASE_FREQUENCIES,
        novel=LVIS_NOVEL_FREQUENCIES)

    def __init__(self,
                 *args,
                 class_group: str = 'all',
                 novel_classes: Optional[Sequence[str]] = None,
                 split_file: Optional[str] = None,
                 **kwargs) -> None:
        if class_group not in OVD_GROUPS:
            raise ValueError(
                f'LVISOVDDataset: unknown class_group {class_group!r}; '
                f'expected one of {sorted(self.FREQUENCY_GROUPS)}')
        if 'classes' in (kwargs.get('metainfo') or {}):
            raise ValueError(
                'LVISOVDDataset: metainfo.classes cannot be set; the classes '
                "are the annotation file's categories of class_group "
                f'{class_group!r}')
        self.class_group = class_group
        self.novel_classes = novel_classes
        self.split_file = split_file
        self._group_cat_ids: Optional[List[int]] = None
        super().__init__(*args, **kwargs)

    @property
    def cat_ids(self) -> Optional[List[int]]:
        """The category ids of ``class_group``, in label order."""
        return self._group_cat_ids

    @cat_ids.setter
    def cat_ids(self, file_cat_ids: List[int]) -> None:
        """Keep the ids of ``class_group`` out of all the file's ids.

        mmdet's ``LVISV1Dataset.load_data_list`` sets every category id of
        the file while its LVIS api (``self.lvis``) is loaded, then builds
        ``cat2label`` from ``cat_ids`` and skips annotations whose category
        is not in it; keeping the group's ids here makes both follow it.

        Args:
            file_cat_ids (list[int]): All category ids of the file.
        """
        cats = self.lvis.load_cats(file_cat_ids)
        novel, source = self.novel_classes, self.ann_file
        if self.split_file is not None:
            source = self.split_file
            if not osp.isabs(source) and self.data_root:
                source = osp.join(self.data_root, source)
            novel = read_names_file(source)
        if novel is not None or all('split' in c for c in cats):
            groups = category_splits(cats, novel_classes=novel,
                                     source=source)
            group = [
                c for c in cats if self.class_group == 'all'
                or groups[c['name']] == self.class_group
            ]
            described = 'of its split'
        else:
            try:
                lvis_ovd_split(cats)
            except ValueError as error:
                raise ValueError(f'{self.ann_file}: {error}') from error
            frequencies = self.FREQUENCY_GROUPS[self.class_group]
            group = [c for c in cats if c['frequency'] in frequencies]
            described = f'(frequency in {frequencies})'
        if not group:
            raise ValueError(
                f'{source}: no category of class_group '
                f'{self.class_group!r} {described} among its '
                f'{len(cats)} categories')
        self._group_cat_ids = [c['id'] for c in group]
        self._metainfo['classes'] = tuple(c['name'] for c in group)
