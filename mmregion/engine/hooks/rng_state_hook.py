"""Save and restore random-number-generator states with checkpoints."""
import random
from typing import Optional

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make ``--resume`` continue the random streams where they stopped.

    mmengine re-seeds every run from ``randomness.seed`` but does not store
    the generators' states in checkpoints, so a resumed run draws different
    proposal samples, flips and crops than the uninterrupted run would have
    from the resumed iteration on. This hook stores the states of Python's
    ``random``, numpy's global generator and torch's CPU (and CUDA)
    generators under ``checkpoint['rng_state']`` and restores them when a
    checkpoint is resumed. Data-loader workers draw from their own seeded
    generators and are not affected.

    Checkpoints without ``rng_state`` (older ones, other codebases) resume as
    before, without a warning.
    """
    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Add the current generator states to ``checkpoint``.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint being written.
        """
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Restore the generator states of a resumed checkpoint.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The loaded checkpoint.
        """
        state: Optional[dict] = checkpoint.get('rng_state')
        if state is None or not runner._resume:
            return
        random.setstate(_as_python_state(state['python']))
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])


def _as_python_state(state) -> tuple:
    """``random.setstate`` needs tuples; a round trip may give lists."""
    version, internal, gauss = state
    return version, tuple(internal), gauss
