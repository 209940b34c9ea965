"""Captions of the synthetic shapes: every object named, with counts,
colours and (optionally) sizes."""
from typing import Dict, List, Sequence

import numpy as np

CAPTION_TEMPLATES = ('{} on a coloured background.', 'a picture of {}.',
                     'an image showing {}.', 'there is {} in this image.')
"""The caption templates (variant ``i`` uses ``i % 4``); ``{}`` is the
listing of the objects."""

_NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven',
                 'eight', 'nine')


def caption(instances: List[dict],
            rng: np.random.Generator,
            variant: int,
            classes: Sequence[str],
            size_words: bool = False,
            colour_words: bool = True) -> str:
    """A caption naming every object, with counts and colours.

    Args:
        instances (list[dict]): Dicts with ``label``, ``colour`` (and
            ``large`` when ``size_words``).
        rng (np.random.Generator): Random source for the phrase order.
        variant (int): Which caption template (and order) to use.
        classes (Sequence[str]): Class names of the labels.
        size_words (bool): Say 'small' or 'large' before single shapes.
        colour_words (bool): Name the colour of single shapes.

    Returns:
        str: The caption.
    """
    if not instances:
        return 'an empty background with no shapes.'
    counts: Dict[str, List[str]] = {}
    for inst in instances:
        words = [('large' if inst.get('large') else 'small')
                 ] if size_words else []
        words += [inst['colour']] if colour_words else []
        counts.setdefault(classes[inst['label']], []).append(
            ' '.join(words + ['']))
    phrases = []
    for name, colours in counts.items():
        if len(colours) == 1:
            article = 'an' if (colours[0] or name)[0] in 'aeiou' else 'a'
            phrases.append(f'{article} {colours[0]}{name}')
        else:
            plural = name + ('es' if name.endswith('s') else 's')
            phrases.append(f'{_NUMBER_WORDS[min(len(colours), 9)]} {plural}')
    order = rng.permutation(len(phrases)) if variant else range(len(phrases))
    phrases = [phrases[i] for i in order]
    listing = phrases[0] if len(phrases) == 1 else (
        ', '.join(phrases[:-1]) + ' and ' + phrases[-1])
    return CAPTION_TEMPLATES[variant % len(CAPTION_TEMPLATES)].format(
        listing)
