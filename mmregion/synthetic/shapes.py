"""The built-in synthetic dataset: coloured shapes with masks and captions.

A seeded generator that writes a COCO-format dataset (instances with polygon
masks, COCO Captions, a documented base/novel class split). It is the shared
fixture of the demo and of every test that needs data.

Layout written under ``out_dir``::

    train/000000.png ...             images of split ``train``
    val/000000.png ...               images of split ``val``
    annotations/instances_train.json COCO instances (bbox, polygon masks)
    annotations/captions_train.json  COCO Captions (one or more per image)
    annotations/instances_val.json, annotations/captions_val.json
    meta.json                        classes, base/novel split, settings

Occlusion is resolved when an image is drawn: a later shape covers earlier
ones, every mask is the visible part, and a placement is re-drawn when it
would leave an earlier shape too hidden or split into pieces that a polygon
cannot describe (holes).
"""
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

from ..fileio import atomic_open, dump_json_atomic
from .captions import caption as _caption
from .outlines import OUTLINE_NAMES, shape_outline

SHAPE_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star',
                                  'hexagon', 'cross', 'diamond', 'heart')
"""The shape classes, in category-id order (ids start at 1)."""

NOVEL_CLASSES: Tuple[str, ...] = ('hexagon', 'heart')
"""Classes held out of open-vocabulary training (the *novel* split)."""

BASE_CLASSES: Tuple[str, ...] = tuple(c for c in SHAPE_CLASSES
                                      if c not in NOVEL_CLASSES)
"""Classes seen with boxes in open-vocabulary training (the *base* split)."""

COLOURS: Dict[str, Tuple[int, int, int]] = {
    # name: RGB
    'red': (220, 40, 40),
    'green': (40, 170, 60),
    'blue': (40, 80, 220),
    'yellow': (235, 205, 40),
    'purple': (140, 60, 180),
    'orange': (245, 140, 30),
    'white': (245, 245, 245),
    'black': (25, 25, 25),
    'pink': (250, 150, 190),
    'brown': (120, 70, 30),
    'grey': (128, 128, 128),
    'cyan': (40, 200, 210),
}
"""Every colour the generator knows; :class:`ShapesConfig` picks some."""

DEFAULT_COLOURS: Tuple[str, ...] = ('red', 'green', 'blue', 'yellow',
                                    'purple', 'orange', 'white', 'black')
"""The colours of the default generator (the demo's)."""

@dataclass
class ShapesConfig:
    """Settings of the generator.

    Args:
        img_size (tuple[int, int]): (height, width) of every image.
            Defaults to (256, 256).
        min_objects (int): Fewest shapes in an image. Defaults to 1.
        max_objects (int): Most shapes in an image. Defaults to 5.
        min_size (float): Smallest shape size (its bounding square) as a
            fraction of the shorter image side. Defaults to 0.15.
        max_size (float): Largest shape size, same unit. Defaults to 0.4.
        min_visible (float): Fraction of a shape that must stay visible when
            others cover it. Defaults to 0.6.
        captions_per_image (int): Captions written for each image.
            Defaults to 2.
        classes (tuple[str]): Shape classes, in category-id order, from
            :data:`~mmregion.synthetic.outlines.OUTLINE_NAMES`. Defaults to
            :data:`SHAPE_CLASSES`.
        novel_classes (tuple[str]): The novel split among ``classes``.
            Defaults to :data:`NOVEL_CLASSES`.
        colours (tuple[str]): Colour names (keys of :data:`COLOURS`).
            Defaults to :data:`DEFAULT_COLOURS`.
        size_words (bool): Captions call shapes larger than the middle of
            the size range 'large', the others 'small'. Defaults to False.
        colour_words (bool): Captions name the colour of single shapes.
            Defaults to True.
        object_centric (float): Fraction of images that show one large
            shape (``max_size`` to ``min(2 * max_size, 0.7)`` of the side), as
            object-centric web photos. Defaults to 0.
    """
    img_size: Tuple[int, int] = (256, 256)
    min_objects: int = 1
    max_objects: int = 5
    min_size: float = 0.15
    max_size: float = 0.4
    min_visible: float = 0.6
    captions_per_image: int = 2
    classes: Tuple[str, ...] = SHAPE_CLASSES
    novel_classes: Tuple[str, ...] = NOVEL_CLASSES
    colours: Tuple[str, ...] = DEFAULT_COLOURS
    size_words: bool = False
    colour_words: bool = True
    object_centric: float = 0.0

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        self.novel_classes = tuple(self.novel_classes)
        self.colours = tuple(self.colours)
        for name in self.classes:
            if name not in OUTLINE_NAMES:
                raise ValueError(f'ShapesConfig.classes: unknown shape '
                                 f'{name!r}; expected names from '
                                 f'{OUTLINE_NAMES}')
        for name in self.novel_classes:
            if name not in self.classes:
                raise ValueError(f'ShapesConfig.novel_classes: {name!r} is '
                                 f'not among classes {self.classes}')
        for name in self.colours:
            if name not in COLOURS:
                raise ValueError(f'ShapesConfig.colours: unknown colour '
                                 f'{name!r}; expected names from '
                                 f'{tuple(COLOURS)}')
        if not 0 <= self.object_centric <= 1:
            raise ValueError(f'ShapesConfig.object_centric must be in '
                             f'[0, 1], got {self.object_centric}')

    @property
    def base_classes(self) -> Tuple[str, ...]:
        """The classes that are not novel, in order."""
        return tuple(c for c in self.classes if c not in self.novel_classes)


