"""The command-line tools, run as a user runs them."""
import glob
import os
import os.path as osp
import subprocess

import pytest
from conftest import PYTHON, REPO


def _run(args, **kwargs):
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    env.update(kwargs.pop('env', {}))
    return subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)


@pytest.mark.parametrize('tool,expected', [
    ('tools/train.py', '--resume'),
    ('tools/test.py', '--show-dir'),
    ('tools/browse_dataset.py', '--phase'),
    ('tools/misc/make_synthetic.py', '--captions-per-image'),
    ('tools/misc/extract_text_embeddings.py', '--templates'),
    ('tools/misc/make_ovd_split.py', 'lvis'),
    ('tools/model_converters/regionclip_to_mmregion.py', '--vocab-prefix'),
    ('tools/analysis_tools/benchmark_region_features.py', '--lvis-texts'),
    ('demo/image_demo.py', '--texts'),
    ('demo/video_demo.py', '--max-frames'),
    ('demo/webcam_demo.py', '--camera-id'),
    ('tools/model_converters/yolact_to_mmregion.py', '--square-anchors'),
    ('tools/misc/extract_concepts.py', '--min-freq'),
    ('tools/misc/export_student.py', '--prefix'),
    ('tools/analysis_tools/benchmark_yolact.py', '--bg-bias'),
    ('tools/misc/run_ovd_experiment.py', '--pretrain-iters'),
    ('tools/deployment/export_onnx.py', '--dynamic-batch'),
    ('tools/analysis_tools/benchmark_onnx.py', '--yolact-batches'),
    ('tools/misc/extract_region_features.py', '--proposals'),
    ('tools/analysis_tools/benchmark_fp16.py', '--threads'),
    ('tools/analysis_tools/official_parity.py', '--official-dir'),
])
def test_help(tool, expected):
    proc = _run([PYTHON, tool, '--help'])
    assert proc.returncode == 0, proc.stderr
    assert expected in proc.stdout


def test_make_synthetic_cli(tmp_path):
    out = str(tmp_path / 'shapes')
    proc = _run([
        PYTHON, 'tools/misc/make_synthetic.py', out, '--train', '3', '--val',
        '2', '--size', '64', '64'
    ])
    assert proc.returncode == 0, proc.stderr
    assert 'splits train=3, val=2' in proc.stdout
    assert len(glob.glob(osp.join(out, 'train', '*.png'))) == 3


def test_browse_dataset(tiny_config, tmp_path):
    out = str(tmp_path / 'browse')
    proc = _run([
        PYTHON, 'tools/browse_dataset.py',
        tiny_config(), '--output-dir', out, '-n', '3'
    ])
    assert proc.returncode == 0, proc.stderr
    assert 'wrote 3 images' in proc.stdout
    assert len(glob.glob(osp.join(out, '*.png'))) == 3


def test_dist_train_two_cpu_processes(tiny_config, tmp_path):
    work = str(tmp_path / 'dist')
    proc = _run(
        [
            'bash', 'tools/dist_train.sh',
            tiny_config(**{'train_cfg.max_epochs': 1}), '2', '--work-dir',
            work
        ],
        env=dict(PYTHON=PYTHON, PORT='29613'),
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    log = open(glob.glob(osp.join(work, '*', '*.log'))[0]).read()
    assert 'Distributed training: True' in log
    # 16 images, batch 2 per process: 4 iterations an epoch with 2 processes
    # (the sampler gives each rank half of the data), 8 with one.
    assert 'Epoch(train) [1][4/4]' in log
    assert glob.glob(osp.join(work, '*.pth')) == [osp.join(work,
                                                           'epoch_1.pth')]


def test_mim_train(tiny_config, tmp_path):
    work = str(tmp_path / 'mim')
    proc = _run(
        [
            osp.join(osp.dirname(PYTHON), 'mim'), 'train', 'mmregion',
            tiny_config(**{'train_cfg.max_epochs': 1}), '--work-dir', work
        ],
        timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'epoch_1.pth'))


def test_region_benchmark_runs():
    proc = _run(
        [
            PYTHON, 'tools/analysis_tools/benchmark_region_features.py',
            '--model', 'RN-tiny', '--size', '128', '160', '--boxes', '4',
            '--repeats', '1', '--lvis-texts'
        ],
        timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '| RoIAlign + res5 + attnpool |' in proc.stdout
    assert 'speed-up (crops / RoIAlign):' in proc.stdout
    assert '1203 LVIS names' in proc.stdout and 'cached' in proc.stdout
