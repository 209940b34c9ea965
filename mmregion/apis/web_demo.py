"""A web page to try a detector: upload an image, type words, see results.

:class:`WebDemo` holds one model (mmdet's ``DetInferencer`` built by
:func:`~mmregion.apis.inference.init_open_vocab_inferencer`) and answers
one request with :meth:`WebDemo.detect`: the drawn image, a status line
(the time taken, or a plain message for bad input) and the detections as
json. :func:`build_blocks` lays out the gradio page around it.

Image prompts (detect what looks like these example images) are an
extension point: give :class:`WebDemo` an ``image_prompter`` that turns
prompt images into a :class:`~mmregion.models.language.Vocabulary` of the
head's embedding dim, and the page offers a prompt upload.
"""
import os.path as osp
import re
import tempfile
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np
import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.structures import InstanceData

from ..fileio import dump_json_atomic
from ..models.language import Vocabulary
from .inference import (
    init_open_vocab_inferencer,
    set_vocabulary,
    vocabulary_head,
)

MODEL_CLASSES = "the model's classes"
MY_WORDS = 'my words'
MY_PROMPTS = 'my image prompts'
ImagePrompter = Callable[[List[np.ndarray]], Vocabulary]


class DemoInputError(ValueError):
    """Bad input from the page; its message is shown there as it is."""


def parse_words(text: Optional[str]) -> List[str]:
    """Class names typed in the page.

    Args:
        text (str, optional): Names separated by ``.``, ``,``, ``;`` or new
            lines; ``|`` separates synonyms (``tv|television``).

    Returns:
        list[str]: The entries, stripped, empty ones dropped (a list, so a
        name is never read as a file path).
    """
    return [w.strip() for w in re.split(r'[.,;\n]', text or '') if w.strip()]


def read_image(path: Optional[str]) -> np.ndarray:
    """Read an uploaded image.

    Args:
        path (str, optional): The uploaded file.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR image.

    Raises:
        DemoInputError: When there is no file or it is not an image.
    """
    if not path:
        raise DemoInputError('Upload an image or pick an example first.')
    try:
        image = mmcv.imread(path, 'color')
    except Exception:  # mmcv raises several kinds for undecodable bytes
        image = None
    if image is None or image.size == 0:
        raise DemoInputError(
            f'Cannot read {osp.basename(path)} as an image: expected a '
            f'PNG, JPEG, BMP, TIFF or WebP file.')
    return image


def zero_score_thresholds(test_cfg: Any) -> None:
    """Set every ``score_thr`` in a model's ``test_cfg`` to 0 (in place),
    so that the page's slider is the only score threshold.

    Args:
        test_cfg (dict | list | None): ``cfg.model.test_cfg``.
    """
    if isinstance(test_cfg, dict):
        for key, value in test_cfg.items():
            if key == 'score_thr':
                test_cfg[key] = 0.
            else:
                zero_score_thresholds(value)
    elif isinstance(test_cfg, (list, tuple)):
        for value in test_cfg:
            zero_score_thresholds(value)


def filter_instances(instances: InstanceData, score_thr: float,
                     max_dets: int) -> InstanceData:
    """Keep the ``max_dets`` best instances scoring at least ``score_thr``.

    Args:
        instances (InstanceData): Predictions with ``scores`` (N,).
        score_thr (float): Lowest score kept.
        max_dets (int): Most instances kept.

    Returns:
        InstanceData: The kept instances, best first.
    """
    scores = instances.scores
    order = torch.argsort(scores, descending=True)
    order = order[scores[order] >= score_thr][:max(0, int(max_dets))]
    return instances[order]


def detections_to_json(prediction: Dict[str, list], classes: Sequence[str],
                       image_name: str,
                       image_size: Tuple[int, int]) -> Dict[str, Any]:
    """Detections as a json-ready dict, one entry per instance.

    Args:
        prediction (dict): ``DetInferencer.pred2dict`` output: ``labels``,
            ``scores``, ``bboxes`` (x1, y1, x2, y2) and optional ``masks``
            (COCO RLE).
        classes (Sequence[str]): Names of the labels.
        image_name (str): The image's file name.
        image_size (tuple[int, int]): (H, W).

    Returns:
        dict: ``image``, ``height``, ``width``, ``classes`` and
        ``detections``: ``label`` (name), ``label_id``, ``score``, ``bbox``
        and, for masks, ``mask`` (RLE).
    """
    detections = []
    masks = prediction.get('masks')
    for i, label in enumerate(prediction['labels']):
        det = dict(
            label=classes[label],
            label_id=int(label),
            score=float(f"{prediction['scores'][i]:.4g}"),
            bbox=[round(float(v), 1) for v in prediction['bboxes'][i]])
        if masks is not None:
            det['mask'] = masks[i]
        detections.append(det)
    return dict(
        image=image_name,
        height=int(image_size[0]),
        width=int(image_size[1]),
        classes=list(classes),
        detections=detections)


