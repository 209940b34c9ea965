"""Open-vocabulary inference: "detect these words in these images"."""
import contextlib
import os.path as osp
from typing import ContextManager, Iterator, Optional, Sequence, Union

import torch
from mmdet.apis import DetInferencer
from mmengine.config import Config

from ..models.language.vocabulary import Vocabulary


def _clip_settings(cfg: Config) -> dict:
    backbone = cfg.model.backbone
    return dict(
        model_name=backbone.get('model_name', 'RN50'),
        checkpoint=backbone.get('checkpoint'))


def load_vocabulary(cfg: Config,
                    texts: Union[str, Sequence[str]],
                    clip_checkpoint: Optional[str] = None,
                    templates: Union[str, Sequence[str]] = 'regionclip',
                    cache_dir: Optional[str] = None,
                    clip_model: Optional[str] = None) -> Vocabulary:
    """Read or embed a vocabulary for a model.

    Args:
        cfg (Config): The model's config (its CLIP backbone's ``model_name``
            and ``checkpoint`` embed class names by default).
        texts (str | Sequence[str]): Class names (``'cat . dog . tv|
            television'`` or a list, ``|`` for synonyms), a text file of
            names, or a vocabulary ``.pth`` file (then used as it is).
        clip_checkpoint (str, optional): CLIP weights of the text encoder;
            defaults to the backbone's ``checkpoint``.
        templates (str | Sequence[str]): Prompt templates. Defaults to
            RegionCLIP's 81.
        cache_dir (str, optional): Embedding cache folder.
        clip_model (str, optional): The text encoder's open_clip name;
            defaults to the backbone's ``model_name`` (needed when the
            backbone is no CLIP, e.g. an open-vocabulary YOLACT).

    Returns:
        Vocabulary: The vocabulary.
    """
    if isinstance(texts, str) and texts.endswith('.pth') and osp.isfile(
            texts):
        return Vocabulary.load(texts)
    clip = _clip_settings(cfg)
    checkpoint = clip_checkpoint or clip['checkpoint']
    if not checkpoint:
        raise ValueError('load_vocabulary: embedding class names needs '
                         'the CLIP weights of the text encoder '
                         '(clip_checkpoint, or backbone.checkpoint in the '
                         'config)')
    return Vocabulary.build(
        texts,
        dict(
            type='CLIPTextEncoder',
            model_name=clip_model or clip['model_name'],
            checkpoint=checkpoint),
        templates=templates,
        cache_dir=cache_dir)


def vocabulary_head(model):
    """The head whose classes follow a vocabulary (``set_vocabulary``).

    Args:
        model (nn.Module): A detector.

    Returns:
        nn.Module: RegionCLIP's ``roi_head.bbox_head`` or an open-vocabulary
        YOLACT's ``bbox_head``.

    Raises:
        ValueError: When the model has no such head.
    """
    for head in (getattr(getattr(model, 'roi_head', None), 'bbox_head',
                         None), getattr(model, 'bbox_head', None)):
        if hasattr(head, 'set_vocabulary'):
            return head
    raise ValueError(f'{type(model).__name__} has no open-vocabulary head '
                     '(RegionCLIP, OpenVocabYOLACTHead): it cannot take a '
                     'vocabulary')


def set_vocabulary(inferencer,
                   texts: Union[str, Sequence[str], None],
                   clip_checkpoint: Optional[str] = None,
                   templates: Union[str, Sequence[str]] = 'regionclip',
                   cache_dir: Optional[str] = None,
                   clip_model: Optional[str] = None,
                   image_prompts: Optional[str] = None) -> Vocabulary:
    """Give an open-vocabulary inferencer a new vocabulary.

    Args:
        inferencer (DetInferencer): From :func:`init_open_vocab_inferencer`.
        texts (str | Sequence[str], optional): See :func:`load_vocabulary`.
        clip_checkpoint (str, optional): CLIP weights of the text encoder;
            defaults to the backbone's ``checkpoint``.
        templates (str | Sequence[str]): Prompt templates. Defaults to
            RegionCLIP's 81.
        cache_dir (str, optional): Embedding cache folder.
        clip_model (str, optional): The text encoder's open_clip name
            (default: the backbone's).
        image_prompts (str, optional): A json of exemplar regions
            (:func:`~mmregion.apis.region_features.read_image_prompts`),
            embedded by the detector's own CLIP and averaged per name
            (RegionCLIP only); with ``texts``, the classes of both
            (:func:`~mmregion.apis.region_features.merge_vocabularies`).

    Returns:
        Vocabulary: The vocabulary now in use.
    """
    if texts is None and image_prompts is None:
        raise ValueError('set_vocabulary: give texts and/or image_prompts')
    vocab = None if texts is None else load_vocabulary(
        inferencer.cfg, texts, clip_checkpoint, templates, cache_dir,
        clip_model)
    model = inferencer.model
    if image_prompts is not None:
        from .image_prompts import (
            image_prompt_vocabulary,
            merge_vocabularies,
            read_image_prompts,
        )
        from .region_features import inference_pipeline
        images = image_prompt_vocabulary(
            model, inference_pipeline(inferencer.cfg),
            read_image_prompts(image_prompts),
            batch_size=getattr(inferencer, 'batch_size', 1))
        vocab = images if vocab is None else merge_vocabularies(vocab, images)
    vocabulary_head(model).set_vocabulary(vocab.embeddings)
    model.dataset_meta = dict(classes=tuple(vocab.class_names),
                              palette='random')
    inferencer.visualizer.dataset_meta = model.dataset_meta
    return vocab


