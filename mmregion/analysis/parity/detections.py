"""Final detections of the two sides, paired and compared.

Detections are paired by label and box (:func:`match_detections`); ranked
lists whose order float rounding may change where scores tie (proposals)
are paired within ties (:func:`pair_ranked`). Near-equal scores at a count
cut may keep a different detection on each side (a rank flip); both are
reported, and only such ties are allowed to differ.
"""
from typing import Dict, List, Optional, Tuple

import torch
from torch import Tensor

from .report import (
    INTEGER_EPS,
    MASK_FLIP_PIXELS,
    MASK_IOU_MIN,
    TOLERANCE,
    ParityReport,
)


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


def pair_ranked(ours_scores: Tensor, ours_boxes: Tensor,
                official_scores: Tensor, official_boxes: Tensor,
                tolerance: float = TOLERANCE) -> Tuple[Tensor, Tensor, str]:
    """Pair two score-ranked lists (e.g. RPN proposals) within ties.

    Each official entry, in order, pairs with the unpaired entry of ours
    whose score is within ``tolerance x max|official score|`` of its own
    and whose box is nearest (max coordinate difference; the same position
    when it is as near). With distinct scores this is the positional
    pairing; where float rounding ordered tied scores differently it pairs
    the same boxes. Entries left unpaired on both sides must be rank flips
    at the list's cut (:func:`cut_flips`), else the caller's rows show the
    difference.

    Args:
        ours_scores (Tensor): (n, ) scores, best first.
        ours_boxes (Tensor): (n, 4) boxes.
        official_scores (Tensor): (m, ) scores, best first.
        official_boxes (Tensor): (m, 4) boxes.
        tolerance (float): Relative score tolerance of a tie.

    Returns:
        tuple[Tensor, Tensor, str]: Official and our indices of the pairs
        ((k, ) each, official order) and a note: how many pairs are out of
        position and how many entries are unpaired on each side ('' when
        the pairing is positional and complete).
    """
    u_s, o_s = ours_scores.double().cpu(), official_scores.double().cpu()
    u_b, o_b = ours_boxes.double().cpu(), official_boxes.double().cpu()
    slack = tolerance * float(o_s.abs().max()) if len(o_s) else 0.
    taken = torch.zeros(len(u_s), dtype=torch.bool)
    oi, ui = [], []
    for i in range(len(o_s)):
        cand = ((u_s - o_s[i]).abs() <= slack) & ~taken
        if not bool(cand.any()):
            continue
        dist = (u_b - o_b[i]).abs().amax(1).masked_fill(~cand, float('inf'))
        j = i if i < len(u_s) and cand[i] and dist[i] <= dist.min() else \
            int(dist.argmin())
        taken[j] = True
        oi.append(i)
        ui.append(j)
    oi_t, ui_t = torch.tensor(oi, dtype=torch.long), torch.tensor(
        ui, dtype=torch.long)
    moved = int((oi_t != ui_t).sum())
    left = (len(o_s) - len(oi), len(u_s) - len(ui))
    note = ''
    if moved or any(left):
        note = (f'{moved} of {len(oi)} pairs out of position (tied scores '
                f'within {tolerance:.0e}); unpaired: official {left[0]}, '
                f'ours {left[1]}')
    return oi_t, ui_t, note


def cut_flips(ours: Tensor, official: Tensor, pairs: List[tuple],
              tolerance: float) -> bool:
    """Whether the unmatched entries of both sides are rank flips at the
    count cut: equally many on each side, and each scores within
    ``tolerance x max|official|`` of the other side's lowest kept score
    (near-equal scores that float rounding ordered differently).

    Args:
        ours (Tensor): (n, ) our scores.
        official (Tensor): (m, ) official scores.
        pairs (list[tuple[int, int]]): (official, our) index pairs.
        tolerance (float): Relative score tolerance.

    Returns:
        bool: True when every unmatched entry is such a flip (and at least
        one pair exists).
    """
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


def _threshold_tied(dets: Dict[str, Tensor], idx: List[int],
                    score_thr: Optional[float], slack: float) -> set:
    """Those of ``idx`` whose box is the box of a detection scoring within
    ``slack`` of ``score_thr`` (one anchor's detections, all decided by
    whether its score passed the threshold)."""
    if score_thr is None or not idx:
        return set()
    scores = dets['scores'].double().cpu()
    near = (scores - score_thr).abs() <= slack
    if not bool(near.any()):
        return set()
    iou = _box_iou(dets['boxes'][idx], dets['boxes'][near])
    return {i for i, row in zip(idx, iou) if float(row.max()) > 0.99}


