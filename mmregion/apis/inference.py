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


def set_vocabulary(inferencer,
                   texts: Union[str, Sequence[str]],
                   clip_checkpoint: Optional[str] = None,
                   templates: Union[str, Sequence[str]] = 'regionclip',
                   cache_dir: Optional[str] = None) -> Vocabulary:
    """Give a RegionCLIP inferencer a new vocabulary.

    Args:
        inferencer (DetInferencer): From :func:`init_open_vocab_inferencer`.
        texts (str | Sequence[str]): Class names (``'cat . dog . tv|
            television'`` or a list, ``|`` for synonyms), a text file of
            names, or a vocabulary ``.pth`` file (then used as it is).
        clip_checkpoint (str, optional): CLIP weights of the text encoder;
            defaults to the backbone's ``checkpoint``.
        templates (str | Sequence[str]): Prompt templates. Defaults to
            RegionCLIP's 81.
        cache_dir (str, optional): Embedding cache folder.

    Returns:
        Vocabulary: The vocabulary now in use.
    """
    clip = _clip_settings(inferencer.cfg)
    if isinstance(texts, str) and texts.endswith('.pth') and osp.isfile(
            texts):
        vocab = Vocabulary.load(texts)
    else:
        checkpoint = clip_checkpoint or clip['checkpoint']
        if not checkpoint:
            raise ValueError('set_vocabulary: embedding new class names needs '
                             'the CLIP weights of the text encoder '
                             '(clip_checkpoint, or backbone.checkpoint in the '
                             'config)')
        vocab = Vocabulary.build(
            texts,
            dict(
                type='CLIPTextEncoder',
                model_name=clip['model_name'],
                checkpoint=checkpoint),
            templates=templates,
            cache_dir=cache_dir)
    model = inferencer.model
    model.roi_head.bbox_head.set_vocabulary(vocab.embeddings)
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
