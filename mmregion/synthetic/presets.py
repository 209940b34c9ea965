"""Named generator settings and split sizes of the synthetic shapes."""
from typing import Dict, Tuple

from .outlines import OUTLINE_NAMES
from .shapes import COLOURS, ShapesConfig

OVD_NOVEL_CLASSES: Tuple[str, ...] = ('hexagon', 'heart', 'arrow', 'moon')
"""The novel classes of the ``ovd`` preset."""

PRESETS: Dict[str, Tuple[ShapesConfig, Dict[str, int]]] = dict(
    # the demo's dataset (8 classes, 2 novel)
    demo=(ShapesConfig(), dict(train=600, val=100)),
    # the open-vocabulary experiment's testbed: 12 classes (4 novel), 12
    # colours, a wider range of sizes named in the captions, a held-out
    # split for choices and 500 validation images for the figures
    ovd=(ShapesConfig(
        img_size=(192, 192),
        max_objects=4,
        min_size=0.15,
        max_size=0.45,
        classes=OUTLINE_NAMES,
        novel_classes=OVD_NOVEL_CLASSES,
        colours=tuple(COLOURS),
        size_words=True), dict(train=1000, heldout=200, val=500)))
"""Preset name → (generator settings, split sizes)."""


def shapes_preset(name: str) -> Tuple[ShapesConfig, Dict[str, int]]:
    """The settings and split sizes of a named preset.

    Args:
        name (str): A key of :data:`PRESETS` (``'demo'``, ``'ovd'``).

    Returns:
        tuple: A fresh :class:`ShapesConfig` and a split → images dict.
    """
    if name not in PRESETS:
        raise KeyError(f'unknown shapes preset {name!r}; expected one of '
                       f'{sorted(PRESETS)}')
    cfg, splits = PRESETS[name]
    return ShapesConfig(**vars(cfg)), dict(splits)
