"""Atomic writes leave the old file or the complete new one."""
import json
import os
import pickle

import pytest
import torch

from mmregion.fileio import atomic_open, atomic_save, dump_json_atomic


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / 'split.json'
    dump_json_atomic(dict(a=1), str(path))
    with pytest.raises(RuntimeError):
        with atomic_open(str(path)) as f:
            f.write('{"a": 2, "trunc')
            raise RuntimeError('killed')
    assert json.loads(path.read_text()) == dict(a=1)
    assert os.listdir(tmp_path) == ['split.json']  # no temporary left


def test_new_file_and_folder(tmp_path):
    path = tmp_path / 'sub' / 'emb.pth'
    atomic_save(dict(x=torch.arange(3)), str(path))
    assert torch.equal(torch.load(path)['x'], torch.arange(3))
    with pytest.raises(ValueError, match="mode must be 'w' or 'wb'"):
        with atomic_open(str(path), 'a'):
            pass


def test_failed_first_write_leaves_nothing(tmp_path):
    path = tmp_path / 'ckpt.pth'
    with pytest.raises((TypeError, AttributeError, pickle.PicklingError)):
        atomic_save(dict(f=lambda: 0), str(path))  # lambdas do not pickle
    assert os.listdir(tmp_path) == []
