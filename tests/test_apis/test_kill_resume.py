"""Nothing lost: SIGKILL during training, then ``--resume``; writes killed
midway leave the old file (or none), never a truncated one."""
import glob
import json
import os
import os.path as osp
import signal
import subprocess
import time

import pytest
import torch
from conftest import PYTHON, REPO

PAUSE_HOOK = '''
import os, time
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class PauseAtIterHook(Hook):
    """Waits after iteration $PAUSE_AT_ITER (1-based) so that the test can
    kill the process there; draws no random numbers."""
    priority = 'LOWEST'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if os.environ.get('PAUSE_AT_ITER') == str(runner.iter + 1):
            open(os.environ['PAUSE_MARKER'], 'w').close()
            time.sleep(600)
'''


def _env(tmp_path, **extra):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, str(tmp_path)]),
               OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')
    env.update(extra)
    return env


def _losses(work_dir):
    """Step → loss of every run in ``work_dir``, later runs winning."""
    losses = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        for line in open(path):
            rec = json.loads(line)
            if 'loss' in rec and 'lr' in rec:
                losses[rec['step']] = rec['loss']
    return losses


def _wait_for(path, proc, timeout=600):
    start = time.time()
    while not osp.exists(path):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() - start < timeout, f'{path} never appeared'
        time.sleep(0.2)


def test_sigkill_then_resume_gives_the_uninterrupted_losses(
        tiny_config, tmp_path):
    (tmp_path / 'pause_hook.py').write_text(PAUSE_HOOK)
    cfg = tiny_config(
        custom_imports=dict(
            imports=['mmregion', 'mmregion.engine.checkpoint_loader',
                     'pause_hook'],
            allow_failed_imports=False),
        custom_hooks=[dict(type='RNGStateHook'),
                      dict(type='PauseAtIterHook')])
    full, part = str(tmp_path / 'full'), str(tmp_path / 'part')
    marker = str(tmp_path / 'paused')
    train = [PYTHON, osp.join(REPO, 'tools', 'train.py'), cfg, '--work-dir']
    # 16 images, batch 2: 8 iterations an epoch, epoch_1.pth after step 8;
    # the second run is killed in epoch 2, after step 11.
    uninterrupted = subprocess.Popen(
        train + [full], env=_env(tmp_path), cwd=str(tmp_path),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    killed = subprocess.Popen(
        train + [part], env=_env(tmp_path, PAUSE_AT_ITER='11',
                                 PAUSE_MARKER=marker),
        cwd=str(tmp_path), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    _wait_for(marker, killed)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    assert killed.returncode == -signal.SIGKILL
    assert sorted(_losses(part)) == list(range(1, 12))
    assert open(osp.join(part, 'last_checkpoint')).read().endswith(
        'epoch_1.pth')

    resumed = subprocess.run(
        train + [part, '--resume'], env=_env(tmp_path), cwd=str(tmp_path),
        capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert uninterrupted.wait(timeout=600) == 0, \
        uninterrupted.stderr.read()[-3000:]
    assert 'resumed epoch: 1, iter: 8' in resumed.stdout
    dumped = open(osp.join(part, osp.basename(cfg))).read()
    assert "type='AtomicCheckpointHook'" in dumped

    expected, got = _losses(full), _losses(part)
    assert sorted(expected) == sorted(got) == list(range(1, 17))
    for step in range(9, 17):  # every iteration after the resumed one
        assert got[step] == expected[step], step


WRITER = r'''
import os, sys, time
kind, path = sys.argv[1:3]


class HalfThenHang:
    """A file whose first write puts half of the data on disk, then hangs
    (a process killed in the middle of a large write)."""

    def __init__(self, f):
        self.f = f

    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        print('writing', flush=True)
        time.sleep(600)

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)


def slow_open(*args, **kwargs):
    return HalfThenHang(open(*args, **kwargs))


import torch
from mmengine.fileio.backends import local_backend
import mmregion.fileio.atomic as atomic
from mmengine.runner.checkpoint import save_checkpoint
local_backend.open = slow_open
atomic.open = slow_open
checkpoint = dict(state_dict=dict(w=torch.ones(1000)))
if kind == 'mmengine':  # what CheckpointHook does
    save_checkpoint(checkpoint, path)
elif kind == 'atomic_checkpoint':  # what AtomicCheckpointHook does
    import mmregion.engine  # noqa: registers the atomic_local backend
    save_checkpoint(checkpoint, path,
                    backend_args=dict(backend='atomic_local'))
elif kind == 'last_checkpoint':
    from mmengine.hooks import checkpoint_hook
    from mmregion.engine.hooks.atomic_checkpoint_hook import (
        _atomic_text_writes)
    with _atomic_text_writes():
        with checkpoint_hook.open(path, 'w') as f:
            f.write('work_dirs/run/epoch_2.pth')
elif kind == 'json':
    from mmregion.fileio import dump_json_atomic
    dump_json_atomic(dict(images=list(range(1000))), path)
'''


def _kill_when_writing(proc) -> None:
    """SIGKILL the writer once it says it is in the middle of its write."""
    lines = []
    while True:
        line = proc.stdout.readline()
        lines.append(line)
        if line in ('writing\n', ''):  # '': it exited
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert line == 'writing\n', ''.join(lines) + proc.stderr.read()[-3000:]


def test_writes_killed_midway(tmp_path):
    (tmp_path / 'writer.py').write_text(WRITER)
    old = {
        'mmengine': None,
        'atomic_checkpoint': None,
        'last_checkpoint': 'work_dirs/run/epoch_1.pth',
        'json': '{"images": []}',
        'new_json': None
    }
    procs = {}
    for kind, content in old.items():
        path = tmp_path / kind
        if kind == 'new_json':
            pass  # a first write: no old file
        elif content is None:
            torch.save(dict(state_dict=dict(w=torch.zeros(1000))), path)
        else:
            path.write_text(content)
        procs[kind] = subprocess.Popen(
            [PYTHON, str(tmp_path / 'writer.py'),
             kind.replace('new_', ''), str(path)],
            env=_env(tmp_path), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
    before = {k: (tmp_path / k).read_bytes() for k in old if k != 'new_json'}
    for kind, proc in procs.items():
        _kill_when_writing(proc)

    # mmengine's own save (the bug): a truncated checkpoint that
    # --resume cannot read
    truncated = tmp_path / 'mmengine'
    assert 0 < truncated.stat().st_size < len(before['mmengine'])
    from mmregion.fileio import CorruptCheckpointError, load_checkpoint_file
    with pytest.raises(CorruptCheckpointError, match='not a readable'):
        load_checkpoint_file(str(truncated))
    # ours: the old file, untouched; the partial write is a hidden
    # temporary file beside it, which no reader opens
    for kind in ('atomic_checkpoint', 'last_checkpoint', 'json'):
        assert (tmp_path / kind).read_bytes() == before[kind], kind
        assert glob.glob(str(tmp_path / f'.{kind}.tmp*')), kind
    assert not (tmp_path / 'new_json').exists()  # killed first write: none
    state = load_checkpoint_file(str(tmp_path / 'atomic_checkpoint'))
    assert torch.equal(state['state_dict']['w'], torch.zeros(1000))
