"""Open-vocabulary inference: "detect these words in these images"."""
import os.path as osp
from typing import Optional, Sequence, Union

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
                   texts: Union[str, Sequence[str]],
                   clip_checkpoint: Optional[str] = None,
                   templates: Union[str, Sequence[str]] = 'regionclip',
                   cache_dir: Optional[str] = None,
                   clip_model: Optional[str] = None) -> Vocabulary:
    """Give an open-vocabulary inferencer a new vocabulary.

    Args:
        inferencer (DetInferencer): From :func:`init_open_vocab_inferencer`.
        texts (str | Sequence[str]): See :func:`load_vocabulary`.
        clip_checkpoint (str, optional): CLIP weights of the text encoder;
            defaults to the backbone's ``checkpoint``.
        templates (str | Sequence[str]): Prompt templates. Defaults to
            RegionCLIP's 81.
        cache_dir (str, optional): Embedding cache folder.
        clip_model (str, optional): The text encoder's open_clip name
            (default: the backbone's).

    Returns:
        Vocabulary: The vocabulary now in use.
    """
    vocab = load_vocabulary(inferencer.cfg, texts, clip_checkpoint,
                            templates, cache_dir, clip_model)
    model = inferencer.model
    vocabulary_head(model).set_vocabulary(vocab.embeddings)
    model.dataset_meta = dict(classes=tuple(vocab.class_names),
                              palette='random')
    inferencer.visualizer.dataset_meta = model.dataset_meta
    return vocab


def init_open_vocab_inferencer(config: Union[str, Config],
                               weights: Optional[str] = None,
                               texts: Union[str, Sequence[str], None] = None,
                               clip_checkpoint: Optional[str] = None,
                               templates: Union[str,
                                                Sequence[str]] = 'regionclip',
                               cache_dir: Optional[str] = None,
                               device: str = 'cpu'):
    """Build mmdet's :class:`DetInferencer` for a RegionCLIP config.

    The test pipeline loses its ``LoadAnnotations`` (images come without
    annotations). Without ``weights`` the model keeps the weights its
    config loads (e.g. the CLIP backbone's ``checkpoint``): zero-shot use.

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

    Returns:
        DetInferencer: Call it with images (paths, arrays or a folder).
    """
    from mmdet.apis import DetInferencer

    from ..engine.checkpoint_loader import install
    install()
    cfg = Config.fromfile(config) if isinstance(config, str) else config
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
    inferencer = DetInferencer(model=cfg, weights=weights, device=device,
                               show_progress=False)
    if weights is None:
        inferencer.model.init_weights()
    if texts is not None:
        set_vocabulary(inferencer, texts, clip_checkpoint, templates,
                       cache_dir)
    return inferencer
