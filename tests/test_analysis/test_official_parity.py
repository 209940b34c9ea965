"""The official-code parity harness.

The harness runs (one test per registered model) only where the official
clones are present: ``MMREGION_OFFICIAL_DIR`` names the folder holding them
(``yolact/``, ``RegionCLIP/``; docs/parity.md). The report, the official
import machinery and the CLI's errors are tested everywhere.
"""
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from mmregion.analysis.parity import (
    CLONES,
    Documented,
    ParityOptions,
    ParityReport,
    ParityUserError,
    add_detection_rows,
    load_documented_differences,
    load_runners,
    official_code,
    pair_ranked,
    relative_error,
    run_parity,
)
from mmregion.analysis.parity.official import (
    OfficialCodeError,
    modulated_deform_conv_module,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
OFFICIAL_DIR = os.environ.get('MMREGION_OFFICIAL_DIR')


@pytest.mark.parametrize('name', sorted(load_runners()))
def test_official_parity(name):
    if not OFFICIAL_DIR:
        pytest.skip('MMREGION_OFFICIAL_DIR is not set (the folder with the '
                    'official clones, docs/parity.md)')
    report = run_parity(
        name, ParityOptions(osp.join(OFFICIAL_DIR, CLONES[name])))
    print(report.format())
    assert report.passed, report.decision()


def test_relative_error():
    official = torch.tensor([1., -4., 2.])
    assert relative_error(official.clone(), official) == 0
    assert relative_error(official + torch.tensor([0., 0., 1e-3]),
                          official) == pytest.approx(2.5e-4, rel=1e-3)
    assert relative_error(official[:2], official) == float('inf')
    nan = torch.tensor([float('nan'), 1.])
    assert relative_error(torch.tensor([0., 1.]), nan) == float('inf')
    assert relative_error(torch.zeros(0), torch.zeros(0)) == 0


def test_report_names_first_difference_and_documented():
    doc = Documented('yolact_*', 'raw_*/input', 1e-3, 'uint8 resize')
    report = ParityReport('yolact_resnet50', documented=[doc])
    x = torch.linspace(-1, 1, 11)
    report.add_tensor('shared/backbone.c3', x, x)
    row = report.add_tensor('raw_550x550/input', x + 5e-4, x)
    assert row.status == 'documented' and report.passed
    report.add_tensor('raw_550x550/fpn.p3', x + 2e-4, x)
    report.add_tensor('raw_550x550/fpn.p4', x + 1., x)
    assert not report.passed
    assert report.first_failure().name == 'raw_550x550/fpn.p3'
    assert 'first difference raw_550x550/fpn.p3' in report.decision()
    text = report.format()
    assert 'documented (bound 1.0e-03): uint8 resize' in text
    assert re.search(r'raw_550x550/fpn.p4 +1\.00e\+00 +FAIL', text)
    # a documented difference beyond its bound fails
    report = ParityReport('yolact_base', documented=[doc])
    report.add_tensor('raw_1/input', x + 0.1, x)
    assert not report.passed and 'documented bound' in report.decision()


def _dets(boxes, scores, labels, masks=None):
    out = dict(boxes=torch.tensor(boxes, dtype=torch.float32),
               scores=torch.tensor(scores), labels=torch.tensor(labels))
    if masks is not None:
        out['masks'] = masks
    return out


def test_detection_rows():
    masks = torch.zeros(2, 8, 8, dtype=torch.bool)
    masks[0, :4, :4] = True
    masks[1, 4:, 4:] = True
    official = _dets([[0, 0, 4, 4], [4, 4, 8, 8]], [0.9, 0.8], [1, 2], masks)
    # ours in another order, one box one pixel off
    ours = _dets([[4, 4, 8, 9], [0, 0, 4, 4]], [0.8, 0.9], [2, 1],
                 masks.flip(0))
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official, box_atol=1.)
    assert [r.name for r in report.rows] == [
        'dets/count', 'dets/boxes', 'dets/scores', 'dets/mask_iou']
    assert report.passed
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official, box_atol=0.)
    assert report.first_failure().name == 'dets/boxes'
    # a wrong label leaves a detection unmatched; a flipped pixel lowers IoU
    report = ParityReport('m')
    wrong = _dets([[0, 0, 4, 4], [4, 4, 8, 8]], [0.9, 0.8], [3, 2], masks)
    add_detection_rows(report, 'dets', wrong, official)
    assert report.first_failure().name == 'dets/count'
    assert 'matched 1' in report.rows[0].detail
    # the unmatched detections are named, with the best same-label IoU
    assert ('official: #0 score 0.9 label 1 box [0.0, 0.0, 4.0, 4.0] '
            'best IoU 0.000') in report.rows[0].detail
    assert 'ours: #0 score 0.9 label 3' in report.rows[0].detail
    flipped = masks.clone()
    flipped[0, 0, :2] = False  # two threshold flips: allowed
    report = ParityReport('m')
    add_detection_rows(report, 'dets', _dets(
        [[0, 0, 4, 4], [4, 4, 8, 8]], [0.9, 0.8], [1, 2], flipped), official)
    assert report.passed and report.rows[-1].error == pytest.approx(2 / 16)
    flipped[0, 0, 2] = False  # three of 16 pixels: a difference
    report = ParityReport('m')
    add_detection_rows(report, 'dets', _dets(
        [[0, 0, 4, 4], [4, 4, 8, 8]], [0.9, 0.8], [1, 2], flipped), official)
    assert report.first_failure().name == 'dets/mask_iou'