def tie_flips(ours: Dict[str, Tensor], official: Dict[str, Tensor],
              pairs: List[tuple], tolerance: float,
              score_thr: Optional[float] = None) -> Tuple[bool, str]:
    """Whether every unmatched detection is explained by a near-tie.

    A near-tie is a score within ``tolerance x max|official score|`` of
    a decision: of the score threshold (the detection, and the others of
    its anchor, identified by their box, exist on one side only), or of the
    count cut (a detection scoring no higher than the other side's lowest
    kept score + the slack, which that side cut away; both sides then keep
    equally many).

    Args:
        ours (dict): ``boxes`` (n, 4), ``scores`` (n,), ``labels`` (n,).
        official (dict): The same keys, (m, ...).
        pairs (list[tuple[int, int]]): (official, our) index pairs.
        tolerance (float): Relative score tolerance.
        score_thr (float, optional): The score threshold of both sides.

    Returns:
        tuple[bool, str]: Whether all are explained, and a note (how many
        at the threshold and at the cut on each side).
    """
    o_left = sorted(set(range(len(official['boxes']))) -
                    {p[0] for p in pairs})
    u_left = sorted(set(range(len(ours['boxes']))) - {p[1] for p in pairs})
    if not pairs or not (o_left or u_left):
        return bool(pairs) or not (o_left or u_left), ''
    slack = tolerance * float(official['scores'].abs().max())
    o_thr = _threshold_tied(official, o_left, score_thr, slack)
    u_thr = _threshold_tied(ours, u_left, score_thr, slack)
    o_cut = [i for i in o_left if i not in o_thr]
    u_cut = [j for j in u_left if j not in u_thr]
    o_min = float(official['scores'].min())
    u_min = float(ours['scores'].min())
    ok = (not (o_cut or u_cut) or len(ours['boxes']) == len(
        official['boxes'])) and all(
            float(official['scores'][i]) <= u_min + slack for i in o_cut
        ) and all(float(ours['scores'][j]) <= o_min + slack for j in u_cut)
    note = (f'unmatched at the score threshold: official {len(o_thr)}, '
            f'ours {len(u_thr)}; at the count cut: official {len(o_cut)}, '
            f'ours {len(u_cut)} (ties within {tolerance:.0e})')
    return ok, note


def _unmatched(ours: Dict[str, Tensor], official: Dict[str, Tensor],
               pairs: List[tuple], limit: int = 3) -> str:
    """The first unmatched detections of each side: score, label, box and
    the best same-label IoU on the other side (what a reader needs to tell
    a tie at a threshold from a difference)."""
    parts = []
    for side, a, b, col in (('official', official, ours, 0),
                            ('ours', ours, official, 1)):
        done = {p[col] for p in pairs}
        left = [i for i in range(len(a['boxes'])) if i not in done][:limit]
        items = []
        for i in left:
            same = b['labels'].cpu() == a['labels'][i].cpu()
            iou = _box_iou(a['boxes'][i:i + 1], b['boxes'][same])
            best = float(iou.max()) if iou.numel() else 0.
            box = ', '.join(f'{v:.1f}' for v in a['boxes'][i].tolist())
            items.append(f'#{i} score {float(a["scores"][i]):.6g} label '
                         f'{int(a["labels"][i])} box [{box}] best IoU '
                         f'{best:.3f}')
        parts.append(f'{side}: ' + ('; '.join(items) or 'none'))
    return ' | '.join(parts)


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
                       mask_iou_min: float = MASK_IOU_MIN,
                       score_thr: Optional[float] = None) -> None:
    """Compare two sides' final detections and add rows to a report.

    Rows: ``{prefix}/count`` (every detection matched by label and box,
    except near-ties at the score threshold or the count cut, see
    :func:`tie_flips`), ``/boxes`` (max coordinate difference over matched
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
        score_thr (float, optional): Both sides' score threshold, for the
            near-ties at it.
    """
    n, m = len(ours['boxes']), len(official['boxes'])
    pairs = match_detections(ours, official)
    ok, note = tie_flips(ours, official, pairs, tolerance, score_thr)
    detail = f'ours {n} official {m} matched {len(pairs)}'
    if note:
        detail += f'; {note}'
    if len(pairs) < max(n, m):
        detail += '; unmatched: ' + _unmatched(ours, official, pairs)
    report.add_check(f'{prefix}/count', 0. if ok else float(abs(n - m) or 1),
                     ok, detail)
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
