"""Real-time instance segmentation of a video file, a webcam or a folder.

The model is built once (mmdet's ``init_detector``); frames go through
the config's test pipeline (reading arrays instead of files, annotations
dropped) and the model, ``batch_size`` frames per forward pass
(:mod:`mmregion.apis.realtime_batch`; 1 is mmdet's ``inference_detector``
per frame), then each is drawn with mmdet's ``DetLocalVisualizer``, in
order, and gets a smoothed frames-per-second figure in its top-left corner.
The figure counts the whole loop per frame: its share of the batch's
inference, and its drawing.
"""
import argparse
import os
import os.path as osp
import time
from itertools import islice
from typing import (
    Any,
    Callable,
    Dict,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import cv2
import numpy as np
from mmcv.transforms import Compose
from mmdet.apis import init_detector
from mmdet.registry import DATASETS, VISUALIZERS
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from torch import nn

from .cli import add_cli_arguments
from .inference import load_vocabulary, vocabulary_head
from .realtime_batch import check_batch_size, segment_frames
from .realtime_sources import FrameSource

__all__ = [
    'FPSMeter', 'FrameSource', 'add_realtime_arguments', 'array_test_pipeline',
    'draw_fps', 'init_realtime_model', 'run_realtime', 'run_realtime_cli'
]

class FPSMeter:
    """Frames per second, smoothed by an exponential moving average of the
    frame time.

    Args:
        momentum (float): Weight of the past in the average (0: no
            smoothing). Defaults to 0.9.
    """

    def __init__(self, momentum: float = 0.9) -> None:
        if not 0 <= momentum < 1:
            raise ValueError(f'momentum must be in [0, 1), got {momentum}')
        self.momentum = momentum
        self.seconds: Optional[float] = None

    def update(self, seconds: float) -> float:
        """Add one frame's time.

        Args:
            seconds (float): Time the frame took.

        Returns:
            float: The smoothed frames per second.
        """
        self.seconds = seconds if self.seconds is None else (
            self.momentum * self.seconds + (1 - self.momentum) * seconds)
        return 1 / max(self.seconds, 1e-9)


def draw_fps(image: np.ndarray, fps: float) -> np.ndarray:
    """Write ``FPS 12.3`` in white on a black box in the top-left corner.

    Args:
        image (np.ndarray): (H, W, 3) uint8 image; drawn on in place.
        fps (float): The figure.

    Returns:
        np.ndarray: The same image.
    """
    text = f'FPS {fps:.1f}'
    scale = max(0.3, min(image.shape[:2]) / 600)
    thickness = max(1, round(scale * 2))
    (w, h), baseline = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale,
                                       thickness)
    pad = max(2, h // 3)
    cv2.rectangle(image, (0, 0), (w + 2 * pad, h + baseline + 2 * pad),
                  (0, 0, 0), -1)
    cv2.putText(image, text, (pad, pad + h), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thickness, cv2.LINE_AA)
    return image


def array_test_pipeline(cfg: Config) -> Compose:
    """The config's test pipeline for images given as arrays.

    Args:
        cfg (Config): A detector config.

    Returns:
        Compose: The pipeline with ``LoadImageFromNDArray`` first and no
        ``LoadAnnotations`` (frames come without annotations).
    """
    steps = [
        step for step in get_test_pipeline_cfg(cfg)
        if step['type'].split('.')[-1] not in ('LoadAnnotations',
                                               'LoadPanopticAnnotations')
    ]
    steps[0] = dict(steps[0], type='mmdet.LoadImageFromNDArray')
    return Compose(steps)


def init_realtime_model(config: Union[str, Config],
                        weights: Optional[str] = None,
                        device: str = 'cpu',
                        texts: Union[str, Sequence[str], None] = None,
                        clip_checkpoint: Optional[str] = None) -> nn.Module:
    """Build the detector once, with its class names.

    Args:
        config (str | Config): A detector config (e.g. YOLACT).
        weights (str, optional): Its checkpoint; without one the weights
            are random (for trying the pipeline).
        device (str): ``'cpu'`` or ``'cuda:0'``. Defaults to ``'cpu'``.
        texts (str | Sequence[str], optional): A vocabulary for an
            open-vocabulary model (RegionCLIP or ``OpenVocabYOLACTHead``):
            class names or a vocabulary ``.pth`` (see
            :func:`mmregion.apis.inference.load_vocabulary`).
        clip_checkpoint (str, optional): CLIP weights to embed ``texts``.

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` and
        ``dataset_meta``: the checkpoint's classes, else the test dataset's.
    """
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    model = init_detector(cfg, weights, device=device)
    if weights is None:  # mmdet falls back to COCO names: use the dataset's
        dataset = dict(cfg.test_dataloader.dataset, lazy_init=True)
        model.dataset_meta = dict(DATASETS.build(dataset).metainfo)
        model.dataset_meta.setdefault('palette', 'random')
    if texts is not None:
        vocab = load_vocabulary(cfg, texts, clip_checkpoint)
        vocabulary_head(model).set_vocabulary(vocab.embeddings)
        model.dataset_meta = dict(
            classes=tuple(vocab.class_names), palette='random')
    return model


def run_realtime(config: Union[str, Config],
                 source: Union[str, int],
                 weights: Optional[str] = None,
                 out_video: Optional[str] = None,
                 out_dir: Optional[str] = None,
                 score_thr: float = 0.3,
                 device: str = 'cpu',
                 texts: Union[str, Sequence[str], None] = None,
                 clip_checkpoint: Optional[str] = None,
                 max_frames: Optional[int] = None,
                 show: bool = False,
                 fp16: bool = False,
                 batch_size: int = 1,
                 fps_momentum: float = 0.9,
                 log: Callable[[str], Any] = print) -> Dict[str, Any]:
    """Segment every frame of a source, draw it with an FPS figure, save it.

    Args:
        config (str | Config): A detector config (e.g. YOLACT).
        source (str | int): A video file, a folder of images or a camera
            index (:class:`FrameSource`).
        weights (str, optional): The detector checkpoint.
        out_video (str, optional): Write the drawn frames to this video
            (mp4v; the source's frame rate, frames resized to the first
            one's size).
        out_dir (str, optional): Write each drawn frame to this folder
            (folder sources keep their file names).
        score_thr (float): Draw instances scoring at least this. Defaults
            to 0.3.
        device (str): ``'cpu'`` or ``'cuda:0'``. Defaults to ``'cpu'``.
        texts (str | Sequence[str], optional): A vocabulary for an
            open-vocabulary model.
        clip_checkpoint (str, optional): CLIP weights to embed ``texts``.
        max_frames (int, optional): Stop after this many frames.
        show (bool): Also show the frames in a window (needs an OpenCV
            build with a GUI; ``q`` stops). Defaults to False.
        fp16 (bool): Mixed precision (float16 autocast on CUDA, bfloat16
            on the CPU; :func:`~mmregion.apis.inference.mixed_precision`).
            Defaults to False.
        batch_size (int): Frames per forward pass; each is still drawn,
            written and shown in order, the last batch may be shorter. A
            camera's frames are shown ``batch_size - 1`` frames late.
            Defaults to 1.
        fps_momentum (float): Smoothing of the drawn FPS figure.
        log (Callable[[str], Any]): Receives one line per frame and the
            summary. Defaults to ``print``.

    Returns:
        dict: ``frames`` (count), ``fps`` (per-frame, unsmoothed),
        ``mean_fps`` (frames / total time; a batch's inference time is
        shared by its frames), ``instances`` (per frame, above
        ``score_thr``), ``size`` ((H, W) of the first frame), ``out_video``,
        ``out_dir``.

    Raises:
        FileNotFoundError, ValueError, RuntimeError: When the source cannot
            be opened or ``batch_size`` is not an int >= 1 (before the
            model is built), or a video cannot be written.
    """
    check_batch_size(batch_size)
    frames = FrameSource(source)
    writer = None
    try:
        model = init_realtime_model(config, weights, device, texts,
                                    clip_checkpoint)
        pipeline = array_test_pipeline(model.cfg)
        visualizer = _visualizer(model)
        if out_dir:
            os.makedirs(out_dir, exist_ok=True)
        meter = FPSMeter(fps_momentum)
        size = None
        stats: Dict[str, Any] = dict(fps=[], instances=[])
        total = 0.
        for index, (name, frame, result, seconds) in enumerate(
                segment_frames(model, pipeline, islice(frames, max_frames),
                               batch_size, fp16)):
            start = time.perf_counter()
            visualizer.add_datasample(
                name,
                cv2.cvtColor(frame, cv2.COLOR_BGR2RGB),
                result,
                draw_gt=False,
                show=False,
                pred_score_thr=score_thr)
            drawn = cv2.cvtColor(visualizer.get_image(), cv2.COLOR_RGB2BGR)
            seconds += time.perf_counter() - start
            total += seconds
            draw_fps(drawn, meter.update(seconds))
            size = size or drawn.shape[:2]
            if out_video:
                writer = writer or _video_writer(out_video, frames.fps, size)
                writer.write(
                    drawn if drawn.shape[:2] == size else cv2.resize(
                        drawn, size[::-1]))
            if out_dir:
                cv2.imwrite(osp.join(out_dir, name), drawn)
            kept = int((result.pred_instances.scores >= score_thr).sum())
            stats['fps'].append(1 / max(seconds, 1e-9))
            stats['instances'].append(kept)
            log(f'frame {index} ({name}): {kept} instances, '
                f'{stats["fps"][-1]:.1f} FPS')
            if show and _show(drawn):
                break
    finally:
        frames.close()
        if writer is not None:
            writer.release()
    stats.update(
        frames=len(stats['fps']),
        mean_fps=len(stats['fps']) / total if total else 0.,
        size=size,
        out_video=out_video,
        out_dir=out_dir)
    log(f'{stats["frames"]} frames of {frames.name}: mean '
        f'{stats["mean_fps"]:.2f} FPS (inference + drawing on {device})')
    return stats


def _visualizer(model: nn.Module):
    """The config's visualizer (``DetLocalVisualizer`` by default), with a
    fresh instance name, no backends and the model's class names."""
    visualizer = VISUALIZERS.build(
        dict(
            model.cfg.get('visualizer', dict(type='DetLocalVisualizer')),
            name=f'mmregion_realtime_{time.time_ns()}',
            vis_backends=None,
            save_dir=None))
    visualizer.dataset_meta = model.dataset_meta
    return visualizer


def _video_writer(path: str, fps: float, size: Tuple[int, int]):
    """An mp4v ``cv2.VideoWriter`` for (H, W) frames, folders created."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (size[1], size[0]))
    if not writer.isOpened():
        raise RuntimeError(f'OpenCV cannot write the video {path} (mp4v)')
    return writer


def _show(image: np.ndarray) -> bool:
    """Show a frame; True when ``q`` was pressed.

    Raises:
        RuntimeError: When this OpenCV build has no GUI.
    """
    try:
        cv2.imshow('mmregion', image)
        return cv2.waitKey(1) & 0xFF == ord('q')
    except cv2.error as error:
        raise RuntimeError(
            'this OpenCV build cannot open windows (opencv-python-headless); '
            'drop --show and write the frames with --out / --out-dir') \
            from error


def add_realtime_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options the real-time demos share (model, outputs, drawing).

    Args:
        parser (argparse.ArgumentParser): The demo's parser; its own
            positional arguments (the source) come first.
    """
    parser.add_argument('config', help='detector config')
    parser.add_argument('--weights', help='detector checkpoint (random '
                        'weights without one)')
    parser.add_argument('--out', help='write the frames to a video (.mp4)')
    parser.add_argument(
        '--out-dir', help='write the drawn frames here (folder mode: one '
        'image per input, same file names)')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='score threshold')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument(
        '--texts',
        help='vocabulary of an open-vocabulary model: a vocabulary .pth '
        '(tools/misc/extract_text_embeddings.py) for OpenVocabYOLACTHead or '
        "RegionCLIP, or class names ('cat . dog') for RegionCLIP (embedded "
        "with its backbone's CLIP)")
    parser.add_argument(
        '--clip-checkpoint',
        help="CLIP weights to embed --texts names (default: the config's)")
    parser.add_argument(
        '--max-frames', type=int, help='stop after this many frames')
    parser.add_argument(
        '--show', action='store_true',
        help='show the frames (needs OpenCV with a GUI; q quits)')
    parser.add_argument(
        '--fp16', action='store_true', help='mixed precision: float16 '
        'autocast on CUDA, bfloat16 on the CPU')
    parser.add_argument(
        '--batch-size', type=int, default=1, metavar='N',
        help='frames per forward pass (default 1); each frame is still '
        'drawn and written in order. A camera frame is shown after the '
        'N-1 frames read after it: a batch adds N-1 frames of latency')
    add_cli_arguments(parser, trust_checkpoint=True)


def run_realtime_cli(args: argparse.Namespace,
                     source: Union[str, int]) -> None:
    """Run :func:`run_realtime` from parsed demo arguments (the demos run
    it through :func:`mmregion.apis.cli.cli_main`, which prints bad input
    as one line and exits with status 2).

    Args:
        args (argparse.Namespace): From a parser with
            :func:`add_realtime_arguments`.
        source (str | int): Video file, image folder or camera index.
    """
    if not (args.out or args.out_dir or args.show):
        raise ValueError('give --out, --out-dir or --show')
    check_batch_size(args.batch_size, '--batch-size')
    try:
        run_realtime(
            args.config,
            source,
            weights=args.weights,
            out_video=args.out,
            out_dir=args.out_dir,
            score_thr=args.score_thr,
            device=args.device,
            texts=args.texts,
            clip_checkpoint=args.clip_checkpoint,
            max_frames=args.max_frames,
            show=args.show,
            fp16=args.fp16,
            batch_size=args.batch_size)
    except KeyboardInterrupt:
        print('stopped')