def autocast(device: Union[str, torch.device],
             enabled: bool = True) -> ContextManager:
    """Mixed precision for inference: float16 autocast on CUDA, bfloat16
    autocast on the CPU (the CPU has no fast float16 kernels).

    Args:
        device (str | torch.device): Where the model runs.
        enabled (bool): False gives a no-op context. Defaults to True.

    Returns:
        ContextManager: ``torch.autocast`` or a null context.
    """
    if not enabled:
        return contextlib.nullcontext()
    device_type = torch.device(device).type
    dtype = torch.float16 if device_type == 'cuda' else torch.bfloat16
    return torch.autocast(device_type, dtype=dtype)


AUTOCAST_MODULES = ('backbone', 'neck', 'backbone.layer4',
                    'backbone.attnpool')
"""The modules run under autocast: the convolutions and the CLIP region
path (res5 and the attention pool, which RegionCLIP runs per region)."""


def _float32(output):
    """Floating tensors of a module output (tensor, tuple, list) as float32."""
    if isinstance(output, torch.Tensor):
        return output.float() if output.is_floating_point() else output
    if isinstance(output, (tuple, list)):
        return type(output)(_float32(o) for o in output)
    return output


@contextlib.contextmanager
def mixed_precision(model: torch.nn.Module,
                    device: Union[str, torch.device]) -> Iterator[None]:
    """Run the feature extractors of ``model`` under :func:`autocast`.

    Only :data:`AUTOCAST_MODULES` run in reduced precision and their
    outputs return as float32: mmcv's RoIAlign and NMS kernels take float32
    (and half on CUDA) only, and box decoding, scores and NMS keep full
    precision.

    Args:
        model (nn.Module): A detector.
        device (str | torch.device): Where it runs.

    Yields:
        None: Inside, the modules' ``forward`` is wrapped; restored after.
    """
    wrapped = []
    for name in AUTOCAST_MODULES:
        module = model
        for part in name.split('.'):
            module = getattr(module, part, None)
        if not isinstance(module, torch.nn.Module) or any(
                module is m for m in wrapped):
            continue

        def forward(*args, _forward=module.forward, **kwargs):
            with autocast(device):
                return _float32(_forward(*args, **kwargs))

        module.forward = forward
        wrapped.append(module)
    try:
        yield
    finally:
        for module in wrapped:
            del module.forward


class OpenVocabInferencer(DetInferencer):
    """mmdet's :class:`DetInferencer` with a default batch size and
    optional mixed precision (:func:`mixed_precision`).

    Args:
        *args: :class:`DetInferencer` arguments.
        batch_size (int): Images per forward pass when a call gives none.
            Defaults to 1.
        fp16 (bool): Run the feature extractors under :func:`autocast`
            (:func:`mixed_precision`). Defaults to False.
        **kwargs: :class:`DetInferencer` keyword arguments.
    """

    def __init__(self, *args, batch_size: int = 1, fp16: bool = False,
                 **kwargs) -> None:
        if batch_size < 1:
            raise ValueError(f'batch_size must be >= 1, got {batch_size}')
        super().__init__(*args, **kwargs)
        self.batch_size = batch_size
        self.fp16 = fp16

    def __call__(self, inputs, batch_size: Optional[int] = None,
                 **kwargs) -> dict:
        """Detect in ``inputs`` (:meth:`DetInferencer.__call__`).

        Args:
            inputs: Image paths, arrays or a folder.
            batch_size (int, optional): Defaults to ``self.batch_size``.
            **kwargs: :meth:`DetInferencer.__call__` arguments.

        Returns:
            dict: ``predictions`` (and ``visualization``), in input order.
        """
        return super().__call__(
            inputs, batch_size=batch_size or self.batch_size, **kwargs)

    def forward(self, inputs, **kwargs) -> list:
        """The model's ``test_step``, with ``fp16`` in mixed precision.

        Args:
            inputs (dict): A collated batch.
            **kwargs: Unused (mmdet's signature).

        Returns:
            list[DetDataSample]: Predictions.
        """
        if not self.fp16:
            return super().forward(inputs, **kwargs)
        device = next(self.model.parameters()).device
        with mixed_precision(self.model, device):
            return super().forward(inputs, **kwargs)


