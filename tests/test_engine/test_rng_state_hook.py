import random
from types import SimpleNamespace

import numpy as np
import torch

from mmregion.engine import RNGStateHook


def test_states_round_trip_on_resume():
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    random.seed(123)
    np.random.seed(123)
    torch.manual_seed(123)
    hook.after_load_checkpoint(SimpleNamespace(_resume=True), checkpoint)
    assert (random.random(), np.random.rand(),
            torch.rand(1).item()) == expected


def test_load_from_does_not_touch_states():
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(None, checkpoint)
    torch.manual_seed(7)
    expected = torch.rand(1).item()
    torch.manual_seed(7)
    hook.after_load_checkpoint(SimpleNamespace(_resume=False), checkpoint)
    assert torch.rand(1).item() == expected


def test_checkpoint_without_states_is_fine():
    torch.manual_seed(5)
    expected = torch.rand(1).item()
    torch.manual_seed(5)
    RNGStateHook().after_load_checkpoint(SimpleNamespace(_resume=True), {})
    assert torch.rand(1).item() == expected
