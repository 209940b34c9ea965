"""A pickled callable never runs through any of mmregion's loading paths."""
import os
import os.path as osp
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint

from mmregion.fileio import (
    TRUST_ENV,
    UntrustedCheckpointError,
    load_checkpoint_file,
)

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class _Payload:
    """Unpickling this calls ``os.system`` (the attack)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


class _Benign:

    def __init__(self):
        self.value = 7


def _malicious(tmp_path, state=None):
    """A checkpoint-shaped file whose pickle runs ``touch MARKER``."""
    marker = str(tmp_path / 'PWNED')
    path = str(tmp_path / 'evil.pth')
    torch.save(
        dict(state_dict=state or dict(w=torch.ones(2)),
             meta=dict(hook=_Payload(marker))), path)
    return path, marker


def _expect_refused(fn, path, marker):
    with pytest.raises(Exception) as info:
        fn()
    assert not osp.exists(marker), 'the pickled os.system ran'
    # Our own loaders name the file and the opt-in.
    return str(info.value)


def test_payload_really_runs_with_full_unpickling(tmp_path):
    """Sanity check of the fixture: a plain weights_only=False load runs it."""
    path, marker = _malicious(tmp_path)
    torch.load(path, weights_only=False)
    assert osp.exists(marker)


def test_refused_with_file_and_opt_in_named(tmp_path, monkeypatch):
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path, marker = _malicious(tmp_path)
    with pytest.raises(UntrustedCheckpointError) as info:
        load_checkpoint_file(path)
    message = str(info.value)
    assert not osp.exists(marker)
    assert path in message and '--trust-checkpoint' in message
    assert f'{TRUST_ENV}=1' in message and 'posix.system' in message
    assert len(message.splitlines()) == 1


def test_mmengine_paths_after_install(tmp_path, monkeypatch):
    """``load_from``/``--resume``/tools/test.py go through mmengine."""
    from mmregion.engine.checkpoint_loader import install, is_installed
    install()
    assert is_installed()
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path, marker = _malicious(tmp_path)
    msg = _expect_refused(
        lambda: CheckpointLoader.load_checkpoint(path, map_location='cpu'),
        path, marker)
    assert '--trust-checkpoint' in msg
    model = torch.nn.Linear(2, 2)
    _expect_refused(lambda: load_checkpoint(model, path), path, marker)


def test_model_and_tool_loaders(tmp_path, monkeypatch):
    """Every loader of ours: CLIP towers, vocabularies, converters, export."""
    from mmregion.apis.export import export_student
    from mmregion.converters.regionclip import load_regionclip_checkpoint
    from mmregion.converters.yolact import load_official_checkpoint
    from mmregion.models.backbones.clip_resnet import (
        CLIPResNet,
        load_clip_visual_state_dict,
    )
    from mmregion.models.language import CLIPTextEncoder, Vocabulary
    monkeypatch.delenv(TRUST_ENV, raising=False)
    path, marker = _malicious(tmp_path)
    loaders = [
        lambda: load_clip_visual_state_dict(path),
        lambda: CLIPResNet('RN-tiny', checkpoint=path).init_weights(),
        lambda: CLIPTextEncoder('RN-tiny', checkpoint=path),
        lambda: Vocabulary.load(path),
        lambda: load_official_checkpoint(path),
        lambda: load_regionclip_checkpoint(path),
        lambda: export_student(path, str(tmp_path / 'student.pth')),
    ]
    for load in loaders:
        msg = _expect_refused(load, path, marker)
        assert path in msg, msg
    assert not osp.exists(tmp_path / 'student.pth')


def test_tampered_torchscript_archive(tmp_path):
    """A TorchScript zip goes to torch.jit.load, whose unpickler builds no
    Python callables: a data.pkl swapped for the payload fails to load."""
    path = str(tmp_path / 'RN.pt')
    torch.jit.save(torch.jit.script(torch.nn.Linear(2, 2)), path)
    marker = str(tmp_path / 'PWNED')
    evil = str(tmp_path / 'evil.pt')
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(evil, 'w') as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename.endswith('/data.pkl'):
                data = pickle.dumps(_Payload(marker), protocol=2)
            dst.writestr(item, data)
    with pytest.raises(Exception):
        load_checkpoint_file(evil)
    assert not osp.exists(marker)
    # An intact archive loads as a ScriptModule.
    module = load_checkpoint_file(path)
    assert isinstance(module, torch.jit.ScriptModule)


def test_mmengine_checkpoint_loads_without_trust(tmp_path, monkeypatch):
    """What --resume files hold (HistoryBuffer, numpy) is allow-listed."""
    monkeypatch.delenv(TRUST_ENV, raising=False)
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(np.float64(2.5))
    path = str(tmp_path / 'ckpt.pth')
    torch.save(
        dict(meta=dict(epoch=1, iter=4, seed=np.int64(0)),
             state_dict=dict(w=torch.ones(2)),
             message_hub=dict(log_scalars={'train/loss': buf},
                              runtime_info=dict(arr=np.arange(3)))), path)
    ckpt = load_checkpoint_file(path, map_location='cpu')
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 2.5
    assert ckpt['meta']['iter'] == 4
    assert np.array_equal(ckpt['message_hub']['runtime_info']['arr'],
                          np.arange(3))


def test_trusted_files_load_fully(tmp_path, monkeypatch, mm_log):
    path = str(tmp_path / 'foreign.pth')
    torch.save(dict(obj=_Benign()), path)
    monkeypatch.delenv(TRUST_ENV, raising=False)
    with pytest.raises(UntrustedCheckpointError):
        load_checkpoint_file(path)
    assert load_checkpoint_file(path, trust=True)['obj'].value == 7
    monkeypatch.setenv(TRUST_ENV, '1')
    assert load_checkpoint_file(path)['obj'].value == 7
    assert any(path in line and 'trusted' in line for line in mm_log)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth can not be found'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_tools_test_refuses_the_payload(tmp_path, tiny_config):
    """The real CLI: tools/test.py on a config of ours (custom_imports names
    the safe loader) never runs the pickled call."""
    path, marker = _malicious(tmp_path)
    config = tiny_config()
    env = {k: v for k, v in os.environ.items() if k != TRUST_ENV}
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', config, path, '--work-dir',
         str(tmp_path / 'wd')],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert not osp.exists(marker), 'tools/test.py ran the pickled os.system'
    assert '--trust-checkpoint' in proc.stderr + proc.stdout