@dataclass
class _Instance:
    label: int
    colour: str
    large: bool
    polygon: np.ndarray  # (K, 2) float, x/y of the full (unoccluded) shape
    full_mask: np.ndarray = field(repr=False)  # (H, W) uint8


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random background: a two-colour gradient with mild noise."""
    c0 = rng.uniform(60, 200, size=3)
    c1 = rng.uniform(60, 200, size=3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (np.cos(angle) * xx / w + np.sin(angle) * yy / h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    img = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    img += rng.normal(0, 6, size=img.shape)
    return img


def _polygons_from_mask(mask: np.ndarray) -> List[List[float]]:
    """Outer contours of a binary mask as COCO polygons (x1, y1, x2, ...)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL,
                                   cv2.CHAIN_APPROX_SIMPLE)
    polys = []
    for c in contours:
        if len(c) >= 3:
            polys.append(c.reshape(-1).astype(float).tolist())
    return polys


def _polygon_fidelity(polys: List[List[float]], mask: np.ndarray) -> float:
    """IoU between the rasterised polygons and the mask they came from."""
    if not polys:
        return 0.0
    h, w = mask.shape
    rle = mask_utils.merge(mask_utils.frPyObjects(polys, h, w))
    poly_mask = mask_utils.decode(rle).astype(bool)
    m = mask.astype(bool)
    union = np.logical_or(poly_mask, m).sum()
    return float(np.logical_and(poly_mask, m).sum() / max(union, 1))


def _visible_masks(instances: List[_Instance]) -> List[np.ndarray]:
    """Visible part of each instance: later instances are drawn on top."""
    if not instances:
        return []
    visible = []
    covered = np.zeros_like(instances[0].full_mask, dtype=bool)
    for inst in reversed(instances):
        m = inst.full_mask.astype(bool)
        visible.append(np.logical_and(m, ~covered).astype(np.uint8))
        covered |= m
    return visible[::-1]


def _acceptable(instances: List[_Instance], min_visible: float) -> bool:
    """Every shape stays visible enough and polygon-describable."""
    for inst, vis in zip(instances, _visible_masks(instances)):
        full = int(inst.full_mask.sum())
        if full == 0 or vis.sum() < min_visible * full:
            return False
        n_parts, _ = cv2.connectedComponents(vis)
        if n_parts - 1 != 1:
            return False
        if _polygon_fidelity(_polygons_from_mask(vis), vis) < 0.9:
            return False
    return True


