"""LVIS v1 with the open-vocabulary (866 base / 337 novel) class groups."""
from typing import Dict, List, Optional, Tuple

from mmdet.datasets import LVISV1Dataset
from mmdet.registry import DATASETS

from ..data.ovd_splits import (LVIS_BASE_FREQUENCIES, LVIS_NOVEL_FREQUENCIES,
                               lvis_ovd_split)


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

    ``metainfo['classes']`` becomes the group's category names in the same
    order (what a vocabulary built from the dataset's class names needs);
    ``metainfo`` may not set ``classes`` itself.

    Args:
        class_group (str): ``'all'``, ``'base'`` or ``'novel'``. Defaults
            to ``'all'``.
        **kwargs: Arguments of :class:`mmdet.datasets.LVISV1Dataset`.
    """
    FREQUENCY_GROUPS: Dict[str, Tuple[str, ...]] = dict(
        all=LVIS_BASE_FREQUENCIES + LVIS_NOVEL_FREQUENCIES,
        base=LVIS_BASE_FREQUENCIES,
        novel=LVIS_NOVEL_FREQUENCIES)

    def __init__(self, *args, class_group: str = 'all', **kwargs) -> None:
        if class_group not in self.FREQUENCY_GROUPS:
            raise ValueError(
                f'LVISOVDDataset: unknown class_group {class_group!r}; '
                f'expected one of {sorted(self.FREQUENCY_GROUPS)}')
        if 'classes' in (kwargs.get('metainfo') or {}):
            raise ValueError(
                'LVISOVDDataset: metainfo.classes cannot be set; the classes '
                "are the annotation file's categories of class_group "
                f'{class_group!r}')
        self.class_group = class_group
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
        try:
            lvis_ovd_split(cats)
        except ValueError as error:
            raise ValueError(f'{self.ann_file}: {error}') from error
        frequencies = self.FREQUENCY_GROUPS[self.class_group]
        group = [c for c in cats if c['frequency'] in frequencies]
        if not group:
            raise ValueError(
                f'{self.ann_file}: no category of class_group '
                f'{self.class_group!r} (frequency in {frequencies}) among its '
                f'{len(cats)} categories')
        self._group_cat_ids = [c['id'] for c in group]
        self._metainfo['classes'] = tuple(c['name'] for c in group)
