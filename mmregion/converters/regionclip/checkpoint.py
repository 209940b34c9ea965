"""Official RegionCLIP checkpoint files → mmregion checkpoint and
vocabulary files, and the report the CLI prints
(``tools/model_converters/regionclip_to_mmregion.py``)."""
import os.path as osp
import time
from typing import Any, Dict, Mapping, Optional

from ...models.language.vocabulary import FORMAT, Vocabulary
from ..common import (
    count_line,
    describe_by_reason,
    load_checkpoint_dict,
    report_header,
    save_converted,
)
from .convert import regionclip_to_mmregion
from .heads import EMBEDDINGS, PREDICTOR
from .state import NUM_RATIOS


def load_regionclip_checkpoint(path: str) -> Mapping:
    """Read an official RegionCLIP checkpoint with ``weights_only=True``.

    numpy arrays (as detectron2 may store) are allowed; any other object is
    refused.

    Args:
        path (str): The ``.pth`` file.

    Returns:
        Mapping: The loaded checkpoint.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When ``torch.load(weights_only=True)`` refuses the file
            (quoting its reason) or it holds no dict.
    """
    return load_checkpoint_dict(path, 'RegionCLIP',
                                "a checkpoint dict ({'model': state_dict})")


def _save_vocabularies(extras: Mapping[str, Any], src: str,
                       vocab_prefix: str) -> Dict[str, str]:
    """Write the checkpoint's text embeddings as vocabulary files.

    Args:
        extras (Mapping): The extras of :func:`regionclip_to_mmregion`.
        src (str): The official checkpoint (recorded in the files' meta).
        vocab_prefix (str): ``{vocab_prefix}_{train,test}_vocab.pth``.

    Returns:
        dict[str, str]: ``train_embeddings`` / ``test_embeddings`` → the
        file written.
    """
    vocab_files = {}
    for name, split in (('train_embeddings', 'train'), ('test_embeddings',
                                                        'test')):
        if name in extras:
            path = f'{vocab_prefix}_{split}_vocab.pth'
            key = next(k for k, v in EMBEDDINGS.items() if v == name)
            Vocabulary(
                extras[name],
                meta=dict(
                    format=FORMAT,
                    model=f'RegionCLIP (dim {extras[name].shape[1]})',
                    converted_from=src,
                    source_key=PREDICTOR + key),
                where=path).save(path)
            vocab_files[name] = path
    return vocab_files


def convert_regionclip_checkpoint(src: str,
                                  dst: str,
                                  vocab_prefix: Optional[str] = None,
                                  strict: bool = True,
                                  num_sizes: Optional[int] = None,
                                  num_ratios: int = NUM_RATIOS
                                  ) -> Dict[str, Any]:
    """Convert an official RegionCLIP checkpoint file to mmregion files.

    Writes ``dst`` = ``{'state_dict': ..., 'meta': {'converted_from': src,
    ...}}`` (load it with ``load_from`` or mmengine's ``load_checkpoint``)
    and, when the checkpoint has text embeddings, the vocabulary files
    ``{vocab_prefix}_train_vocab.pth`` / ``{vocab_prefix}_test_vocab.pth``
    (:meth:`Vocabulary.save`; give them to the box head's
    ``train_vocabulary`` / ``test_vocabulary``). Files are written
    atomically.

    Args:
        src (str): The official checkpoint.
        dst (str): The mmregion checkpoint to write.
        vocab_prefix (str, optional): Prefix of the vocabulary files.
            Defaults to ``dst`` without its extension.
        strict (bool): See :func:`regionclip_to_mmregion`. Defaults to True.
        num_sizes (int, optional): Anchor sizes per cell of the offline RPN
            (per level for an FPN). Defaults to 5 (R50-C4) or 1 (R50-FPN).
        num_ratios (int): Anchor aspect ratios. Defaults to 3.

    Returns:
        dict: The report of :func:`regionclip_to_mmregion` plus ``src``,
        ``dst``, ``vocab_files`` (name → path) and ``seconds``.
    """
    start = time.time()
    state, extras = regionclip_to_mmregion(
        load_regionclip_checkpoint(src), strict, num_sizes, num_ratios)
    report = extras['report']
    if vocab_prefix is None:
        vocab_prefix = osp.splitext(dst)[0]
    vocab_files = _save_vocabularies(extras, src, vocab_prefix)
    meta = dict(
        converted_from=osp.abspath(src),
        converter='mmregion.converters.regionclip_to_mmregion',
        vocab_files=vocab_files,
        anchor_permutation=report['anchor_permutation'],
        skipped=report['skipped'])
    save_converted(state, meta, dst)
    report.update(
        src=src,
        dst=dst,
        vocab_files=vocab_files,
        seconds=time.time() - start)
    return report


def format_report(report: Mapping[str, Any]) -> str:
    """The report of :func:`convert_regionclip_checkpoint` as text.

    Args:
        report (Mapping): The report.

    Returns:
        str: One line per converted / added / dropped group, vocabulary
        file, the anchor permutation, skipped reasons and warnings.
    """
    lines = [report_header(report)]
    for title in ('converted', 'added', 'dropped'):
        for group, count in report[title].items():
            lines.append(count_line(title, count, group))
    for name, path in report['vocab_files'].items():
        shape = ' x '.join(map(str, report['embeddings'][name]))
        lines.append(f'  {name} ({shape}) -> {path}')
    if report['anchor_permutation'] is not None:
        lines.append('  RPN anchors, detectron2 -> mmdet channel: '
                     f"{report['anchor_permutation']}")
    if report['skipped']:
        lines.append(
            count_line('skipped', len(report['skipped']),
                       describe_by_reason(report['skipped'])))
    lines += [f'  warning: {note}' for note in report['warnings']]
    return '\n'.join(lines)
