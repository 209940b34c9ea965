"""Parity reports: our tensors and detections against the official ones.

A report is a list of rows, one per compared tensor or final-detection
check, each with the relative error ``max|ours - official| /
max|official|``. A row fails when it exceeds :data:`TOLERANCE` unless a
documented difference (:func:`load_documented_differences`, mirrored by
``docs/parity.md``) covers it and its error stays within the measured bound.
"""
import fnmatch
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor

#: Relative tolerance of every compared tensor (x max|official|).
TOLERANCE = 1e-4
#: Minimum IoU of two matched binary masks, unless they differ by at most
#: MASK_FLIP_PIXELS pixels (threshold flips of a small mask).
MASK_IOU_MIN = 0.999
MASK_FLIP_PIXELS = 2
#: Integer boxes: a float this close (px) to an integer may truncate to
#: either side on the two sides.
INTEGER_EPS = 1e-3
DOCUMENTED_FILE = osp.join(osp.dirname(__file__), 'documented.yaml')


@dataclass
class Documented:
    """A known difference: which rows it covers and its measured bound.

    Attributes:
        model (str): ``fnmatch`` pattern of model names.
        row (str): ``fnmatch`` pattern of row names.
        bound (float): Largest error allowed (the measured one, rounded up).
        reason (str): Why it differs.
    """
    model: str
    row: str
    bound: float
    reason: str

    def covers(self, model: str, row: str) -> bool:
        """Whether this difference applies to a row of a model.

        Args:
            model (str): Model name.
            row (str): Row name.

        Returns:
            bool: Both patterns match.
        """
        return (fnmatch.fnmatchcase(model, self.model)
                and fnmatch.fnmatchcase(row, self.row))


def load_documented_differences(
        path: str = DOCUMENTED_FILE) -> List[Documented]:
    """Read the documented differences (a YAML list).

    Each entry has ``model``, ``row`` (``fnmatch`` patterns), ``bound``
    (float >= 0) and ``reason``.

    Args:
        path (str): YAML file; the package's own by default.

    Returns:
        list[Documented]: The entries, in file order.

    Raises:
        ValueError: An entry lacks a key or has a bad bound, named with the
            file and the entry's position.
    """
    import yaml
    with open(path) as f:
        entries = yaml.safe_load(f) or []
    if not isinstance(entries, list):
        raise ValueError(f'{path}: expected a list of differences, got '
                         f'{type(entries).__name__}')
    out = []
    for i, entry in enumerate(entries):
        keys = ('model', 'row', 'bound', 'reason')
        if not isinstance(entry, dict) or set(entry) != set(keys):
            raise ValueError(f'{path}: entry {i} must have exactly the keys '
                             f'{list(keys)}, got {entry!r}')
        bound = entry['bound']
        if not isinstance(bound, (int, float)) or bound < 0:
            raise ValueError(f'{path}: entry {i} ({entry["row"]}): bound '
                             f'must be a number >= 0, got {bound!r}')
        out.append(Documented(str(entry['model']), str(entry['row']),
                              float(bound), str(entry['reason'])))
    return out


@dataclass
class Row:
    """One compared tensor or detection check.

    Attributes:
        name (str): Row name, e.g. ``tensor/fpn.p3``.
        error (float): Relative error (``inf`` for a shape mismatch).
        ok (bool): Within the tolerance (before documented differences).
        detail (str): Shape, scale or counts, for the table.
        documented (Documented, optional): Set when a documented difference
            covers the row.
    """
    name: str
    error: float
    ok: bool
    detail: str = ''
    documented: Optional[Documented] = None

    @property
    def passed(self) -> bool:
        """Within the tolerance, or within a covering documented bound."""
        if self.ok:
            return True
        return (self.documented is not None
                and self.error <= self.documented.bound)

    @property
    def status(self) -> str:
        """``ok``, ``documented`` or ``FAIL``."""
        if self.ok:
            return 'ok'
        return 'documented' if self.passed else 'FAIL'