def dataset_meta_of(cfg: Config) -> dict:
    """The test dataset's meta (classes, palette) without its annotations.

    Args:
        cfg (Config): A detector config.

    Returns:
        dict: ``dataset_meta`` for the model and the visualiser.
    """
    dataset = DATASETS.build(dict(cfg.test_dataloader.dataset,
                                  lazy_init=True))
    meta = dict(dataset.metainfo)
    meta.setdefault('palette', 'random')
    return meta


class WebDemo:
    """One detector behind the web page.

    Args:
        config (str | Config): A detector config (YOLACT, Mask R-CNN,
            RegionCLIP with RPN proposals, open-vocabulary YOLACT...).
        weights (str, optional): Its checkpoint; without one the weights
            are random (use a score threshold of 0 to see boxes).
        device (str): ``'cpu'`` or ``'cuda:0'``. Defaults to ``'cpu'``.
        clip_checkpoint (str, optional): CLIP weights to embed typed words
            (default: the backbone's CLIP ``checkpoint``).
        clip_model (str, optional): That CLIP's open_clip name (default:
            the backbone's ``model_name``).
        templates (str): Prompt templates for typed words.
        cache_dir (str, optional): Text-embedding cache folder.
        image_prompter (Callable, optional): Turns prompt images (RGB
            arrays) into a :class:`Vocabulary`; enables image prompts.
        out_dir (str, optional): Where the json files go (default: a new
            temporary folder).
    """

    def __init__(self,
                 config,
                 weights: Optional[str] = None,
                 device: str = 'cpu',
                 clip_checkpoint: Optional[str] = None,
                 clip_model: Optional[str] = None,
                 templates: str = 'regionclip',
                 cache_dir: Optional[str] = None,
                 image_prompter: Optional[ImagePrompter] = None,
                 out_dir: Optional[str] = None) -> None:
        cfg = Config.fromfile(config) if isinstance(config, str) else \
            config.copy()
        zero_score_thresholds(cfg.model.get('test_cfg'))
        self.inferencer = init_open_vocab_inferencer(cfg, weights,
                                                     device=device)
        model = self.inferencer.model
        if weights is None:  # mmdet falls back to COCO names
            model.dataset_meta = dataset_meta_of(cfg)
        self.inferencer.visualizer.dataset_meta = model.dataset_meta
        self.model_meta = dict(model.dataset_meta)
        self.head = self._vocabulary_head(model)
        self.model_vocabulary = self._model_vocabulary(self.head)
        self.vocab_args = dict(clip_checkpoint=clip_checkpoint,
                               clip_model=clip_model, templates=templates,
                               cache_dir=cache_dir)
        self.image_prompter = image_prompter
        self.out_dir = out_dir or tempfile.mkdtemp(prefix='mmregion_web_')
        self.name = type(model).__name__
        self._active: Tuple = (MODEL_CLASSES, )
        self._lock = threading.Lock()
        self._count = 0

    @staticmethod
    def _vocabulary_head(model):
        try:
            return vocabulary_head(model)
        except ValueError:
            return None

    @staticmethod
    def _model_vocabulary(head) -> Optional[torch.Tensor]:
        """The (C, D) embeddings the model uses in eval mode: its test
        vocabulary, else its train one (read now if still a file)."""
        if head is None:
            return None
        emb = head.resolve_vocabulary('test')
        if emb is None:
            emb = head.resolve_vocabulary('train')
        return None if emb is None else emb.clone()

    @property
    def open_vocabulary(self) -> bool:
        """Whether the model takes words (an open-vocabulary head)."""
        return self.head is not None

    @property
    def classes(self) -> Tuple[str, ...]:
        """The class names in use now."""
        return tuple(self.inferencer.model.dataset_meta['classes'])

    def use_vocabulary(self, mode: str, words: Optional[str] = None,
                       prompts: Optional[List[str]] = None) -> None:
        """Switch the model to its own classes, typed words or prompts.

        Args:
            mode (str): :data:`MODEL_CLASSES`, :data:`MY_WORDS` or
                :data:`MY_PROMPTS`.
            words (str, optional): Typed names (:func:`parse_words`).
            prompts (list[str], optional): Prompt image files.

        Raises:
            DemoInputError: For an empty vocabulary, or words or prompts
                for a model that cannot take them.
        """
        if mode != MODEL_CLASSES and not self.open_vocabulary:
            raise DemoInputError(
                f'This model ({self.name}) has fixed classes '
                f'({", ".join(self.classes)}) and does not take words or '
                f'image prompts: choose "{MODEL_CLASSES}".')
        if mode == MODEL_CLASSES:
            key: Tuple = (MODEL_CLASSES, )
        elif mode == MY_WORDS:
            names = parse_words(words)
            if not names:
                raise DemoInputError(
                    f"The vocabulary is empty: type class names separated "
                    f"by '.' or ',' (e.g. 'circle . star'), or choose "
                    f'"{MODEL_CLASSES}".')
            key = (MY_WORDS, tuple(names))
        elif mode == MY_PROMPTS:
            key = (MY_PROMPTS, tuple(prompts or ()))
        else:
            raise DemoInputError(f'Unknown vocabulary choice {mode!r}.')
        if key == self._active:
            return
        self._apply(key)
        self._active = key

    def _apply(self, key: Tuple) -> None:
        model = self.inferencer.model
        if key[0] == MODEL_CLASSES:
            self.head.set_vocabulary(self.model_vocabulary)
            model.dataset_meta = dict(self.model_meta)
        elif key[0] == MY_WORDS:
            set_vocabulary(self.inferencer, list(key[1]), **self.vocab_args)
        else:
            if self.image_prompter is None:
                raise DemoInputError('This model takes no image prompts.')
            if not key[1]:
                raise DemoInputError('Upload at least one prompt image.')
            images = [read_image(p)[:, :, ::-1] for p in key[1]]
            vocab = self.image_prompter(images)
            self.head.set_vocabulary(vocab.embeddings)
            model.dataset_meta = dict(classes=tuple(vocab.class_names),
                                      palette='random')
        self.inferencer.visualizer.dataset_meta = model.dataset_meta

    @staticmethod
    def preview(image_path: Optional[str]) -> Tuple[Optional[np.ndarray],
                                                     str]:
        """The uploaded image for the page, or why it cannot be read.

        Args:
            image_path (str, optional): The uploaded file (None: cleared).

        Returns:
            tuple: The (H, W, 3) RGB image and ``''``, or ``None`` and a
            Markdown message.
        """
        if not image_path:
            return None, ''
        try:
            return read_image(image_path)[:, :, ::-1], ''
        except DemoInputError as error:
            return None, f'**{error}**'

    def detect(self,
               image_path: Optional[str],
               mode: str = MODEL_CLASSES,
               words: Optional[str] = None,
               score_thr: float = 0.3,
               max_dets: int = 100,
               prompts: Optional[List[str]] = None) -> Tuple[
                   Optional[np.ndarray], str, Optional[dict], Optional[str]]:
        """Answer one request from the page.

        Args:
            image_path (str, optional): The uploaded image.
            mode (str): The vocabulary choice (:meth:`use_vocabulary`).
            words (str, optional): Typed names.
            score_thr (float): Lowest score shown.
            max_dets (int): Most detections shown (best first).
            prompts (list[str], optional): Prompt image files.

        Returns:
            tuple: The drawn (H, W, 3) RGB image, a Markdown status line,
            the detections (:func:`detections_to_json`) and the json
            file's path; for bad input ``(None, message, None, None)``.
        """
        try:
            image = read_image(image_path)
            with self._lock:
                self.use_vocabulary(mode, words, prompts)
                return self._detect(image_path, image, score_thr, max_dets)
        except DemoInputError as error:
            return None, f'**{error}**', None, None
        except (ValueError, FileNotFoundError) as error:  # vocabulary
            return None, f'**The words could not be used: {error}**', None, \
                None

    def _detect(self, path: str, image: np.ndarray, score_thr: float,
                max_dets: int):
        start = time.perf_counter()
        sample = self.inferencer(
            path, return_datasamples=True)['predictions'][0]
        inferred = time.perf_counter()
        sample.pred_instances = filter_instances(sample.pred_instances,
                                                 score_thr, max_dets)
        visualizer = self.inferencer.visualizer
        visualizer.add_datasample(
            'web_demo', image[:, :, ::-1], sample, draw_gt=False,
            show=False, pred_score_thr=0.)
        drawn = visualizer.get_image()
        done = time.perf_counter()
        result = detections_to_json(
            self.inferencer.pred2dict(sample), self.classes,
            osp.basename(path), image.shape[:2])
        self._count += 1
        json_path = osp.join(self.out_dir, f'detections_{self._count}.json')
        dump_json_atomic(result, json_path, indent=1)
        n = len(result['detections'])
        status = (f'{n} detection{"" if n == 1 else "s"} '
                  f'(score >= {score_thr:g}, at most {int(max_dets)}) of '
                  f'{len(self.classes)} classes in {done - start:.2f} s '
                  f'(inference {inferred - start:.2f} s, drawing '
                  f'{done - inferred:.2f} s)')
        return drawn, status, result, json_path
