"""The torch >= 2.6 checkpoint-loading fix (mmregion.compat)."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from mmregion.compat import load_local_checkpoint


def _mmengine_like_checkpoint(path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(np.float64(2.5))
    torch.save(
        dict(
            meta=dict(epoch=1, iter=4, seed=np.int64(0)),
            state_dict=dict(w=torch.ones(2)),
            message_hub=dict(log_scalars={'train/loss': buf},
                             runtime_info=dict(arr=np.arange(3)))), path)


def test_bare_torch_load_fails_this_is_the_bug(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(path)


def test_mmengine_uses_our_loader_and_it_loads_safely(tmp_path, mm_log):
    path = tmp_path / 'ckpt.pth'
    _mmengine_like_checkpoint(path)
    assert CheckpointLoader._get_checkpoint_loader(str(path)) is \
        load_local_checkpoint
    ckpt = _load_checkpoint(str(path), map_location='cpu')
    assert not mm_log  # the weights_only path was enough
    buf = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buf, HistoryBuffer)
    assert buf.current() == 2.5
    assert ckpt['meta']['iter'] == 4
    assert np.array_equal(ckpt['message_hub']['runtime_info']['arr'],
                          np.arange(3))


class _Custom:

    def __init__(self):
        self.value = 7


def test_other_pickles_load_with_a_named_warning(tmp_path, mm_log):
    path = tmp_path / 'foreign.pth'
    torch.save(dict(obj=_Custom()), path)
    ckpt = load_local_checkpoint(str(path))
    assert ckpt['obj'].value == 7
    assert str(path) in mm_log[0] and 'weights_only=False' in mm_log[0]


def test_missing_checkpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth can not be found'):
        load_local_checkpoint(str(tmp_path / 'nope.pth'))