def relative_error(ours: Tensor, official: Tensor) -> float:
    """``max|ours - official| / max|official|`` (float64).

    Args:
        ours (Tensor): Our tensor.
        official (Tensor): The official tensor, same shape.

    Returns:
        float: The error; ``inf`` when shapes differ or a side is not
        finite where the other is; 0 for two empty tensors.
    """
    ours = torch.as_tensor(ours).detach().double().cpu()
    official = torch.as_tensor(official).detach().double().cpu()
    if ours.shape != official.shape:
        return float('inf')
    if official.numel() == 0:
        return 0.
    finite = torch.isfinite(official)
    if not torch.equal(finite, torch.isfinite(ours)):
        return float('inf')
    diff = (ours[finite] - official[finite]).abs().max() if finite.any() \
        else official.new_zeros(())
    scale = official[finite].abs().max() if finite.any() else diff
    if float(diff) == 0:
        return 0.
    return float(diff / scale) if float(scale) > 0 else float('inf')


@dataclass
class ParityReport:
    """Rows of one model's run and the decision.

    Attributes:
        model (str): Model name (used to look up documented differences).
        rows (list[Row]): In the order they were checked.
        notes (list[str]): What was patched or substituted, inputs used.
        documented (list[Documented]): The differences that may apply.
        tables (list[str]): Further text printed after the rows (e.g. the
            timing table); never part of the decision.
    """
    model: str
    rows: List[Row] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    documented: List[Documented] = field(default_factory=list)
    tables: List[str] = field(default_factory=list)

    def _add(self, row: Row) -> Row:
        for doc in self.documented:
            if doc.covers(self.model, row.name):
                row.documented = doc
                break
        self.rows.append(row)
        return row

    def add_tensor(self, name: str, ours: Tensor, official: Tensor,
                   tolerance: float = TOLERANCE) -> Row:
        """Compare two tensors and add the row.

        Args:
            name (str): Row name.
            ours (Tensor): Our tensor.
            official (Tensor): The official tensor.
            tolerance (float): Relative tolerance.

        Returns:
            Row: The added row.
        """
        error = relative_error(ours, official)
        official = torch.as_tensor(official)
        shape = tuple(official.shape)
        if tuple(torch.as_tensor(ours).shape) != shape:
            detail = (f'shape ours {tuple(torch.as_tensor(ours).shape)} '
                      f'official {shape}')
        else:
            scale = float(official.detach().abs().max()) \
                if official.numel() else 0.
            detail = f'{list(shape)} max|official| {scale:.3g}'
        return self._add(Row(name, error, error <= tolerance, detail))

    def add_check(self, name: str, error: float, ok: bool,
                  detail: str = '') -> Row:
        """Add a row computed elsewhere (e.g. a detection count).

        Args:
            name (str): Row name.
            error (float): The error to show.
            ok (bool): Whether it is within its tolerance.
            detail (str): Shown in the table.

        Returns:
            Row: The added row.
        """
        return self._add(Row(name, float(error), bool(ok), detail))

    @property
    def passed(self) -> bool:
        """Every row passed (within tolerance or a documented bound)."""
        return all(row.passed for row in self.rows)

    def first_failure(self) -> Optional[Row]:
        """The first row that failed, or None."""
        return next((row for row in self.rows if not row.passed), None)

    def format(self) -> str:
        """The table, notes and decision as text.

        Returns:
            str: Printable report.
        """
        width = max([len(r.name) for r in self.rows] + [24])
        lines = [f'== {self.model} ==']
        lines += [f'  note: {note}' for note in self.notes]
        lines.append(f'  {"row":<{width}}  {"rel.err":>9}  {"status":<10}  '
                     'detail')
        for row in self.rows:
            lines.append(f'  {row.name:<{width}}  {row.error:9.2e}  '
                         f'{row.status:<10}  {row.detail}')
            if row.documented is not None and not row.ok:
                lines.append(f'  {"":<{width}}  {"":>9}  {"":<10}  '
                             f'documented (bound {row.documented.bound:.1e})'
                             f': {row.documented.reason}')
        lines += self.tables
        lines.append(self.decision())
        return '\n'.join(lines)

    def decision(self) -> str:
        """One line: PASS, or FAIL naming the first row that differs."""
        bad = self.first_failure()
        if bad is None:
            return f'{self.model}: PASS ({len(self.rows)} rows)'
        limit = (f'documented bound {bad.documented.bound:.1e}'
                 if bad.documented else f'tolerance {TOLERANCE:.0e}')
        return (f'{self.model}: FAIL: first difference {bad.name} '
                f'(error {bad.error:.2e} > {limit}; {bad.detail})')


def _box_iou(a: Tensor, b: Tensor) -> Tensor:
    """Pairwise IoU of (n, 4) and (m, 4) x1y1x2y2 boxes (float64)."""
    a, b = a.double(), b.double()
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(-1)
    area_a = (a[:, 2:] - a[:, :2]).clamp(min=0).prod(-1)
    area_b = (b[:, 2:] - b[:, :2]).clamp(min=0).prod(-1)
    union = area_a[:, None] + area_b[None] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12),
                       (a[:, None] == b[None]).all(-1).double())


