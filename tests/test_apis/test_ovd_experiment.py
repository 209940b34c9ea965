"""The end-to-end open-vocabulary experiment, at toy scale."""
import json
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from mmregion.apis import format_results, run_ovd_experiment
from mmregion.models.backbones import CLIPResNet


def test_experiment_runs_every_stage(shapes_root, tmp_path, monkeypatch):
    # as from the command line: no default registry scope set beforehand
    DefaultScope._instance_dict.clear()
    loaded = []
    load = CLIPResNet.load_clip_weights

    def record(self, path):
        loaded.append(osp.basename(path))
        return load(self, path)

    monkeypatch.setattr(CLIPResNet, 'load_clip_weights', record)
    lines = []
    results = run_ovd_experiment(
        data_root=shapes_root,
        work_dir=str(tmp_path / 'exp'),
        clip_epochs=1,
        clip_batch_size=8,
        clip_positives=True,
        pretrain_iters=2,
        pretrain_recipe='grounded',
        offline_rpn_epochs=1,
        rpn_regions=8,
        finetune_epochs=1,
        concept_min_freq=1,
        num_workers=0,
        threads=None,
        pretrain_options={
            'train_dataloader.batch_size': 2,
        },
        finetune_options={'train_dataloader.batch_size': 2},
        diagnostics='val',
        diagnostics_limit=4,
        log=lines.append)
    assert set(results['runs']) == {'CLIP', 'RegionCLIP'}
    for run in results['runs'].values():
        for stage in ('zero_shot', 'fine_tuned'):
            assert set(run[stage]) == {'novel_ap50', 'base_ap50', 'all_ap50'}
            assert all(0.0 <= v <= 1.0 for v in run[stage].values())
    assert {'hexagon', 'heart', 'circle'} <= set(results['concepts'])
    saved = json.load(open(osp.join(tmp_path, 'exp', 'results.json')))
    assert saved['runs'] == results['runs']
    table = format_results(results)
    assert table.splitlines()[2].startswith('| tiny CLIP (teacher) |')
    assert table.splitlines()[3].startswith('| RegionCLIP student |')
    assert lines[-1] == table
    found = results['diagnostics']
    assert set(found['recognition']) == {'random', 'CLIP', 'RegionCLIP'}
    for rec in found['recognition'].values():
        assert rec['chance'] == 1 / 8 and rec['boxes'] > 0
        assert 0.0 <= rec['top1'] <= 1.0
    pseudo = found['pseudo_labels']
    assert 0.0 <= pseudo['kept'] <= 1.0 and pseudo['regions'] > 0
    assert 'pseudo labels:' in table
    assert osp.isfile(osp.join(tmp_path, 'exp', 'offline_rpn',
                               'epoch_1.pth'))
    assert {'tiny_clip', 'offline_rpn', 'pretrain', 'diagnostics',
            'zero_shot_clip', 'finetune_regionclip',
            'total'} <= set(results['seconds'])
    assert osp.isfile(osp.join(tmp_path, 'exp', 'student_rn-tiny.pth'))
    # the pretraining teacher, the diagnostics (teacher, student, the
    # pseudo-labelling teacher), then zero-shot and fine-tuning of each run
    # start from the weights they name
    clip, student = 'clip_rn-tiny.pth', 'student_rn-tiny.pth'
    assert loaded == [clip, clip, student, clip] + [clip] * 2 + [student] * 2

    # again with reuse: the teacher, offline RPN and student are read, not
    # trained; the student is fine-tuned again
    exp = tmp_path / 'exp'
    kept = {f: osp.getmtime(exp / f) for f in
            (clip, student, 'emb_rn-tiny_all.pth', 'offline_rpn/epoch_1.pth')}
    lines.clear()
    again = run_ovd_experiment(
        data_root=shapes_root, work_dir=str(exp), clip_epochs=1,
        pretrain_recipe='grounded', offline_rpn_epochs=1, rpn_regions=8,
        finetune_epochs=1, num_workers=0, threads=None, reuse=True,
        runs=('RegionCLIP', ),
        finetune_options={'train_dataloader.batch_size': 2},
        log=lines.append)
    assert again['reused'] == ['tiny_clip', 'offline_rpn', 'pretrain']
    assert {f: osp.getmtime(exp / f) for f in kept} == kept
    assert set(again['concepts']) == set(results['concepts'])
    assert 'tiny_clip' not in again['seconds']
    assert 'finetune_regionclip' in again['seconds']
    assert lines[1].startswith('[ovd experiment] tiny_clip: reusing ')
    assert json.load(open(exp / 'results.json'))['reused'] == again['reused']


@pytest.mark.parametrize('changes, message', [
    (dict(offline_rpn_epochs=-1), 'offline_rpn_epochs must be >= 0'),
    (dict(rpn_regions=0), 'rpn_regions >= 1, got 0 and 0'),
    (dict(pretrain_recipe='paper'), "unknown pretrain_recipe 'paper'"),
])
def test_bad_settings_are_named_before_any_stage(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        run_ovd_experiment(data_root=str(tmp_path / 'none'),
                           work_dir=str(tmp_path / 'exp'), **changes)
    assert not (tmp_path / 'exp').exists()
