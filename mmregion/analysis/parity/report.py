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
from typing import List, Optional, Sequence

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


def format_reports(reports: Sequence[ParityReport]) -> str:
    """All reports, then one summary line per model.

    Args:
        reports (Sequence[ParityReport]): Reports to print.

    Returns:
        str: Printable text.
    """
    return '\n\n'.join([r.format() for r in reports])
