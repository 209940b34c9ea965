"""Outlines of the synthetic shape classes (unit size, centred at 0)."""
from typing import Tuple

import numpy as np

OUTLINE_NAMES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star',
                                  'hexagon', 'cross', 'diamond', 'heart',
                                  'pentagon', 'arrow', 'moon', 'rectangle')
"""Every shape :func:`shape_outline` can draw."""


def _regular_polygon(n: int, radius: float, phase: float) -> np.ndarray:
    angles = phase + np.arange(n) * 2 * np.pi / n
    return np.stack([np.cos(angles), np.sin(angles)], axis=1) * radius


def _rotate(pts: np.ndarray, angle: float) -> np.ndarray:
    rot = np.array([[np.cos(angle), -np.sin(angle)],
                    [np.sin(angle), np.cos(angle)]])
    return pts @ rot.T


def _arc(centre: Tuple[float, float], radius: float, start: float,
         stop: float, n: int) -> np.ndarray:
    t = np.linspace(start, stop, n)
    return np.stack([centre[0] + radius * np.cos(t),
                     centre[1] + radius * np.sin(t)], axis=1)


def _moon() -> np.ndarray:
    """A crescent: the unit disc less a disc of radius 0.4 shifted by
    0.25 (they meet at x = 0.305, y = +-0.396)."""
    outer = np.arctan2(0.396, 0.305)
    inner = np.arctan2(0.396, 0.055)
    pts = np.concatenate([
        _arc((0, 0), 0.5, outer, 2 * np.pi - outer, 40),
        _arc((0.25, 0), 0.4, 2 * np.pi - inner, inner, 32)[1:-1]
    ])
    return pts - np.array([(0.305 - 0.5) / 2, 0])


def _heart() -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    x = 16 * np.sin(t)**3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) -
          np.cos(4 * t))
    pts = np.stack([x, y], axis=1)
    pts -= (pts.max(0) + pts.min(0)) / 2
    return pts / (pts.max() - pts.min())


def shape_outline(name: str, rng: np.random.Generator) -> np.ndarray:
    """Outline of a unit-sized shape centred at the origin.

    Two random numbers are drawn for every shape (a phase and a small
    tilt), whichever it is.

    Args:
        name (str): One of :data:`OUTLINE_NAMES`.
        rng (np.random.Generator): Random source of the rotation.

    Returns:
        np.ndarray: (K, 2) vertices within [-0.5, 0.5]^2.
    """
    phase = rng.uniform(0, 2 * np.pi)
    # Squares and diamonds only tilt a little: a square turned by 45 degrees
    # would be a diamond.
    tilt = rng.uniform(-np.pi / 12, np.pi / 12)
    if name == 'circle':
        return _regular_polygon(48, 0.5, 0.0)
    if name == 'square':
        return _regular_polygon(4, 0.5 * np.sqrt(2), np.pi / 4 + tilt) / 2
    if name in ('triangle', 'hexagon', 'pentagon'):
        sides = dict(triangle=3, pentagon=5, hexagon=6)[name]
        return _regular_polygon(sides, 0.5, phase)
    if name == 'diamond':
        pts = np.array([[0, -0.5], [0.3, 0], [0, 0.5], [-0.3, 0]])
        return _rotate(pts, tilt)
    if name == 'star':
        outer = _regular_polygon(5, 0.5, phase)
        inner = _regular_polygon(5, 0.2, phase + np.pi / 5)
        return np.stack([outer, inner], axis=1).reshape(-1, 2)
    if name == 'cross':
        a, b = 0.5, 0.17
        pts = np.array([[-b, -a], [b, -a], [b, -b], [a, -b], [a, b], [b, b],
                        [b, a], [-b, a], [-b, b], [-a, b], [-a, -b], [-b, -b]])
        return _rotate(pts, phase)
    if name == 'heart':
        return _heart()
    if name == 'arrow':
        pts = np.array([[-0.5, -0.1], [0.05, -0.1], [0.05, -0.3], [0.5, 0],
                        [0.05, 0.3], [0.05, 0.1], [-0.5, 0.1]])
        return _rotate(pts, phase)
    if name == 'moon':
        return _rotate(_moon(), phase)
    if name == 'rectangle':
        pts = np.array([[-0.5, -0.2], [0.5, -0.2], [0.5, 0.2], [-0.5, 0.2]])
        return _rotate(pts, phase)
    raise ValueError(f'unknown shape class {name!r}; expected one of '
                     f'{OUTLINE_NAMES}')