def test_rank_flip_at_the_count_cut_is_not_a_difference():
    official = _dets([[0, 0, 4, 4], [10, 10, 14, 14]], [0.9, 0.1], [1, 2])
    # ours kept another box whose score ties with the last official one
    ours = _dets([[0, 0, 4, 4], [20, 20, 24, 24]], [0.9, 0.1 + 1e-6], [1, 3])
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.passed
    assert 'at the count cut: official 1, ours 1' in report.rows[0].detail
    ours['scores'][1] = 0.2  # not a tie: a different detection
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.first_failure().name == 'dets/count'


def test_a_score_at_the_threshold_may_drop_its_anchor_on_one_side():
    # the official anchor at [50, 50, 60, 60] passed the 0.05 threshold by
    # 1e-7 (two classes kept), ours fell below it; ours kept two
    # detections the official cut at 4
    official = _dets([[0, 0, 4, 4], [50, 50, 60, 60], [50, 50, 60, 60],
                      [9, 9, 19, 19]], [0.9, 0.0500001, 0.04, 0.03],
                     [1, 2, 3, 4])
    ours = _dets([[0, 0, 4, 4], [9, 9, 19, 19], [30, 30, 40, 40],
                  [70, 70, 80, 80]], [0.9, 0.03, 0.029, 0.028], [1, 4, 5, 6])
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official, score_thr=0.05)
    assert report.passed, report.rows[0].detail
    assert ('at the score threshold: official 2, ours 0; at the count '
            'cut: official 0, ours 2') in report.rows[0].detail
    # without the threshold nothing explains them
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.first_failure().name == 'dets/count'
    # a detection far from the threshold is a difference
    official['scores'][1] = 0.06
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official, score_thr=0.05)
    assert report.first_failure().name == 'dets/count'


def test_ranked_proposals_pair_within_ties_only():
    boxes = torch.tensor([[0., 0, 4, 4], [1, 1, 5, 5], [2, 2, 6, 6],
                          [3, 3, 7, 7]])
    scores = torch.tensor([0.9, 0.5, 0.5 - 1e-6, 0.1])
    # distinct scores: positional
    oi, ui, note = pair_ranked(scores, boxes, scores, boxes)
    assert oi.tolist() == ui.tolist() == [0, 1, 2, 3] and note == ''
    # two tied proposals in swapped order pair with their own boxes
    swap = torch.tensor([0, 2, 1, 3])
    oi, ui, note = pair_ranked(scores[swap], boxes[swap], scores, boxes)
    assert ui.tolist() == [0, 2, 1, 3]
    assert note.startswith('2 of 4 pairs out of position')
    assert torch.equal(boxes[swap][ui], boxes[oi])
    # swapped boxes whose scores do not tie stay positional: the boxes
    # row then shows the difference
    far = torch.tensor([0.9, 0.5, 0.3, 0.1])
    oi, ui, _ = pair_ranked(far, boxes[swap], far, boxes)
    assert ui.tolist() == [0, 1, 2, 3]
    assert not torch.equal(boxes[swap][ui], boxes[oi])


def test_integer_boxes_may_flip_only_at_an_integer():
    official = _dets([[10, 20, 30, 40]], [0.9], [1])
    official['boxes_float'] = torch.tensor([[10.0004, 20.5, 30.2, 40.7]])
    ours = _dets([[9, 20, 30, 40]], [0.9], [1])  # 9.9999... truncated
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.passed and '1 of 4 coordinates' in report.rows[1].detail
    ours = _dets([[10, 20, 31, 40]], [0.9], [1])  # 30.2 cannot give 31
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.first_failure().name == 'dets/boxes'
    # float boxes against integer ones (no truncation on our side) fail
    ours = _dets([[10.0004, 20.5, 30.2, 40.7]], [0.9], [1])
    report = ParityReport('m')
    add_detection_rows(report, 'dets', ours, official)
    assert report.first_failure().name == 'dets/boxes'


def test_documented_differences_file_and_errors(tmp_path):
    entries = load_documented_differences()
    assert all(e.bound >= 0 and e.reason for e in entries)
    bad = tmp_path / 'bad.yaml'
    bad.write_text('- {model: a, row: b, bound: -1, reason: r}\n')
    with pytest.raises(ValueError, match='entry 0 .b.: bound must be'):
        load_documented_differences(str(bad))
    bad.write_text('- {model: a, row: b}\n')
    with pytest.raises(ValueError, match='exactly the keys'):
        load_documented_differences(str(bad))