def draw_image(rng: np.random.Generator,
               cfg: ShapesConfig) -> Tuple[np.ndarray, List[dict]]:
    """Draw one image and its instances.

    Args:
        rng (np.random.Generator): Random source; the output is a pure
            function of its state.
        cfg (ShapesConfig): Generator settings.

    Returns:
        tuple: ``img`` (H, W, 3) uint8 RGB image, and a list of instance
        dicts with ``label`` (0-based class index), ``colour``, ``mask``
        ((H, W) uint8 visible mask), ``polygons`` (COCO polygons of it) and
        ``bbox`` ([x, y, w, h] of the visible mask).
    """
    h, w = cfg.img_size
    side = min(h, w)
    n_target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    sizes = (cfg.min_size, cfg.max_size)
    if cfg.object_centric > 0 and rng.random() < cfg.object_centric:
        n_target, sizes = 1, (cfg.max_size, min(2 * cfg.max_size, 0.7))
    instances: List[_Instance] = []
    attempts = 0
    while len(instances) < n_target and attempts < 20 * n_target:
        attempts += 1
        label = int(rng.integers(len(cfg.classes)))
        colour = str(rng.choice(list(cfg.colours)))
        fraction = rng.uniform(*sizes)
        size = fraction * side
        outline = shape_outline(cfg.classes[label], rng) * size
        aspect = rng.uniform(0.8, 1.25)
        outline = outline * np.array([aspect, 1 / aspect])
        lo, hi = outline.min(0), outline.max(0)
        cx = rng.uniform(-lo[0], w - hi[0])
        cy = rng.uniform(-lo[1], h - hi[1])
        poly = outline + np.array([cx, cy])
        full = np.zeros((h, w), np.uint8)
        cv2.fillPoly(full, [np.round(poly * 16).astype(np.int32)], 1,
                     lineType=cv2.LINE_8, shift=4)
        candidate = _Instance(label, colour,
                              fraction > (cfg.min_size + cfg.max_size) / 2,
                              poly, full)
        same_colour_overlap = any(
            i.colour == colour and np.logical_and(i.full_mask, full).any()
            for i in instances)
        if full.sum() < 16 or same_colour_overlap or not _acceptable(
                instances + [candidate],
                                               cfg.min_visible):
            continue
        instances.append(candidate)

    img = _background(rng, h, w)
    for inst in instances:
        rgb = np.array(COLOURS[inst.colour], np.float32)
        shade = rgb + rng.normal(0, 4, size=(h, w, 3))
        m = inst.full_mask.astype(bool)
        img[m] = shade[m]
    img = np.clip(img, 0, 255).astype(np.uint8)

    out = []
    for inst, vis in zip(instances, _visible_masks(instances)):
        ys, xs = np.nonzero(vis)
        x0, y0, x1, y1 = xs.min(), ys.min(), xs.max() + 1, ys.max() + 1
        out.append(
            dict(
                label=inst.label,
                colour=inst.colour,
                large=inst.large,
                mask=vis,
                polygons=_polygons_from_mask(vis),
                bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)]))
    return img, out


