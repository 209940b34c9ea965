"""mmregion.compat: the torch >= 2.6 bug the checkpoint loader fixes, and
the deprecated aliases of the loader's old home."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from mmregion import compat
from mmregion.fileio import load_checkpoint_file


def _mmengine_like_checkpoint(path):
    buf = HistoryBuffer()
    buf.update(1.5)
    torch.save(
        dict(meta=dict(iter=4, seed=np.int64(0)),
             state_dict=dict(w=torch.ones(2)),
             message_hub=dict(log_scalars={'train/loss': buf})), path)


def test_bare_torch_load_fails_this_is_the_bug(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError, match='Weights only load'):
        torch.load(path)


def test_deprecated_aliases_still_work(tmp_path):
    path = str(tmp_path / 'ckpt.pth')
    _mmengine_like_checkpoint(path)
    with pytest.warns(DeprecationWarning, match='load_checkpoint_file'):
        ckpt = compat.load_local_checkpoint(path)
    assert ckpt['meta']['iter'] == 4
    with pytest.warns(DeprecationWarning, match='checkpoint_loader'):
        compat.apply()
    assert CheckpointLoader._get_checkpoint_loader(path) is \
        load_checkpoint_file
