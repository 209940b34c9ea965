"""Train and test vocabularies for heads that classify with text embeddings."""
import os.path as osp
from typing import Dict, Mapping, Optional, Union

import torch
from torch import Tensor

from ..language.vocabulary import Vocabulary
from .text_classifier import TextClassifier

VocabularyLike = Union[str, Tensor, Vocabulary, Mapping, None]

MODES = ('train', 'test')


def load_embeddings(source: VocabularyLike, where: str) -> Optional[Tensor]:
    """Text embeddings from a tensor, a file, a vocabulary or class names.

    Args:
        source (str | Tensor | Vocabulary | dict | None): A (C, D) tensor; a
            file read by :meth:`Vocabulary.load` (mmregion vocabulary files
            and RegionCLIP's ``*_cls_emb*.pth``); a :class:`Vocabulary`; or
            a dict of :meth:`Vocabulary.build` arguments (``names``,
            ``encoder`` = a ``CLIPTextEncoder`` config, ``templates``,
            ``cache_dir``) to embed class names.
        where (str): Named in error messages.

    Returns:
        Tensor | None: (C, D) embeddings.
    """
    if source is None or isinstance(source, Tensor):
        return source
    if isinstance(source, Vocabulary):
        return source.embeddings
    if isinstance(source, Mapping):
        return Vocabulary.build(**source).embeddings
    if not osp.isfile(source):
        raise FileNotFoundError(
            f'{where}: vocabulary file {source} does not exist; make it '
            f'with tools/misc/extract_text_embeddings.py (or give the words '
            f'with --texts / set_vocabulary for inference)')
    return Vocabulary.load(source).embeddings


class OpenVocabularyMixin:
    """Give a head a :class:`TextClassifier` with two vocabularies.

    The train vocabulary (base classes) is active in train mode, the test
    vocabulary (base + novel, or the user's words; the train one when there
    is none) in eval mode; ``num_classes`` is always the size of the active
    vocabulary, so no config needs a class count. Mix in before the
    ``nn.Module`` base class and call :meth:`init_vocabularies` in
    ``__init__``.

    Files and class-name dicts are read when first needed, not when the
    model is built: the train vocabulary when the head is put in train mode
    (so training fails before its first iteration when the file is
    missing), the active one when the head classifies or ``num_classes`` is
    read. A zero-shot model given its words by :meth:`set_vocabulary`
    (``--texts``) therefore never reads the config's vocabulary files.
    Tensors and :class:`Vocabulary` objects are checked at build time.
    """

    @property
    def num_classes(self) -> int:
        """Number of classes of the active vocabulary (0 before set-up)."""
        classifier = self.__dict__.get('_modules', {}).get('classifier')
        if classifier is None:
            return 0
        self._activate(resolve=True)
        return classifier.num_classes

    @num_classes.setter
    def num_classes(self, value: int) -> None:
        """Accept only what agrees with the vocabulary.

        mmdet's head constructors assign ``num_classes``; our heads pass 0
        there, before any vocabulary exists. Any other value must equal the
        size of the active vocabulary, since the vocabulary decides it.

        Args:
            value (int): The number of classes.

        Raises:
            ValueError: For a value that conflicts with the vocabulary.
        """
        if value == self.num_classes or (value == 0 and self.__dict__.get(
                '_modules', {}).get('classifier') is None):
            return
        raise ValueError(
            f'{type(self).__name__}: num_classes={value} conflicts with the '
            f'active vocabulary of {self.num_classes} classes; the vocabulary '
            f'decides the class count (set_vocabulary or the config\'s '
            f'train/test vocabulary), do not set num_classes')

    def init_vocabularies(self, embed_dim: int, train_vocabulary,
                          test_vocabulary, temperature: float,
                          where: str) -> None:
        """Build the classifier and take both vocabularies.

        Args:
            embed_dim (int): Feature and text-embedding dim D.
            train_vocabulary: Train embeddings, anything
                :func:`load_embeddings` reads.
            test_vocabulary: Test embeddings (defaults to the train ones).
            temperature (float): Classifier temperature.
            where (str): Head name for error messages.
        """
        self.classifier = TextClassifier(embed_dim, temperature=temperature)
        self._vocab_where = where
        self._vocab_sources: Dict[str, VocabularyLike] = {}
        for mode in MODES:
            self.register_buffer(
                f'{mode}_embeddings', torch.zeros(0, embed_dim),
                persistent=False)
        for mode, source in zip(MODES, (train_vocabulary, test_vocabulary)):
            if isinstance(source, (Tensor, Vocabulary)):
                self._store_vocabulary(
                    mode, load_embeddings(source, self._mode_where(mode)))
            elif source is not None:
                self._vocab_sources[mode] = source

    def _mode_where(self, mode: str) -> str:
        return f'{self._vocab_where}.{mode}_vocabulary'

    def _store_vocabulary(self, mode: str, emb: Tensor) -> None:
        """Check ``emb`` (C, D) against the classifier and keep it."""
        self.classifier.set_vocabulary(emb, self._mode_where(mode))
        setattr(self, f'{mode}_embeddings',
                emb.float().to(self.train_embeddings.device))

    def resolve_vocabulary(self, mode: str) -> Optional[Tensor]:
        """Read the ``mode`` vocabulary now if it is still a file or dict.

        Args:
            mode (str): ``'train'`` or ``'test'``.

        Returns:
            Tensor | None: Its (C, D) embeddings, None when it has none.
        """
        source = self._vocab_sources.pop(mode, None)
        if source is not None:
            self._store_vocabulary(
                mode, load_embeddings(source, self._mode_where(mode)))
        emb = getattr(self, f'{mode}_embeddings')
        return emb if len(emb) else None

    def _activate(self, resolve: bool = False) -> None:
        """Point the classifier at the vocabulary of the current mode.

        Args:
            resolve (bool): Read a pending file of that vocabulary first.
        """
        use = None
        if not self.training:
            use = (self.resolve_vocabulary('test') if resolve else
                   self.test_embeddings if len(self.test_embeddings) else None)
        if use is None:
            use = (self.resolve_vocabulary('train') if resolve else
                   self.train_embeddings)
        if use is not None and len(use):
            self.classifier.set_vocabulary(use, self._vocab_where)

    def classify(self, features: Tensor) -> Tensor:
        """Score features against the active vocabulary.

        Args:
            features (Tensor): (N, D) features.

        Returns:
            Tensor: (N, C + 1) logits, background last.
        """
        self._activate(resolve=True)
        return self.classifier(features)

    def train(self, mode: bool = True):
        """Switch mode and the matching vocabulary.

        Train mode reads the train vocabulary, so a missing file stops
        training before its first iteration.

        Args:
            mode (bool): Train mode if True.

        Returns:
            The module itself.
        """
        super().train(mode)
        if mode and 'train' in self._vocab_sources:
            self.resolve_vocabulary('train')
        self._activate()
        return self

    def set_vocabulary(self, embeddings, mode: str = 'test') -> None:
        """Replace a vocabulary; nothing else changes.

        Args:
            embeddings (str | Tensor | Vocabulary | dict): (C, D) embeddings
                as :func:`load_embeddings` reads them.
            mode (str): ``'test'`` or ``'train'``. Defaults to ``'test'``.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        where = f'{self._vocab_where}.set_vocabulary({mode})'
        emb: Optional[Tensor] = load_embeddings(embeddings, where)
        self.classifier.set_vocabulary(emb, where)
        self._vocab_sources.pop(mode, None)
        setattr(self, f'{mode}_embeddings',
                emb.float().to(self.train_embeddings.device))
        self._activate()