def generate_split(out_dir: str,
                   split: str,
                   num_images: int,
                   seed: int,
                   cfg: Optional[ShapesConfig] = None) -> Tuple[str, str]:
    """Write one split (images, instances json, captions json).

    Args:
        out_dir (str): Dataset root.
        split (str): Split name, e.g. ``'train'``; images go to
            ``out_dir/split/``.
        num_images (int): Number of images (> 0).
        seed (int): Seed of this split.
        cfg (ShapesConfig, optional): Generator settings.

    Returns:
        tuple[str, str]: Paths of the instances and captions json files.
    """
    if num_images <= 0:
        raise ValueError(f'num_images of split {split!r} must be > 0, '
                         f'got {num_images}')
    cfg = cfg or ShapesConfig()
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(out_dir, split), exist_ok=True)
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    categories = [
        dict(
            id=i + 1,
            name=name,
            supercategory='shape',
            split='novel' if name in cfg.novel_classes else 'base')
        for i, name in enumerate(cfg.classes)
    ]
    images, annotations, captions = [], [], []
    h, w = cfg.img_size
    for idx in range(num_images):
        img, instances = draw_image(rng, cfg)
        file_name = f'{split}/{idx:06d}.png'
        _atomic_write_image(osp.join(out_dir, file_name), img)
        image_id = idx + 1
        images.append(dict(id=image_id, file_name=file_name, height=h,
                           width=w))
        for inst in instances:
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=inst['label'] + 1,
                    bbox=inst['bbox'],
                    area=float(inst['mask'].sum()),
                    segmentation=inst['polygons'],
                    iscrowd=0))
        for variant in range(cfg.captions_per_image):
            captions.append(
                dict(
                    id=len(captions) + 1,
                    image_id=image_id,
                    caption=_caption(instances, rng, variant, cfg.classes,
                                     cfg.size_words, cfg.colour_words)))
    info = dict(description=f'mmregion synthetic shapes, split {split}',
                version='1.0', seed=seed)
    inst_path = osp.join(out_dir, 'annotations', f'instances_{split}.json')
    cap_path = osp.join(out_dir, 'annotations', f'captions_{split}.json')
    dump_json_atomic(
        dict(info=info, images=images, annotations=annotations,
             categories=categories), inst_path)
    dump_json_atomic(dict(info=info, images=images, annotations=captions),
                     cap_path)
    return inst_path, cap_path


def _atomic_write_image(path: str, img_rgb: np.ndarray) -> None:
    ok, png = cv2.imencode('.png', cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f'could not encode image {path}')
    with atomic_open(path, 'wb') as f:
        f.write(png.tobytes())


def generate_shapes_dataset(out_dir: str,
                            splits: Optional[Dict[str, int]] = None,
                            seed: int = 0,
                            cfg: Optional[ShapesConfig] = None) -> dict:
    """Write the synthetic shapes dataset (all splits and ``meta.json``).

    The same arguments always give byte-identical files.

    Args:
        out_dir (str): Dataset root, created if missing.
        splits (dict[str, int], optional): Split name → number of images.
            Defaults to ``{'train': 600, 'val': 100}``.
        seed (int): Base seed; split ``i`` (in the order given) uses
            ``seed * 1000 + i``. Defaults to 0.
        cfg (ShapesConfig, optional): Generator settings.

    Returns:
        dict: The metadata written to ``meta.json`` (classes, base and
        novel classes, split files, settings).
    """
    splits = dict(splits or {'train': 600, 'val': 100})
    if not splits:
        raise ValueError('splits must name at least one split')
    cfg = cfg or ShapesConfig()
    files = {}
    for i, (split, n) in enumerate(splits.items()):
        inst, cap = generate_split(out_dir, split, n, seed * 1000 + i, cfg)
        files[split] = dict(
            num_images=n,
            instances=osp.relpath(inst, out_dir),
            captions=osp.relpath(cap, out_dir))
    meta = dict(
        classes=list(cfg.classes),
        base_classes=list(cfg.base_classes),
        novel_classes=list(cfg.novel_classes),
        splits=files,
        seed=seed,
        settings=asdict(cfg))
    dump_json_atomic(meta, osp.join(out_dir, 'meta.json'))
    return meta


def class_split(names: Sequence[str] = SHAPE_CLASSES,
                novel: Sequence[str] = NOVEL_CLASSES) -> Dict[str, List[int]]:
    """0-based indices of the base and novel classes among ``names``.

    Args:
        names (Sequence[str]): Class names in label order.
        novel (Sequence[str]): The novel classes. Defaults to
            :data:`NOVEL_CLASSES`.

    Returns:
        dict[str, list[int]]: ``{'base': [...], 'novel': [...]}``.
    """
    return dict(
        base=[i for i, n in enumerate(names) if n not in novel],
        novel=[i for i, n in enumerate(names) if n in novel])
