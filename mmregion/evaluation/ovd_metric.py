"""COCO metric with the open-vocabulary AP50 on novel, base and all classes."""
import os.path as osp
import tempfile
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets.api_wrappers import COCOeval
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.fileio import load
from mmengine.logging import MMLogger
from terminaltables import AsciiTable

from ..data.ovd_splits import SPLIT_NAMES


@METRICS.register_module()
class OVDMetric(CocoMetric):
    """mmdet's :class:`CocoMetric` plus the OVD AP50 of novel/base/all classes.

    Everything :class:`CocoMetric` reports is kept (``coco/bbox_mAP`` ...).
    For the ``bbox`` metric it adds ``coco/novel_ap50``, ``coco/base_ap50``
    and ``coco/all_ap50``; for ``segm`` the same with a ``segm_`` prefix
    (``coco/segm_novel_ap50`` ...). These values are not rounded. The AP50 of
    every class is logged in a table.

    How the group AP50 is computed (the OVR-CNN / RegionCLIP protocol): one
    COCOeval run over all evaluated classes gives each class's interpolated
    precision at IoU 0.5, area 'all', at most 100 detections per image
    (``eval['precision'][0, :, k, 0, -1]``); a group's AP50 is the mean of
    these precisions over the group's classes, leaving out classes without
    ground truth in the evaluated images (entries of -1). It is the mean of
    the per-class AP50 of the group, and ``all_ap50`` is COCO's AP50 at 100
    detections. This run is made on the result files :class:`CocoMetric`
    writes, with only that IoU threshold, area range and detection limit, so
    it adds the box (or mask) IoUs again but little matching work. Note that
    ``bbox_mAP_50`` of :class:`CocoMetric` counts up to
    ``proposal_nums[-1]`` (1000) detections per image; the two agree when a
    detector keeps at most 100 per image.

    Base classes are all evaluated classes that are not novel.

    Args:
        ann_file (str, optional): The COCO annotation file, e.g. the
            ``*_ovd_val_all.json`` of
            :func:`mmregion.datasets.ovd_split.make_coco_ovd_split`. Defaults
            to None (ground truth taken from the data samples, as in
            :class:`CocoMetric`; then ``novel_classes`` is required).
        novel_classes (Sequence[str], optional): Names of the novel classes;
            each must be one of the dataset's classes. Defaults to None: the
            categories of ``ann_file`` whose ``split`` field is 'novel' (or
            'unseen', as in the OVR-CNN files).
        **kwargs: The other arguments of :class:`CocoMetric` (``metric``,
            ``classwise``, ``outfile_prefix``, ``prefix`` ...).
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 novel_classes: Optional[Sequence[str]] = None,
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, **kwargs)
        self._result_files: Dict[str, str] = {}
        self._novel_from_file = novel_classes is None
        if novel_classes is not None:
            self.novel_classes: Tuple[str, ...] = tuple(novel_classes)
        elif self._coco_api is not None:
            self.novel_classes = self._novel_classes_of(ann_file)
        else:
            raise ValueError(
                'OVDMetric needs novel_classes, or an ann_file whose '
                'categories have a "split" field (base/novel)')

    def _novel_classes_of(self, ann_file: str) -> Tuple[str, ...]:
        """Names of the categories of ``ann_file`` marked novel."""
        novel = []
        for cat in self._coco_api.dataset['categories']:
            group = SPLIT_NAMES.get(cat.get('split'))
            if group is None:
                raise ValueError(
                    f'{ann_file}: category id {cat["id"]} ({cat["name"]!r}) '
                    f'has split {cat.get("split")!r}; OVDMetric reads the '
                    f'novel classes from this field (one of '
                    f'{tuple(SPLIT_NAMES)}) when novel_classes is not given')
            if group == 'novel':
                novel.append(cat['name'])
        return tuple(novel)

    @CocoMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        """Set the dataset meta and check the novel class names against it."""
        if not self._novel_from_file:
            classes = (dataset_meta or {}).get('classes', ())
            unknown = [c for c in self.novel_classes if c not in classes]
            if unknown:
                raise ValueError(
                    f'novel_classes {unknown} of OVDMetric are not among the '
                    f'dataset classes {tuple(classes)}')
        self._dataset_meta = dataset_meta

    def results2json(self, results: Sequence[dict],
                     outfile_prefix: str) -> dict:
        """Dump the results as :class:`CocoMetric` does; remember the files.

        Args:
            results (Sequence[dict]): Testing results of the dataset.
            outfile_prefix (str): The filename prefix of the json files.

        Returns:
            dict: ``'bbox'``, ``'proposal'`` and maybe ``'segm'`` → file.
        """
        self._result_files = super().results2json(results, outfile_prefix)
        return self._result_files

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the COCO metrics and the OVD AP50 of each group.

        Args:
            results (list): The processed results of each batch.

        Returns:
            dict[str, float]: :class:`CocoMetric`'s results with
            ``novel_ap50``, ``base_ap50``, ``all_ap50`` (and ``segm_...``).
        """
        if self.outfile_prefix is not None:
            return self._compute_all(results)
        # Keep the result files CocoMetric writes until the OVD run read them.
        with tempfile.TemporaryDirectory() as tmp_dir:
            self.outfile_prefix = osp.join(tmp_dir, 'results')
            try:
                return self._compute_all(results)
            finally:
                self.outfile_prefix = None

    def _compute_all(self, results: list) -> Dict[str, float]:
        eval_results = super().compute_metrics(results)
        if self.format_only:
            return eval_results
        for metric in self.metrics:
            if metric in ('bbox', 'segm'):
                eval_results.update(self._ovd_ap50(metric))
        return eval_results

    def _ovd_ap50(self, metric: str) -> Dict[str, float]:
        """Evaluate one result file at IoU 0.5 and average per group.

        Args:
            metric (str): ``'bbox'`` or ``'segm'``.

        Returns:
            dict[str, float]: ``{prefix}novel_ap50``, ``{prefix}base_ap50``,
            ``{prefix}all_ap50`` (nan for a group without evaluated ground
            truth; empty when there are no predictions at all).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        predictions = load(self._result_files[metric])
        if not predictions:
            logger.warning(f'OVDMetric: no {metric} predictions; novel/base/'
                           f'all AP50 not computed')
            return {}
        coco_eval = COCOeval(self._coco_api,
                             self._coco_api.loadRes(predictions), metric)
        params = coco_eval.params
        params.catIds = self.cat_ids
        params.imgIds = self.img_ids
        params.iouThrs = np.array([0.5])
        params.areaRng, params.areaRngLbl = params.areaRng[:1], ['all']
        params.maxDets = [100]
        coco_eval.evaluate()
        coco_eval.accumulate()
        # (recall thresholds, categories in params.catIds order)
        precision = coco_eval.eval['precision'][0, :, :, 0, -1]

        novel = set(self.novel_classes)
        rows: List[Tuple[str, str, float]] = []
        for k, cat_id in enumerate(coco_eval.params.catIds):
            name = self._coco_api.cats[cat_id]['name']
            valid = precision[:, k][precision[:, k] > -1]
            ap50 = float(np.mean(valid)) if valid.size else float('nan')
            rows.append((name, 'novel' if name in novel else 'base', ap50))

        def group_mean(group: Optional[str]) -> float:
            aps = [
                ap for _, g, ap in rows
                if (group is None or g == group) and not np.isnan(ap)
            ]
            return float(np.mean(aps)) if aps else float('nan')

        key = '' if metric == 'bbox' else f'{metric}_'
        out = {
            f'{key}novel_ap50': group_mean('novel'),
            f'{key}base_ap50': group_mean('base'),
            f'{key}all_ap50': group_mean(None)
        }
        table = AsciiTable([['category', 'split', 'AP50']] +
                           [[n, g, f'{ap:.3f}'] for n, g, ap in rows])
        logger.info(f'{metric} AP50 per class:\n{table.table}')
        logger.info(f'{metric}_ovd_ap50_copypaste: novel '
                    f'{out[key + "novel_ap50"]:.4f} base '
                    f'{out[key + "base_ap50"]:.4f} all '
                    f'{out[key + "all_ap50"]:.4f}')
        for group in ('novel', 'base'):
            if np.isnan(out[f'{key}{group}_ap50']):
                logger.warning(f'OVDMetric: no evaluated {group} class has '
                               f'ground truth; {key}{group}_ap50 is nan')
        return out
