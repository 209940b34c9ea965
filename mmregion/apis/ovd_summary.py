"""Tables of the synthetic open-vocabulary experiment: one run, and the
mean and standard deviation of several seeds with the issue's checks."""
import math
from typing import Dict, List, Sequence, Tuple

NAMES = dict(random='random init', CLIP='tiny CLIP (teacher)',
             RegionCLIP='RegionCLIP student')
CELLS: Tuple[Tuple[str, str], ...] = (
    ('zero_shot', 'novel_ap50'), ('zero_shot', 'base_ap50'),
    ('fine_tuned', 'novel_ap50'), ('fine_tuned', 'base_ap50'),
    ('fine_tuned', 'all_ap50'))
"""(stage, metric) of each AP50 column."""
HEADER = ('| initialisation | zero-shot GT novel | zero-shot GT base | '
          'fine-tuned novel AP50 | fine-tuned base AP50 | '
          'fine-tuned all AP50 |')


def format_results(results: Dict[str, object],
                   runs: Sequence[str] = ('CLIP', 'RegionCLIP')) -> str:
    """The experiment's table (AP50 in percent).

    Args:
        results (dict): As :func:`run_ovd_experiment` returns.
        runs (Sequence[str]): Rows, in order.

    Returns:
        str: A Markdown table, the diagnostics (when measured) and the
        stage times.
    """
    lines = [HEADER, '| --- | --- | --- | --- | --- | --- |']
    for run in runs:
        values = [100 * results['runs'][run][s][m] for s, m in CELLS]
        lines.append(f'| {NAMES.get(run, run)} | ' +
                     ' | '.join(f'{v:.1f}' for v in values) + ' |')
    if results.get('diagnostics'):
        lines += ['', format_diagnostics(results['diagnostics'])]
    times = ', '.join(f'{k} {v:.0f}s' for k, v in results['seconds'].items())
    return '\n'.join(lines) + f'\n\nwall time: {times}'