def test_docs_mirror_documented_differences():
    """docs/parity.md lists every documented difference with its bound."""
    with open(osp.join(REPO, 'docs', 'parity.md')) as f:
        docs = f.read()
    for entry in load_documented_differences():
        line = f'| `{entry.model}` | `{entry.row}` | {entry.bound:.0e} |'
        assert line in docs, f'docs/parity.md lacks the row {line}'


def test_official_code_patches_and_cleans_up(tmp_path):
    (tmp_path / 'marker.py').write_text('import numpy\nX = numpy.float\n')
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data' / '__init__.py').write_text('Y = 1\n')
    cwd, path = os.getcwd(), list(sys.path)
    with official_code(str(tmp_path), ['marker.py'], 'me/x') as code:
        import data  # noqa: F401  (the clone's, not any other)
        import marker
        assert marker.X is float and data.Y == 1
        assert os.getcwd() == str(tmp_path)
        assert any('np.float' in n for n in code.notes)
        if not torch.cuda.is_available():
            assert torch.zeros(1).cuda().device.type == 'cpu'
    assert 'marker' not in sys.modules and 'data' not in sys.modules
    assert not hasattr(np, 'float') and os.getcwd() == cwd
    assert sys.path == path
    if not torch.cuda.is_available():
        with pytest.raises((AssertionError, RuntimeError)):
            torch.zeros(1).cuda()
    with pytest.raises(OfficialCodeError, match='missing nothere.py'):
        with official_code(str(tmp_path), ['nothere.py'], 'me/x'):
            pass
    with pytest.raises(OfficialCodeError, match='does not exist'):
        with official_code(str(tmp_path / 'no'), [], 'me/x'):
            pass


def test_dcn_substitute_matches_torchvision():
    from torchvision.ops import deform_conv2d
    module = modulated_deform_conv_module('dcn_v2', 'DCN', 'note')
    torch.manual_seed(0)
    dcn = module.DCN(4, 6, 3, stride=2, padding=1)
    assert sorted(k for k, _ in dcn.named_parameters()) == [
        'bias', 'conv_offset_mask.bias', 'conv_offset_mask.weight',
        'weight']
    with torch.no_grad():
        for p in dcn.parameters():
            p.normal_(0, 0.3)
    x = torch.randn(1, 4, 9, 11)
    out = dcn(x)
    o1, o2, mask = torch.chunk(dcn.conv_offset_mask(x), 3, dim=1)
    ref = deform_conv2d(x, torch.cat((o1, o2), 1), dcn.weight, dcn.bias,
                        stride=2, padding=1, mask=mask.sigmoid())
    assert out.shape == (1, 6, 5, 6)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)


def test_yolact_models_are_registered():
    models = load_runners()
    names = {'yolact_resnet50', 'yolact_base', 'yolact_plus_resnet50',
             'yolact_plus_base'}
    assert names <= set(models)
    assert {CLONES[n] for n in names} == {'yolact'}


def test_run_parity_makes_paths_absolute(tmp_path, monkeypatch):
    from mmregion.analysis.parity import registry
    seen = {}

    def runner(name, options):
        seen.update(vars(options))
        return ParityReport(name)

    monkeypatch.setitem(registry.MODELS, 'fake', runner)
    monkeypatch.setattr(registry, 'load_runners', lambda: registry.MODELS)
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'w.pth').write_bytes(b'')
    run_parity('fake', ParityOptions('clone', 'w.pth', 'out/dir'))
    assert seen['official_dir'] == str(tmp_path / 'clone')
    assert seen['checkpoint'] == str(tmp_path / 'w.pth')
    assert seen['work_dir'] == str(tmp_path / 'out' / 'dir')
    assert (tmp_path / 'out' / 'dir').is_dir()


def test_run_parity_user_errors(tmp_path):
    with pytest.raises(ParityUserError, match='unknown model .nope.'):
        run_parity('nope', ParityOptions(str(tmp_path)))
    with pytest.raises(ParityUserError, match='is not a dbolya/yolact clone'):
        run_parity('yolact_resnet50', ParityOptions(str(tmp_path)))
    with pytest.raises(ParityUserError, match='checkpoint .*no.pth does not'):
        run_parity('yolact_resnet50',
                   ParityOptions(str(tmp_path), str(tmp_path / 'no.pth')))


def test_cli_errors(tmp_path):
    tool = osp.join(REPO, 'tools', 'analysis_tools', 'official_parity.py')
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.run(
        [sys.executable, tool, '--official-dir', str(tmp_path), '--model',
         'nope'], capture_output=True, text=True, env=env, cwd=REPO)
    assert proc.returncode == 2
    assert proc.stderr.strip().count('\n') == 0
    assert proc.stderr.startswith("error: unknown model 'nope'")
