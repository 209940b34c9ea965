"""YOLACT anchors: official (scale-major, ``w / h``) ⇄ mmdet order.

Per location, the official model lists its anchors scale-major (``for scale
in scales: for ar in [1, 1/2, 2]``, ``ar = w / h``), mmdet's
``AnchorGenerator`` ratio-major with ``ratio = h / w``: the per-anchor
channel blocks of the three output convs move to the mmdet anchor with the
same width and height (:func:`anchor_permutation`).
"""
import math
from typing import List, Optional, Tuple

OFFICIAL_ASPECT_RATIOS = (1.0, 0.5, 2.0)
"""Official anchor aspect ratios (``w / h``), in the order of the official
``pred_aspect_ratios``."""
MMDET_RATIOS = (0.5, 1.0, 2.0)
"""Anchor ratios (``h / w``) of mmdet's and mmregion's YOLACT configs."""
OCTAVE_BASE_SCALE = 3
"""mmdet's YOLACT anchors: ``octave_base_scale`` 3 x base size 8 = 24 px on
P3, as the official ``pred_scales`` [24, 48, 96, 192, 384]."""


def official_anchor_shapes(num_scales: int,
                           square: bool) -> List[Tuple[float, float]]:
    """(w, h) of the official anchors of one location, in channel order.

    The official ``make_priors`` loops ``for scale in scales: for ar in
    [1, 1/2, 2]`` with ``w = scale * sqrt(ar)``, ``h = scale / sqrt(ar)``
    (``use_pixel_scales``, no ``preapply_sqrt``), and ``h = w`` with
    ``use_square_anchors``. Scales are ``2 ** (j / num_scales)``
    (YOLACT++: 24, 24·2^(1/3), 24·2^(2/3) on P3).

    Args:
        num_scales (int): Scales per level (1: YOLACT, 3: YOLACT++).
        square (bool): ``use_square_anchors``.

    Returns:
        list[tuple[float, float]]: ``num_scales * 3`` (w, h), in units of the
        level's base size (24 px on P3).
    """
    shapes = []
    for j in range(num_scales):
        scale = 2**(j / num_scales)
        for ratio in OFFICIAL_ASPECT_RATIOS:
            w = scale * math.sqrt(ratio)
            shapes.append((w, w if square else scale / math.sqrt(ratio)))
    return shapes


def mmregion_anchor_generator(num_scales: int, square: bool) -> dict:
    """The ``anchor_generator`` keys of the ``configs/yolact/official``
    config with this anchor layout (merged into mmdet's YOLACT generator).

    Args:
        num_scales (int): Scales per level.
        square (bool): Square anchors (YOLACT v1): ratio 1 with one scale per
            official anchor, smallest first.

    Returns:
        dict: ``octave_base_scale`` / ``scales_per_octave`` / ``scales`` /
        ``ratios``.
    """
    if not square:
        return dict(
            octave_base_scale=OCTAVE_BASE_SCALE,
            scales_per_octave=num_scales,
            ratios=list(MMDET_RATIOS))
    sides = sorted(w for w, _ in official_anchor_shapes(num_scales, True))
    return dict(
        octave_base_scale=None,
        scales_per_octave=None,
        scales=[OCTAVE_BASE_SCALE * s for s in sides],
        ratios=[1.0])


def mmdet_anchor_shapes(anchor_generator: dict) -> List[Tuple[float, float]]:
    """(w, h) of mmdet's anchors of one location on P3, in channel order.

    Args:
        anchor_generator (dict): ``scales`` or ``octave_base_scale`` +
            ``scales_per_octave``, and ``ratios``, of an mmdet
            ``AnchorGenerator`` with base size 8 on P3.

    Returns:
        list[tuple[float, float]]: (w, h) in units of 24 px.
    """
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    keys = ('scales', 'octave_base_scale', 'scales_per_octave', 'ratios')
    generator = AnchorGenerator(
        strides=[8], **{k: anchor_generator.get(k)
                        for k in keys if anchor_generator.get(k) is not None})
    anchors = generator.base_anchors[0] / (OCTAVE_BASE_SCALE * 8)
    return [(float(x2 - x1), float(y2 - y1)) for x1, y1, x2, y2 in anchors]


def anchor_permutation(num_scales: int,
                       square: bool,
                       anchor_generator: Optional[dict] = None) -> List[int]:
    """Where each official anchor of a location sits in mmdet's order.

    Args:
        num_scales (int): Scales per level.
        square (bool): The official ``use_square_anchors``.
        anchor_generator (dict, optional): The target model's anchor
            generator keys; defaults to
            ``mmregion_anchor_generator(num_scales, square)``.

    Returns:
        list[int]: ``perm``: official anchor ``d`` is mmdet anchor
        ``perm[d]`` (same width and height).

    Raises:
        ValueError: If an official anchor has no mmdet anchor of the same
            shape.
    """
    if anchor_generator is None:
        anchor_generator = mmregion_anchor_generator(num_scales, square)
    official = official_anchor_shapes(num_scales, square)
    mmdet = mmdet_anchor_shapes(anchor_generator)
    perm = []
    for w, h in official:
        same = [
            m for m, (mw, mh) in enumerate(mmdet)
            if math.isclose(w, mw, rel_tol=1e-4)
            and math.isclose(h, mh, rel_tol=1e-4)
        ]
        if len(same) != 1 or len(official) != len(mmdet):
            raise ValueError(
                f'official anchor (w, h) = ({w:.4f}, {h:.4f}) x 24 px has '
                f'{len(same)} counterparts among the {len(mmdet)} anchors of '
                f'{anchor_generator} (square anchors: {square})')
        perm.append(same[0])
    return perm
