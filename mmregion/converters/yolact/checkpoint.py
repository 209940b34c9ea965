"""Official YOLACT checkpoint files → mmregion checkpoint files, and the
report the CLI prints (``tools/model_converters/yolact_to_mmregion.py``)."""
import os.path as osp
import time
from typing import Any, Dict, Mapping, Optional

from torch import Tensor

from ..common import (
    count_line,
    describe_keys,
    load_checkpoint_dict,
    report_header,
    save_converted,
    unwrap_state_dict,
)
from .convert import yolact_to_mmregion


def load_official_checkpoint(path: str) -> Mapping[str, Tensor]:
    """Read an official YOLACT checkpoint with ``weights_only=True``.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        Mapping[str, Tensor]: Its state dict.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When it holds no dict of tensors.
    """
    ckpt = load_checkpoint_dict(path, 'YOLACT', 'a state dict')
    return unwrap_state_dict(ckpt)


def convert_yolact_checkpoint(src: str,
                              dst: str,
                              strict: bool = True,
                              num_classes: Optional[int] = None,
                              square_anchors: Optional[bool] = None
                              ) -> Dict[str, Any]:
    """Convert an official YOLACT checkpoint file to an mmregion checkpoint.

    Writes ``dst`` = ``{'state_dict': ..., 'meta': {'converted_from': src,
    'dataset_meta': COCO classes and palette, 'config': ..., ...}}``
    atomically (load it with ``load_from`` / ``--weights``; mmdet's
    ``init_detector`` reads the class names from ``dataset_meta``).

    Args:
        src (str): The official checkpoint.
        dst (str): The mmregion checkpoint to write.
        strict (bool): See :func:`yolact_to_mmregion`. Defaults to True.
        num_classes (int, optional): Expected classes; checked when given.
        square_anchors (bool, optional): See :func:`yolact_to_mmregion`.

    Returns:
        dict: The report of :func:`yolact_to_mmregion` plus ``src``,
        ``dst`` and ``seconds``.
    """
    from mmdet.datasets import CocoDataset
    start = time.time()
    state, report = yolact_to_mmregion(
        load_official_checkpoint(src), strict, num_classes, square_anchors)
    layout = report['layout']
    dataset_meta = (
        dict(CocoDataset.METAINFO) if layout.num_classes == len(
            CocoDataset.METAINFO['classes']) else {})
    meta = dict(
        converted_from=osp.abspath(src),
        converter='mmregion.converters.yolact_to_mmregion',
        config=report['config'],
        square_anchors=report['square_anchors'],
        anchor_permutation=report['anchor_permutation'],
        skipped=report['skipped'],
        missing=report['missing'])
    if dataset_meta:
        meta['dataset_meta'] = dataset_meta
    save_converted(state, meta, dst)
    report.update(src=src, dst=dst, seconds=time.time() - start)
    return report


def format_yolact_report(report: Mapping[str, Any]) -> str:
    """The report of :func:`convert_yolact_checkpoint` as text.

    Args:
        report (Mapping): The report.

    Returns:
        str: The detected model, tensors per group, folded biases, added
        counters, the anchor permutation, skipped and missing keys and the
        config to use.
    """
    layout = report['layout']
    dcn = 'no DCN'
    if layout.dcn_blocks:
        dcn = ('DCN in every block of res3-res5' if layout.dcn_interval == 1
               else f'DCN every {layout.dcn_interval} blocks of res3-res5')
    lines = [
        report_header(report),
        f'  model      ResNet-{layout.depth} ({dcn}), {layout.num_classes} '
        f'classes, {layout.num_anchors} anchors per location '
        f"({'square' if report['square_anchors'] else 'w:h 1, 1:2, 2:1'}), "
        f"{'mask re-scoring' if layout.maskiou_convs else 'no re-scoring'}",
    ]
    for group, count in report['converted'].items():
        lines.append(count_line('converted', count, group))
    if report['folded_dcn_biases']:
        lines.append(
            count_line('folded', report['folded_dcn_biases'],
                       'DCN conv2 biases into bn2.running_mean'))
    if report['added']:
        lines.append(
            count_line('added', report['added'],
                       'BatchNorm num_batches_tracked'))
    lines.append('  anchors, official -> mmdet channel block: '
                 f"{report['anchor_permutation']}")
    for title in ('skipped', 'missing'):
        if report[title]:
            lines.append(f'  {title:9s} {describe_keys(report[title])}')
    lines.append(f"  config    {report['config']}")
    return '\n'.join(lines)