REGIONCLIP_ZOO = ('https://drive.google.com/drive/folders/'
                  '1hzrJBvcCrahoRcqJRqzkIGFO_HUSJIii')
"""RegionCLIP's official model zoo (folders regionclip/, rpn/,
concept_emb/)."""


def check_offline_rpn_weights(cfg: Config) -> None:
    """Name the download of a missing offline-RPN file before building.

    Args:
        cfg (Config): A RegionCLIP config.

    Raises:
        FileNotFoundError: When ``model.offline_rpn.init_cfg.checkpoint``
            is a local path that does not exist; the message names the
            official file and the converter command.
    """
    if cfg.model.get('proposal_source') != 'offline_rpn':
        return
    init_cfg = (cfg.model.get('offline_rpn') or {}).get('init_cfg') or {}
    path = init_cfg.get('checkpoint') if isinstance(init_cfg, dict) else None
    if not path or '://' in path or osp.isfile(path):
        return
    official = osp.basename(path).replace('_mmregion', '')
    raise FileNotFoundError(
        f'offline RPN weights {path} do not exist; download {official} '
        f'from the RegionCLIP model zoo ({REGIONCLIP_ZOO}, folder rpn/) and '
        f'convert it: python tools/model_converters/regionclip_to_mmregion.py '
        f'{official} {path}')


def init_open_vocab_inferencer(config: Union[str, Config],
                               weights: Optional[str] = None,
                               texts: Union[str, Sequence[str], None] = None,
                               clip_checkpoint: Optional[str] = None,
                               templates: Union[str,
                                                Sequence[str]] = 'regionclip',
                               cache_dir: Optional[str] = None,
                               device: str = 'cpu',
                               batch_size: int = 1,
                               fp16: bool = False,
                               image_prompts: Optional[str] = None
                               ) -> OpenVocabInferencer:
    """Build an :class:`OpenVocabInferencer` for an open-vocabulary config.

    The test pipeline loses its ``LoadAnnotations`` (images come without
    annotations). Without ``weights`` the model keeps the weights its
    config loads (e.g. the CLIP backbone's ``checkpoint``): zero-shot use.
    With ``texts`` the config's vocabulary files are never read.

    Args:
        config (str | Config): A RegionCLIP config whose proposals come from
            an RPN (not from ground-truth boxes).
        weights (str, optional): A detector checkpoint.
        texts (str | Sequence[str], optional): The vocabulary (see
            :func:`set_vocabulary`); default: the config's test vocabulary.
        clip_checkpoint (str, optional): Text-encoder CLIP weights.
        templates (str | Sequence[str]): Prompt templates.
        cache_dir (str, optional): Embedding cache folder.
        device (str): Device. Defaults to 'cpu'.
        batch_size (int): Images per forward pass. Defaults to 1.
        fp16 (bool): Mixed precision (:func:`autocast`). Defaults to False.
        image_prompts (str, optional): Exemplar regions json, alone or
            with ``texts`` (see :func:`set_vocabulary`).

    Returns:
        OpenVocabInferencer: Call it with images (paths, arrays or a
        folder).
    """
    from ..engine.checkpoint_loader import install
    install()
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if weights is None:
        check_offline_rpn_weights(cfg)
    if cfg.model.get('proposal_source') == 'gt':
        raise ValueError(
            'this config takes ground-truth boxes as proposals; for images '
            'without annotations use one with an RPN (proposal_source '
            "'rpn' or 'offline_rpn')")
    pipeline = cfg.test_dataloader.dataset.pipeline
    cfg.test_dataloader.dataset.pipeline = [
        t for t in pipeline if t['type'] not in ('LoadAnnotations',
                                                 'mmdet.LoadAnnotations')
    ]
    inferencer = OpenVocabInferencer(
        model=cfg, weights=weights, device=device, show_progress=False,
        batch_size=batch_size, fp16=fp16)
    if weights is None:
        inferencer.model.init_weights()
    if texts is not None or image_prompts is not None:
        set_vocabulary(inferencer, texts, clip_checkpoint, templates,
                       cache_dir, image_prompts=image_prompts)
    return inferencer
