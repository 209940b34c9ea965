"""Class vocabularies: class names (with synonyms) → prompt-ensembled CLIP
text embeddings, with metadata, a file format and an on-disk cache."""
import hashlib
import json
import os.path as osp
import re
import time
import warnings
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import open_clip
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config
from torch import Tensor

from ...data.prompt_templates import (
    Templates,
    fill_templates,
    get_templates,
    templates_name,
)
from ...fileio import atomic_save, load_checkpoint_file
from .clip_text_encoder import CLIPTextEncoder, clip_identity

FORMAT = 'mmregion.vocabulary.v1'
"""``meta['format']`` of files written by :meth:`Vocabulary.save`."""

_PROMPTS_PER_CALL = 8192

ClassNames = List[List[str]]
"""One list per class: its name, then its synonyms."""

NamesSource = Union[str, Sequence[Union[str, Sequence[str]]]]
"""Anything :func:`parse_class_names` reads class names from."""

EncoderLike = Union[CLIPTextEncoder, Mapping]
"""A text encoder, or its config dict (built only on a cache miss)."""


def _split_synonyms(entry: Union[str, Sequence[str]]) -> List[str]:
    """``'tv|television'`` or ``['tv', 'television']`` → stripped names."""
    names = entry.split('|') if isinstance(entry, str) else entry
    return [name.strip() for name in names if name.strip()]


def parse_class_names(source: NamesSource) -> ClassNames:
    """Read class names, each with optional synonyms.

    Args:
        source (str | Sequence | Config | dict | type): One of

            - a string list, names separated by periods or commas:
              ``'cat . dog . tv|television'``;
            - a text file (an existing path), one class per line, blank lines
              skipped: ``tv|television``;
            - a sequence of names (``'tv|television'``) or of synonym lists
              (``['tv', 'television']``).

            ``|`` separates synonyms; the first name is the class name. The
            class names of a config or a dataset are resolved by the
            tooling (:func:`mmregion.apis.class_names.resolve_names`), not
            here.

    Returns:
        list[list[str]]: Per class, its name and then its synonyms.

    Raises:
        ValueError: If there are no classes, a class has no name, or two
            classes share a name.
    """
    is_file = isinstance(source, str) and osp.isfile(source)
    if (is_file and source.endswith('.py')) or isinstance(
            source, (Config, Mapping, type)) or hasattr(source, 'metainfo'):
        raise ValueError(
            f'class names from a config or dataset ({source!r}) are resolved '
            f'by mmregion.apis.class_names.resolve_names; give the model '
            f'the names themselves')
    if is_file:
        with open(source, encoding='utf-8') as f:
            entries = [line for line in f if line.strip()]
    elif isinstance(source, str):
        entries = [e for e in re.split(r'[.,]', source) if e.strip()]
    else:
        entries = list(source)
    where = source if isinstance(source, str) else 'the given names'
    classes = []
    for i, entry in enumerate(entries):
        names = _split_synonyms(entry)
        if not names:
            raise ValueError(f'class {i} of {where} has no name: {entry!r}')
        classes.append(names)
    if not classes:
        raise ValueError(f'empty vocabulary: no class names in {where!r}')
    primary = [names[0] for names in classes]
    duplicates = sorted({n for n in primary if primary.count(n) > 1})
    if duplicates:
        raise ValueError(f'{where}: class names occur more than once: '
                         f'{duplicates}')
    return classes


def prompt_name(name: str) -> str:
    """A class name as RegionCLIP writes it into prompts.

    ``'_'`` and ``'+'`` become spaces, parentheses and commas are dropped
    (LVIS ``'bow_(weapon)'`` → ``'bow weapon'``).

    Args:
        name (str): A class name or synonym.

    Returns:
        str: The cleaned name.
    """
    name = name.replace('_', ' ').replace('+', ' ')
    name = re.sub(r'[(),]', '', name)
    return re.sub(r'\s+', ' ', name).strip()


