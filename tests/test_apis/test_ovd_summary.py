"""Mean/std tables and checks of the multi-seed OVD experiment."""
import math

import pytest

from mmregion.apis import format_summary, summarise
from mmregion.apis.ovd_summary import mean_std


def _seed(teacher_novel, student_novel, ft_teacher, ft_student):
    def run(zs, ft):
        return dict(
            zero_shot=dict(novel_ap50=zs, base_ap50=0.5, all_ap50=0.4),
            fine_tuned=dict(novel_ap50=ft, base_ap50=0.6, all_ap50=0.5))

    return dict(
        runs=dict(CLIP=run(teacher_novel, ft_teacher),
                  RegionCLIP=run(student_novel, ft_student)),
        diagnostics=dict(
            recognition=dict(CLIP=dict(top1=0.3)),
            pseudo_labels=dict(accuracy=0.4, kept=0.9,
                               accuracy_novel=0.2)),
        seconds=dict(total=10.0))


def test_mean_std():
    assert mean_std([1.0]) == (1.0, 0.0)
    mean, std = mean_std([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == pytest.approx(1.0)


def test_summary_cells_gain_and_checks():
    seeds = [_seed(0.10, 0.20, 0.05, 0.12), _seed(0.12, 0.21, 0.04, 0.11),
             _seed(0.11, 0.22, 0.06, 0.12)]
    summary = summarise(seeds)
    mean, std = summary['cells']['RegionCLIP']['zero_shot/novel_ap50']
    assert mean == pytest.approx(0.21) and std == pytest.approx(0.01)
    gains = summary['novel_gain']['per_seed']
    assert gains == pytest.approx([0.10, 0.09, 0.11])
    assert summary['novel_gain']['std'] == pytest.approx(0.01)
    assert all(summary['checks'].values())
    assert summary['pseudo_accuracy'] == pytest.approx([0.4, 0.0])
    table = format_summary(summary, [s['seconds'] for s in seeds])
    assert '| RegionCLIP student | 21.0 ± 1.0 |' in table
    assert '+10.0, +9.0, +11.0 (mean +10.0, std 1.0)' in table
    assert table.count('- [x]') == 5
    # regions' recall not measured (older results): NaN, not an error
    assert math.isnan(summary['pseudo_recall_novel'][0])


def test_summary_fails_checks_when_student_loses_a_seed():
    seeds = [_seed(0.10, 0.20, 0.05, 0.01), _seed(0.12, 0.11, 0.04, 0.02)]
    checks = summarise(seeds)['checks']
    assert not checks['student > teacher zero-shot novel, every seed']
    assert not checks['fine-tuned student keeps >= half its zero-shot novel']
    assert not math.isnan(summarise(seeds)['novel_gain']['std'])


def test_fine_tuned_check_holds_in_every_seed_not_only_on_average():
    seeds = [_seed(0.10, 0.20, 0.05, 0.12), _seed(0.10, 0.20, 0.11, 0.10)]
    checks = summarise(seeds)['checks']
    assert checks['fine-tuned student > fine-tuned teacher on novel (mean)']
    assert not checks[
        'fine-tuned student > fine-tuned teacher on novel, every seed']
