"""Frames through the detector in batches (the real-time demos'
``--batch-size``).

:func:`segment_frames` reads ``batch_size`` frames, runs each through the
config's test pipeline, collates them with mmengine's ``pseudo_collate`` and
runs one ``model.test_step`` (what mmdet's ``DetInferencer`` and
:class:`~mmregion.apis.inference.OpenVocabInferencer` do for a batch of
images), then hands the frames back one by one, in order, each with its
prediction and its share of the batch's time. The last batch may be
shorter. With ``batch_size=1`` it is mmdet's ``inference_detector`` of each
frame (without its CPU ``RoIPool`` check).
"""
import contextlib
import time
from itertools import islice
from typing import Iterable, Iterator, List, Sequence, Tuple, TypeVar

import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample
from mmengine.dataset import pseudo_collate
from torch import nn

from .inference import mixed_precision

T = TypeVar('T')


def check_batch_size(batch_size: int, name: str = 'batch_size') -> int:
    """Check that a batch size is a positive int.

    Args:
        batch_size (int): Frames per forward pass.
        name (str): How the message names it (e.g. ``'--batch-size'``).
            Defaults to ``'batch_size'``.

    Returns:
        int: ``batch_size``.

    Raises:
        ValueError: When it is not an int >= 1.
    """
    if isinstance(batch_size, bool) or not isinstance(
            batch_size, int) or batch_size < 1:
        raise ValueError(f'{name} must be an integer >= 1 (frames per '
                         f'forward pass), got {batch_size!r}')
    return batch_size


def batched(items: Iterable[T], size: int) -> Iterator[List[T]]:
    """Consecutive lists of ``size`` items; the last one may be shorter.

    Reads only as many items as it yields (a camera is not read ahead).

    Args:
        items (Iterable): Any iterable.
        size (int): Items per list (>= 1).

    Returns:
        Iterator[list]: The lists, in order; none is empty.
    """
    check_batch_size(size, 'size')
    iterator = iter(items)
    while True:
        batch = list(islice(iterator, size))
        if not batch:
            return
        yield batch


def infer_batch(model: nn.Module,
                pipeline: Compose,
                images: Sequence[np.ndarray],
                fp16: bool = False) -> List[DetDataSample]:
    """Detect in a batch of images with one forward pass.

    Args:
        model (nn.Module): A detector from ``init_detector``.
        pipeline (Compose): Its test pipeline for arrays
            (:func:`~mmregion.apis.realtime.array_test_pipeline`).
        images (Sequence[np.ndarray]): (H, W, 3) BGR uint8 images; frames
            of different sizes are padded to the largest by the model's
            data preprocessor, as in mmdet's inferencer.
        fp16 (bool): Mixed precision
            (:func:`~mmregion.apis.inference.mixed_precision`). Defaults
            to False.

    Returns:
        list[DetDataSample]: One prediction per image, in order.
    """
    data = pseudo_collate(
        [pipeline(dict(img=image, img_id=i)) for i, image in
         enumerate(images)])
    device = next(model.parameters()).device
    with torch.no_grad(), (mixed_precision(model, device)
                           if fp16 else contextlib.nullcontext()):
        return model.test_step(data)


def segment_frames(
    model: nn.Module,
    pipeline: Compose,
    frames: Iterable[Tuple[str, np.ndarray]],
    batch_size: int = 1,
    fp16: bool = False
) -> Iterator[Tuple[str, np.ndarray, DetDataSample, float]]:
    """Detect in frames ``batch_size`` at a time, yield them one by one.

    Args:
        model (nn.Module): A detector from ``init_detector``.
        pipeline (Compose): Its test pipeline for arrays.
        frames (Iterable[tuple[str, np.ndarray]]): (name, BGR image)
            pairs, e.g. a :class:`~mmregion.apis.realtime.FrameSource`.
        batch_size (int): Frames per forward pass. Defaults to 1.
        fp16 (bool): Mixed precision. Defaults to False.

    Returns:
        Iterator[tuple]: ``(name, frame, prediction, seconds)`` per frame,
        in input order; ``seconds`` is the batch's pipeline and forward
        time divided by its frame count (reading the frames is not
        counted).

    Raises:
        ValueError: When ``batch_size`` is not an int >= 1.
    """
    check_batch_size(batch_size)
    for batch in batched(frames, batch_size):
        start = time.perf_counter()
        results = infer_batch(model, pipeline, [f for _, f in batch], fp16)
        seconds = (time.perf_counter() - start) / len(batch)
        for (name, frame), result in zip(batch, results):
            yield name, frame, result, seconds