def format_diagnostics(found: Dict[str, Dict[str, Dict[str, float]]]) -> str:
    """One line per tower (region top-1) and one for the pseudo labels.

    Args:
        found (dict): As :func:`diagnose` returns.

    Returns:
        str: The lines, accuracies in percent.
    """
    lines = []
    for name, rec in found['recognition'].items():
        lines.append(
            f'region top-1 on GT boxes, {NAMES.get(name, name)}: '
            f'{100 * rec["top1"]:.1f} (novel {100 * rec["top1_novel"]:.1f},'
            f' base {100 * rec["top1_base"]:.1f}; chance '
            f'{100 * rec["chance"]:.1f}, {rec["boxes"]:.0f} boxes)')
    pl = found['pseudo_labels']
    lines.append(
        f'pseudo labels: {100 * pl["kept"]:.1f}% of {pl["regions"]:.0f} '
        f'regions kept; accuracy on kept regions covering a shape '
        f'{100 * pl["accuracy"]:.1f} (novel '
        f'{100 * pl["accuracy_novel"]:.1f}, base '
        f'{100 * pl["accuracy_base"]:.1f}; unfiltered '
        f'{100 * pl["accuracy_unfiltered"]:.1f}); kept background regions '
        f'named as a shape {100 * pl["kept_shape_on_background"]:.1f}%; '
        f'regions cover {100 * pl.get("recall_novel", math.nan):.1f}% of '
        f'the novel and {100 * pl.get("recall_base", math.nan):.1f}% of the '
        f'base shapes')
    return '\n'.join(lines)


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value).

    Args:
        values (Sequence[float]): At least one value.

    Returns:
        tuple[float, float]: ``(mean, std)``.
    """
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean)**2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def summarise(seeds: List[Dict[str, object]]) -> Dict[str, object]:
    """Mean/std of every cell over seeds and the issue's checks.

    Args:
        seeds (list[dict]): One :func:`run_ovd_experiment` result each,
            with the ``CLIP`` and ``RegionCLIP`` runs.

    Returns:
        dict: ``cells`` (run → 'stage/metric' → [mean, std]),
        ``novel_gain`` (per-seed student − teacher zero-shot novel AP50,
        mean, std), ``checks`` (name → bool) and, when measured,
        ``pseudo_label_accuracy`` and ``kept`` ([mean, std]).
    """
    cells = {}
    for run in seeds[0]['runs']:
        cells[run] = {
            f'{s}/{m}': list(mean_std([r['runs'][run][s][m] for r in seeds]))
            for s, m in CELLS
        }
    zs = [(r['runs']['RegionCLIP']['zero_shot']['novel_ap50'],
           r['runs']['CLIP']['zero_shot']['novel_ap50']) for r in seeds]
    ft = [(r['runs']['RegionCLIP']['fine_tuned']['novel_ap50'],
           r['runs']['CLIP']['fine_tuned']['novel_ap50']) for r in seeds]
    gains = [s - t for s, t in zs]
    gain_mean, gain_std = mean_std(gains)
    out = dict(
        cells=cells,
        novel_gain=dict(per_seed=gains, mean=gain_mean, std=gain_std),
        checks={
            'student > teacher zero-shot novel, every seed':
            all(g > 0 for g in gains),
            'mean paired gain > 2 std': gain_mean > 2 * gain_std,
            'fine-tuned student keeps >= half its zero-shot novel':
            all(f[0] >= 0.5 * z[0] for f, z in zip(ft, zs)),
            'fine-tuned student > fine-tuned teacher on novel (mean)':
            mean_std([f[0] - f[1] for f in ft])[0] > 0,
            'fine-tuned student > fine-tuned teacher on novel, every seed':
            all(f[0] > f[1] for f in ft),
        })
    found = [r['diagnostics'] for r in seeds if r.get('diagnostics')]
    if found:
        for key in ('accuracy', 'kept', 'accuracy_novel', 'recall_novel',
                    'recall_base'):
            out[f'pseudo_{key}'] = list(
                mean_std([d['pseudo_labels'].get(key, math.nan)
                          for d in found]))
        for name in found[0]['recognition']:
            out[f'top1_{name}'] = list(
                mean_std([d['recognition'][name]['top1'] for d in found]))
    return out


def format_summary(summary: Dict[str, object],
                   seconds: List[Dict[str, float]]) -> str:
    """The multi-seed table: mean ± std per cell (AP50 in percent).

    Args:
        summary (dict): As :func:`summarise` returns.
        seconds (list[dict]): Stage times of each seed.

    Returns:
        str: Markdown table, the paired gain, the checks and times.
    """
    lines = [HEADER, '| --- | --- | --- | --- | --- | --- |']
    for run, cells in summary['cells'].items():
        lines.append(f'| {NAMES.get(run, run)} | ' + ' | '.join(
            f'{100 * cells[f"{s}/{m}"][0]:.1f} ± '
            f'{100 * cells[f"{s}/{m}"][1]:.1f}' for s, m in CELLS) + ' |')
    gain = summary['novel_gain']
    lines += [
        '', 'student − teacher zero-shot novel AP50 per seed: ' +
        ', '.join(f'{100 * g:+.1f}' for g in gain['per_seed']) +
        f' (mean {100 * gain["mean"]:+.1f}, std {100 * gain["std"]:.1f})'
    ]
    for key, value in summary.items():
        if key.startswith(('pseudo_', 'top1_')):
            lines.append(f'{key}: {100 * value[0]:.1f} ± '
                         f'{100 * value[1]:.1f}%')
    lines += [f'- [{"x" if ok else " "}] {name}'
              for name, ok in summary['checks'].items()]
    for i, times in enumerate(seconds):
        lines.append(f'seed {i} wall time: ' + ', '.join(
            f'{k} {v:.0f}s' for k, v in times.items()))
    return '\n'.join(lines)
