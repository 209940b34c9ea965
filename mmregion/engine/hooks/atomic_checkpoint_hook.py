"""A CheckpointHook whose files are never left half-written."""
import builtins
import contextlib
from typing import Any, Iterator, Optional
from unittest import mock

from mmdet.registry import HOOKS
from mmengine.hooks import CheckpointHook
from mmengine.hooks import checkpoint_hook as checkpoint_hook_module

from ...fileio import atomic_open
from ..atomic_local_backend import ATOMIC_BACKEND


def _is_local(path: Optional[str]) -> bool:
    return path is None or '://' not in str(path)


@contextlib.contextmanager
def _atomic_text_writes() -> Iterator[None]:
    """Within the block, ``open(path, 'w')`` in mmengine's checkpoint hook
    module writes atomically (the ``last_checkpoint`` file); reads and other
    modules are untouched."""

    def _open(file: Any, mode: str = 'r', *args: Any, **kwargs: Any):
        if mode == 'w':
            return atomic_open(file, 'w')
        return builtins.open(file, mode, *args, **kwargs)

    with mock.patch.object(
            checkpoint_hook_module, 'open', _open, create=True):
        yield


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """mmengine's :class:`CheckpointHook`, writing files atomically.

    mmengine writes a checkpoint with a plain ``open(path, 'wb')`` (through
    its local backend's ``put``) and then ``work_dir/last_checkpoint`` with a
    plain ``open(path, 'w')``. A run killed in either write leaves a
    truncated file, and ``--resume`` then stops on it. This hook saves local
    checkpoints through :class:`mmregion.engine.atomic_local_backend.
    AtomicLocalBackend` (a temporary file, then ``os.replace``) and writes
    ``last_checkpoint`` the same way, so each is the old file or the new
    one. Everything else (intervals, ``max_keep_ckpts``, best checkpoints)
    is :class:`CheckpointHook`'s.

    ``mmregion.apis.load_config`` (``tools/train.py``) uses this hook in
    place of ``CheckpointHook``; other entry points get it from the
    config: ``default_hooks = dict(checkpoint=dict(type=
    'AtomicCheckpointHook'))``.

    Args:
        *args: Arguments of :class:`CheckpointHook`.
        **kwargs: Arguments of :class:`CheckpointHook`. Without
            ``backend_args``/``file_client_args`` and with a local
            ``out_dir``, ``backend_args`` becomes ``dict(backend=
            'atomic_local')``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if (kwargs.get('backend_args') is None
                and kwargs.get('file_client_args') is None
                and _is_local(kwargs.get('out_dir'))):
            kwargs['backend_args'] = dict(backend=ATOMIC_BACKEND)
        super().__init__(*args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step: int,
                                   meta: dict) -> None:
        """Save as :class:`CheckpointHook`, ``last_checkpoint`` atomically.

        Args:
            runner (Runner): The runner.
            step (int): Epoch or iteration of the checkpoint.
            meta (dict): Its meta information.
        """
        with _atomic_text_writes():
            super()._save_checkpoint_with_step(runner, step, meta)
