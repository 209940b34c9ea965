"""Class names from configs, datasets and name lists: the tooling side of
vocabularies.

The model layer (:class:`~mmregion.models.language.Vocabulary`) takes class
names or an embeddings file. Resolving the names of a config's or a
dataset's classes (reading configs, importing and building datasets) is done
here, before the names reach a model.
"""
from typing import Any, List, Mapping, Optional, Union

import torch
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.utils import import_modules_from_strings

from ..data.prompt_templates import Templates
from ..models.language.clip_text_encoder import CLIPTextEncoder
from ..models.language.vocabulary import NamesSource, Vocabulary

DatasetLike = Union[str, Config, Mapping, type, Any]
"""A config file, config, dataset config dict, class or instance."""


def dataset_class_names(
        dataset: Union[str, Config, Mapping, type, Any]) -> List[str]:
    """Class names of a dataset.

    Args:
        dataset (str | Config | dict | type | BaseDataset): An mmdet config
            file or :class:`Config` (its test, else val, else train dataset
            is used; dataset wrappers are unwrapped), a dataset config dict,
            a dataset class, or a dataset instance. A config's
            ``metainfo['classes']`` wins over the dataset class's
            ``METAINFO['classes']``; without either, the dataset is built
            and its classes are read from its annotation file
            (:class:`~mmregion.datasets.CustomOVDDataset`).

    Returns:
        list[str]: The class names, in label order.

    Raises:
        ValueError: If no class names are found.
    """
    source = dataset
    if isinstance(dataset, str):
        dataset = Config.fromfile(dataset)
    if isinstance(dataset, type):
        classes = getattr(dataset, 'METAINFO', {}).get('classes')
    elif not isinstance(dataset, (Config, Mapping)):
        classes = dataset.metainfo.get('classes')
    else:
        cfg = dataset
        if cfg.get('custom_imports'):
            import_modules_from_strings(**cfg['custom_imports'])
        for key in ('test_dataloader', 'val_dataloader', 'train_dataloader'):
            if 'type' not in cfg and (cfg.get(key) or {}).get('dataset'):
                cfg = cfg[key]['dataset']
        while 'classes' not in (cfg.get('metainfo') or {}):
            if 'dataset' in cfg:
                cfg = cfg['dataset']
            elif 'datasets' in cfg:
                cfg = cfg['datasets'][0]
            else:
                break
        classes = (cfg.get('metainfo') or {}).get('classes')
        if classes is None and 'type' in cfg:
            dataset_type = cfg['type']
            if isinstance(dataset_type, str):
                dataset_type = DATASETS.get(dataset_type)
            classes = getattr(dataset_type, 'METAINFO', {}).get('classes')
            if not classes and cfg.get('ann_file'):
                # classes read from the annotation file (CustomOVDDataset)
                classes = DATASETS.build(dict(
                    cfg, pipeline=[])).metainfo.get('classes')
    if not classes:
        raise ValueError(f'no class names found in the dataset {source!r}: '
                         f"expected metainfo['classes'] in its config or "
                         f"METAINFO['classes'] in its dataset class")
    return list(classes)


def resolve_names(source: Union[NamesSource, DatasetLike]) -> NamesSource:
    """Class names for :meth:`Vocabulary.build` from any source.

    Args:
        source: Names (``'cat . dog'``, a list, a names text file) are
            returned as they are; a config file (``.py``), a config, a
            dataset config dict, class or instance give their dataset's
            classes (:func:`dataset_class_names`).

    Returns:
        NamesSource: What :func:`~mmregion.models.language.vocabulary.
        parse_class_names` reads.
    """
    import os.path as osp
    if (isinstance(source, str) and source.endswith('.py')
            and osp.isfile(source)) or isinstance(
                source, (Config, Mapping, type)) or hasattr(
                    source, 'metainfo'):
        return dataset_class_names(source)
    return source


def extract_text_embeddings(
        names: NamesSource,
        model_name: str,
        checkpoint: Optional[str] = None,
        templates: Templates = 'regionclip',
        out: Optional[str] = None,
        cache_dir: Optional[str] = None,
        quick_gelu: Optional[bool] = None,
        batch_size: int = 256,
        device: Union[str, torch.device] = 'cpu') -> Vocabulary:
    """Class names → a vocabulary file (``tools/misc/
    extract_text_embeddings.py``).

    Args:
        names (NamesSource | DatasetLike): Class names, or a config or
            dataset whose classes to embed (:func:`resolve_names`).
        model_name (str): open_clip model name (``'RN50'``, ``'RN50x4'``).
        checkpoint (str, optional): Local CLIP weight file.
        templates (str | Sequence[str]): Template set, file or list.
            Defaults to ``'regionclip'``.
        out (str, optional): Output ``.pth`` file (:meth:`Vocabulary.save`).
        cache_dir (str, optional): Cache folder (:meth:`Vocabulary.build`).
        quick_gelu (bool, optional): See :class:`CLIPTextEncoder`.
        batch_size (int): Prompts per forward pass. Defaults to 256.
        device (str | torch.device): Where the encoder runs. Defaults to
            ``'cpu'``.

    Returns:
        Vocabulary: The embeddings (C, D) and metadata.
    """
    encoder = dict(
        type=CLIPTextEncoder,
        model_name=model_name,
        checkpoint=checkpoint,
        quick_gelu=quick_gelu,
        batch_size=batch_size)
    vocab = Vocabulary.build(
        resolve_names(names), encoder, templates, cache_dir=cache_dir,
        device=device)
    if out is not None:
        vocab.save(out)
    return vocab