def _ensemble_group(classes: ClassNames, encoder: CLIPTextEncoder,
                    templates: Sequence[str]) -> Tensor:
    """:func:`prompt_ensemble` of a few classes in one ``encode`` call."""
    prompts = [
        prompt for names in classes for name in names
        for prompt in fill_templates(prompt_name(name), templates)
    ]
    features = F.normalize(encoder.encode(prompts).float().cpu(), dim=-1)
    counts = [len(names) * len(templates) for names in classes]
    means = torch.stack([chunk.mean(0) for chunk in features.split(counts)])
    return F.normalize(means, dim=-1)


def prompt_ensemble(classes: ClassNames, encoder: CLIPTextEncoder,
                    templates: Sequence[str]) -> Tensor:
    """Embed classes by averaging their prompts, as RegionCLIP does.

    For each class, every (synonym, template) prompt is encoded and
    L2-normalised; the class embedding is their mean, L2-normalised again.
    Classes go to the encoder in groups of at most 8192 prompts (or one
    class), which bounds memory for large vocabularies (LVIS: 1203 classes
    x 81 templates).

    Args:
        classes (list[list[str]]): Per class, its name and synonyms.
        encoder (CLIPTextEncoder): The text encoder.
        templates (Sequence[str]): T validated templates.

    Returns:
        Tensor: Shape (C, D), L2-normalised, on the CPU.
    """
    most_prompts = len(templates) * max(len(names) for names in classes)
    per_call = max(1, _PROMPTS_PER_CALL // most_prompts)
    return torch.cat([
        _ensemble_group(classes[i:i + per_call], encoder, templates)
        for i in range(0, len(classes), per_call)
    ])


def _cache_key(meta: Dict[str, Any], classes: ClassNames) -> str:
    """SHA-256 of everything that decides the embeddings."""
    content = dict(
        format=FORMAT,
        model=meta['model'],
        checkpoint_id=meta['checkpoint_id'],
        quick_gelu=meta['quick_gelu'],
        classes=classes,
        templates=meta['templates'])
    text = json.dumps(content, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _models_with_dim(dim: int) -> List[str]:
    """open_clip ResNet CLIPs whose embeddings have ``dim`` dimensions."""
    return [
        name for name in open_clip.list_models()
        if name.startswith('RN') and not name.endswith('-quickgelu')
        and open_clip.get_model_config(name)['embed_dim'] == dim
    ]


class Vocabulary:
    """Class names and their L2-normalised text embeddings.

    Build one from class names with :meth:`build` (prompt ensemble through a
    CLIP text encoder, cached on disk), or read a file with :meth:`load`
    (mmregion's ``.pth`` files, or RegionCLIP's ``*_cls_emb*.pth`` tensors).
    :class:`~mmregion.models.layers.TextClassifier` takes it directly.

    Files written by :meth:`save` hold ``{'embeddings': Tensor (C, D),
    'meta': dict}`` with plain str/int/bool/list metadata, so they load with
    ``torch.load(weights_only=True)``. ``meta`` keys: ``format``, ``model``,
    ``checkpoint`` (the path used), ``checkpoint_id`` (SHA-256 of the
    file's size, first MiB and last MiB; see
    :func:`~.clip_text_encoder.checkpoint_fingerprint`),
    ``quick_gelu``, ``template_set``, ``templates``, ``class_names``,
    ``synonyms``, ``num_classes``, ``dim``, ``created`` and ``key`` (the
    cache key).

    Args:
        embeddings (Tensor): Shape (C, D); L2-normalised here.
        names (NamesSource, optional): C class names, anything
            :func:`parse_class_names` reads. Defaults to ``class_0`` ...
        meta (dict, optional): Metadata (see above).
        where (str): Named in error messages (e.g. the file).

    Raises:
        ValueError: If the embeddings are empty or not (C, D), or the number
            of names is not C.
    """

    def __init__(self,
                 embeddings: Tensor,
                 names: Optional[NamesSource] = None,
                 meta: Optional[Dict[str, Any]] = None,
                 where: str = 'Vocabulary') -> None:
        if embeddings.dim() != 2 or embeddings.shape[0] == 0:
            raise ValueError(f'{where}: empty vocabulary or not a '
                             f'(num_classes, dim) matrix (got shape '
                             f'{list(embeddings.shape)})')
        num_rows = embeddings.shape[0]
        synonyms = parse_class_names(names) if names is not None else [
            [f'class_{i}'] for i in range(num_rows)
        ]
        if len(synonyms) != num_rows:
            raise ValueError(
                f'{where}: {len(synonyms)} class names but {num_rows} '
                f'embedding rows ({len(synonyms)} vs {num_rows}); give one '
                f'name per row, in row order')
        self.embeddings = F.normalize(
            embeddings.detach().float().cpu(), dim=-1)
        self.synonyms = synonyms
        self.where = where
        self.meta: Dict[str, Any] = dict(meta or {})
        self.meta.update(
            class_names=self.class_names,
            synonyms=synonyms,
            num_classes=num_rows,
            dim=self.dim)
        self.cache_hit: Optional[bool] = None
        """True/False after a cached :meth:`build`; None without cache."""

    @property
    def class_names(self) -> List[str]:
        """The C class names (first name of each class)."""
        return [names[0] for names in self.synonyms]

    @property
    def num_classes(self) -> int:
        """Number of classes C."""
        return self.embeddings.shape[0]

    @property
    def dim(self) -> int:
        """Embedding dimension D."""
        return self.embeddings.shape[1]

    def __len__(self) -> int:
        return self.num_classes

    def __repr__(self) -> str:
        return (f'Vocabulary({self.num_classes} classes, dim {self.dim}, '
                f"model {self.meta.get('model', 'unknown')!r}, "
                f'from {self.where!r})')

    def check_dim(self,
                  expected: int,
                  where: str = 'Vocabulary') -> 'Vocabulary':
        """Check the embedding dimension against the visual features'.

        Args:
            expected (int): The dimension the consumer needs (the CLIP
                visual embedding dim: 1024 for RN50, 640 for RN50x4).
            where (str): The consumer, named in the error.

        Returns:
            Vocabulary: self, for chaining.

        Raises:
            ValueError: Naming both dimensions and the fix.
        """
        if self.dim != expected:
            models = _models_with_dim(expected)
            hint = f' (dim {expected}: {", ".join(models)})' if models else ''
            raise ValueError(
                f'{where}: the vocabulary from {self.where!r} has dim '
                f'{self.dim} but {expected} is expected ({self.dim} vs '
                f'{expected}); it was made by the text encoder of a different '
                f'CLIP model. Re-extract it with the text encoder of the CLIP '
                f'that the visual features come from{hint}, e.g. '
                f'tools/misc/extract_text_embeddings.py')
        return self

    def save(self, path: str) -> None:
        """Write ``{'embeddings', 'meta'}`` to a ``.pth`` file atomically.

        Args:
            path (str): Output file; its folder is created.
        """
        atomic_save(dict(embeddings=self.embeddings, meta=self.meta), path)

    @classmethod
    def load(cls,
             path: str,
             names: Optional[NamesSource] = None) -> 'Vocabulary':
        """Read a vocabulary file.

        Args:
            path (str): An mmregion vocabulary file (:meth:`save`), or an
                official RegionCLIP ``*_cls_emb*.pth`` file: a bare tensor
                (C, D), D = 1024 (RN50) or 640 (RN50x4); (C, 1, D) as written
                by RegionCLIP's ``extract_concept_features.py`` is accepted.
            names (NamesSource, optional): Class names, one per row. Default:
                the names stored in the file, else ``class_0`` ...

        Returns:
            Vocabulary: With the file's metadata (``format`` is
            ``'regionclip_cls_emb'`` for a bare tensor).

        Raises:
            ValueError: If the file holds no embedding tensor or the number
                of names differs from its rows.
        """
        obj = load_checkpoint_file(path, map_location='cpu')
        if isinstance(obj, Mapping) and isinstance(
                obj.get('embeddings'), Tensor):
            embeddings, meta = obj['embeddings'], dict(obj.get('meta') or {})
            if names is None:
                names = meta.get('synonyms')
        elif isinstance(obj, Tensor):
            squeeze = obj.dim() == 3 and obj.shape[1] == 1
            embeddings = obj[:, 0] if squeeze else obj
            meta = dict(format='regionclip_cls_emb', model='unknown')
        else:
            raise ValueError(
                f'{path}: holds no embedding tensor (found '
                f'{type(obj).__name__}); expected an mmregion vocabulary file '
                f"({{'embeddings', 'meta'}}) or a RegionCLIP *_cls_emb*.pth "
                f'tensor (num_classes, dim)')
        return cls(embeddings, names, meta, where=path)

    @classmethod
    def build(
            cls,
            names: NamesSource,
            encoder: EncoderLike,
            templates: Templates = 'regionclip',
            cache_dir: Optional[str] = None,
            device: Optional[Union[str, torch.device]] = None) -> 'Vocabulary':
        """Embed class names by prompt ensembling (:func:`prompt_ensemble`).

        With ``cache_dir``, the result is stored under a key hashing the
        model name, the checkpoint identity, QuickGELU, the class names with
        their synonyms and the templates; a later call with the same inputs
        reads that file and does not use the encoder (a config dict encoder
        is then not even built). Encoders with random weights (no
        checkpoint) are not cached.

        Args:
            names (NamesSource): Class names (:func:`parse_class_names`).
            encoder (CLIPTextEncoder | dict): The encoder, or its config
                dict (``dict(type='CLIPTextEncoder', model_name=...,
                checkpoint=...)``), built only on a cache miss.
            templates (str | Sequence[str]): Template set name, file or list
                (:func:`~mmregion.data.prompt_templates.get_templates`).
                Defaults to ``'regionclip'`` (81 templates).
            cache_dir (str, optional): Cache folder. Defaults to no cache.
            device (str | torch.device, optional): Device for an encoder
                built from a config dict.

        Returns:
            Vocabulary: Embeddings (C, D) on the CPU; ``cache_hit`` tells
            whether the cache answered.
        """
        classes = parse_class_names(names)
        template_list = get_templates(templates)
        if isinstance(encoder, Mapping):
            identity = clip_identity(
                **{
                    k: encoder[k]
                    for k in ('model_name', 'checkpoint', 'quick_gelu')
                    if k in encoder
                })
        else:
            identity = encoder.identity
        meta = dict(
            format=FORMAT,
            model=identity['model'],
            checkpoint=identity['checkpoint'],
            checkpoint_id=identity['checkpoint_id'],
            quick_gelu=identity['quick_gelu'],
            template_set=templates_name(templates),
            templates=template_list)
        meta['key'] = _cache_key(meta, classes)
        cache_file = None
        if cache_dir is not None and identity['checkpoint_id']:
            model = re.sub(r'[^\w.-]', '_', identity['model'])
            cache_file = osp.join(
                cache_dir, f"{model}_{len(classes)}cls_{meta['key'][:16]}.pth")
            if osp.isfile(cache_file):
                vocab = cls.load(cache_file)
                vocab.cache_hit = True
                return vocab
        elif cache_dir is not None:
            warnings.warn(f'Vocabulary.build: {identity["model"]} has random '
                          f'weights (no checkpoint); not caching in '
                          f'{cache_dir}')
        if isinstance(encoder, Mapping):
            encoder = MODELS.build(dict(encoder))
            if device is not None:
                encoder.to(device)
        embeddings = prompt_ensemble(classes, encoder, template_list)
        meta['created'] = time.strftime('%Y-%m-%dT%H:%M:%S%z')
        vocab = cls(
            embeddings, classes, meta, where=cache_file or 'Vocabulary.build')
        if cache_file is not None:
            vocab.save(cache_file)
            vocab.cache_hit = False
        return vocab