def match_detections(ours: Dict[str, Tensor],
                     official: Dict[str, Tensor]) -> List[tuple]:
    """Pair each official detection with one of ours.

    Official detections, best first, each take the unmatched detection of
    ours with the same label and the highest box IoU (> 0.5).

    Args:
        ours (dict): ``boxes`` (n, 4), ``scores`` (n,), ``labels`` (n,).
        official (dict): The same keys, (m, ...).

    Returns:
        list[tuple[int, int]]: ``(official index, our index)`` pairs.
    """
    if len(official['boxes']) == 0 or len(ours['boxes']) == 0:
        return []
    iou = _box_iou(official['boxes'], ours['boxes'])
    same = official['labels'][:, None].cpu() == ours['labels'][None].cpu()
    iou = torch.where(same, iou, torch.full_like(iou, -1.))
    order = torch.argsort(-official['scores'].double().cpu(), stable=True)
    taken = torch.zeros(len(ours['boxes']), dtype=torch.bool)
    pairs = []
    for i in order.tolist():
        cand = iou[i].masked_fill(taken, -1.)
        j = int(cand.argmax())
        if cand[j] > 0.5:
            taken[j] = True
            pairs.append((i, j))
    return pairs


def _cut_flips(ours: Tensor, official: Tensor, pairs: List[tuple],
               tolerance: float) -> bool:
    """Whether the unmatched detections of both sides are rank flips at
    the detection-count cut: equally many on each side, and each scores
    within ``tolerance x max|official|`` of the other side's lowest kept
    score (near-equal scores that float rounding ordered differently)."""
    ours, official = ours.double().cpu(), official.double().cpu()
    if len(ours) != len(official) or not len(pairs):
        return False
    u_left = torch.ones(len(ours), dtype=torch.bool)
    o_left = torch.ones(len(official), dtype=torch.bool)
    u_left[[p[1] for p in pairs]] = False
    o_left[[p[0] for p in pairs]] = False
    slack = tolerance * float(official.abs().max())
    return bool(
        ((official[o_left] - ours.min()).abs() <= slack).all()
        and ((ours[u_left] - official.min()).abs() <= slack).all())


def _mask_iou(a: Tensor, b: Tensor) -> Tensor:
    """Per pair IoU of (n, H, W) binary masks (1 for two empty masks)."""
    a, b = a.flatten(1).bool(), b.flatten(1).bool()
    inter = (a & b).sum(1).double()
    union = (a | b).sum(1).double()
    return torch.where(union > 0, inter / union.clamp(min=1),
                       torch.ones_like(union))


def _add_box_row(report: ParityReport, name: str, u_boxes: Tensor,
                 o_boxes: Tensor, o_float: Optional[Tensor],
                 box_atol: float, tolerance: float) -> None:
    """Boxes row; with ``o_float`` (the official boxes before their integer
    truncation) a coordinate may differ only by one pixel, and only where
    the official float lies within :data:`INTEGER_EPS` of an integer."""
    o_boxes, u_boxes = o_boxes.double().cpu(), u_boxes.double().cpu()
    diff = (o_boxes - u_boxes).abs()
    scale = float(o_boxes.abs().max()) or 1.
    worst = float(diff.max())
    if o_float is None:
        report.add_check(
            name, worst / scale,
            worst / scale <= tolerance or worst <= box_atol,
            f'max |diff| {worst:.3g} px (allowed {box_atol:g} px or '
            f'{tolerance:.0e} x {scale:.4g})')
        return
    o_float = o_float.double().cpu()
    near = (o_float - o_float.round()).abs() <= INTEGER_EPS
    flips = (diff > 0) & (diff <= 1) & near
    report.add_check(
        name, worst / scale, bool(((diff == 0) | flips).all()),
        f'max |diff| {worst:.3g} px; {int(flips.sum())} of '
        f'{diff.numel()} coordinates 1 px apart where the official float '
        f'is within {INTEGER_EPS:g} px of an integer (allowed)')


