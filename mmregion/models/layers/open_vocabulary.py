"""Train and test vocabularies for heads that classify with text embeddings."""
import os.path as osp
from typing import Mapping, Optional, Union

import torch
from torch import Tensor

from ..language.vocabulary import Vocabulary
from .text_classifier import TextClassifier

VocabularyLike = Union[str, Tensor, Vocabulary, Mapping, None]


def load_embeddings(source: VocabularyLike, where: str) -> Optional[Tensor]:
    """Text embeddings from a tensor, a file, a vocabulary or class names.

    Args:
        source (str | Tensor | Vocabulary | dict | None): A (C, D) tensor; a
            file read by :meth:`Vocabulary.load` (mmregion vocabulary files
            and RegionCLIP's ``*_cls_emb*.pth``); a :class:`Vocabulary`; or
            a dict of :meth:`Vocabulary.build` arguments (``names``,
            ``encoder`` = a ``CLIPTextEncoder`` config, ``templates``,
            ``cache_dir``) to embed class names when the model is built.
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
        raise FileNotFoundError(f'{where}: vocabulary file {source} does not '
                                f'exist')
    return Vocabulary.load(source).embeddings


class OpenVocabularyMixin:
    """Give a head a :class:`TextClassifier` with two vocabularies.

    The train vocabulary (base classes) is active in train mode, the test
    vocabulary (base + novel, or the user's words) in eval mode;
    ``num_classes`` is always the size of the active vocabulary, so no
    config needs a class count. Mix in before the ``nn.Module`` base class
    and call :meth:`init_vocabularies` in ``__init__``.
    """

    @property
    def num_classes(self) -> int:
        """Number of classes of the active vocabulary (0 before set-up)."""
        classifier = self.__dict__.get('_modules', {}).get('classifier')
        return 0 if classifier is None else classifier.num_classes

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
        """Build the classifier and load both vocabularies.

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
        self.register_buffer(
            'train_embeddings', torch.zeros(0, embed_dim), persistent=False)
        self.register_buffer(
            'test_embeddings', torch.zeros(0, embed_dim), persistent=False)
        for mode, source in (('train', train_vocabulary),
                             ('test', test_vocabulary)):
            emb = load_embeddings(source, f'{where}.{mode}_vocabulary')
            if emb is not None:
                self.classifier.set_vocabulary(emb,
                                               f'{where}.{mode}_vocabulary')
                setattr(self, f'{mode}_embeddings', emb.float())
        self._activate()

    def _activate(self) -> None:
        """Point the classifier at the vocabulary of the current mode."""
        use = self.train_embeddings
        if not self.training and len(self.test_embeddings):
            use = self.test_embeddings
        if len(use):
            self.classifier.set_vocabulary(use, self._vocab_where)

    def train(self, mode: bool = True):
        """Switch mode and the matching vocabulary.

        Args:
            mode (bool): Train mode if True.

        Returns:
            The module itself.
        """
        super().train(mode)
        self._activate()
        return self

    def set_vocabulary(self, embeddings, mode: str = 'test') -> None:
        """Replace a vocabulary; nothing else changes.

        Args:
            embeddings (str | Tensor | Vocabulary | dict): (C, D) embeddings
                as :func:`load_embeddings` reads them.
            mode (str): ``'test'`` or ``'train'``. Defaults to ``'test'``.
        """
        if mode not in ('train', 'test'):
            raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
        where = f'{self._vocab_where}.set_vocabulary({mode})'
        emb: Optional[Tensor] = load_embeddings(embeddings, where)
        self.classifier.set_vocabulary(emb, where)
        setattr(self, f'{mode}_embeddings',
                emb.float().to(self.train_embeddings.device))
        self._activate()