def add_detection_rows(report: ParityReport, prefix: str,
                       ours: Dict[str, Tensor], official: Dict[str, Tensor],
                       box_atol: float = 0.,
                       tolerance: float = TOLERANCE,
                       mask_iou_min: float = MASK_IOU_MIN) -> None:
    """Compare two sides' final detections and add rows to a report.

    Rows: ``{prefix}/count`` (equal counts and every detection matched by
    label and box, except rank flips at the count cut, see
    :func:`_cut_flips`), ``/boxes`` (max coordinate difference over matched
    pairs, relative to the largest coordinate; within ``tolerance`` or
    ``box_atol`` pixels, or, when ``official`` has ``boxes_float`` (its
    integer boxes before truncation), equal except for one-pixel flips of
    floats within :data:`INTEGER_EPS` of an integer), ``/scores`` (and
    ``/mask_scores`` when both have them) and ``/mask_iou`` (1 - the
    smallest IoU of matched masks; a pair fails when more than
    :data:`MASK_FLIP_PIXELS` pixels and more than ``1 - mask_iou_min`` of
    the union differ).

    Args:
        report (ParityReport): Where the rows go.
        prefix (str): Row name prefix, e.g. ``raw_550x550/dets``.
        ours (dict): ``boxes`` (n, 4), ``scores`` (n,), ``labels`` (n,),
            optional ``masks`` (n, H, W) and ``mask_scores`` (n,).
        official (dict): The same for the official side, optionally
            ``boxes_float`` (m, 4).
        box_atol (float): Absolute box tolerance in pixels (e.g. 1 for
            integer boxes, where float rounding may cross an integer).
        tolerance (float): Relative tolerance of scores and boxes.
        mask_iou_min (float): Minimum IoU of matched masks (beyond
            :data:`MASK_FLIP_PIXELS` differing pixels).
    """
    n, m = len(ours['boxes']), len(official['boxes'])
    pairs = match_detections(ours, official)
    cut = _cut_flips(ours['scores'], official['scores'], pairs, tolerance)
    ok = n == m and (len(pairs) == n or cut)
    report.add_check(
        f'{prefix}/count', 0. if ok else float(abs(n - m) or 1), ok,
        f'ours {n} official {m} matched {len(pairs)}' +
        (f' (the {n - len(pairs)} unmatched on each side tie within '
         f'{tolerance:.0e} with the last kept score)'
         if ok and len(pairs) < n else ''))
    if not pairs:
        return
    oi = torch.tensor([p[0] for p in pairs])
    ui = torch.tensor([p[1] for p in pairs])
    _add_box_row(report, f'{prefix}/boxes', u_boxes=ours['boxes'][ui],
                 o_boxes=official['boxes'][oi],
                 o_float=official['boxes_float'][oi]
                 if 'boxes_float' in official else None,
                 box_atol=box_atol, tolerance=tolerance)
    for key in ('scores', 'mask_scores'):
        if key in ours and key in official:
            report.add_tensor(f'{prefix}/{key}', ours[key][ui].cpu(),
                              official[key][oi].cpu(), tolerance)
    if 'masks' in ours and 'masks' in official:
        o_masks, u_masks = official['masks'][oi], ours['masks'][ui]
        if o_masks.shape != u_masks.shape:
            report.add_check(
                f'{prefix}/mask_iou', float('inf'), False,
                f'mask shape ours {tuple(u_masks.shape)} official '
                f'{tuple(o_masks.shape)}')
            return
        u_masks, o_masks = u_masks.cpu(), o_masks.cpu()
        iou = _mask_iou(u_masks, o_masks)
        differ = (u_masks ^ o_masks).flatten(1).sum(1)
        union = (u_masks | o_masks).flatten(1).sum(1)
        # a few pixels at the 0.5 threshold may flip with float rounding;
        # more than MASK_FLIP_PIXELS and more than 1 - mask_iou_min of the
        # mask is a difference
        bad = (differ > MASK_FLIP_PIXELS) & (
            differ > (1 - mask_iou_min) * union)
        worst = float(iou.min())
        report.add_check(
            f'{prefix}/mask_iou', 1. - worst, not bool(bad.any()),
            f'min IoU {worst:.6f} mean {float(iou.mean()):.6f}; at most '
            f'{int(differ.max())} pixels differ (allowed '
            f'{MASK_FLIP_PIXELS} or {1 - mask_iou_min:.0e} of the mask)')


def format_reports(reports: Sequence[ParityReport]) -> str:
    """All reports, then one summary line per model.

    Args:
        reports (Sequence[ParityReport]): Reports to print.

    Returns:
        str: Printable text.
    """
    return '\n\n'.join([r.format() for r in reports])
