"""Atomic writes: a temporary file in the target's folder, then a rename.

A process killed mid-write leaves the previous file (or none) at the target
path and at most a ``.<name>.tmp<pid>`` file beside it, which no reader of
the target opens.
"""
import contextlib
import json
import os
import os.path as osp
from typing import IO, Any, Iterator

import torch


@contextlib.contextmanager
def atomic_open(path: str,
                mode: str = 'w',
                encoding: str = 'utf-8') -> Iterator[IO]:
    """Open a temporary file that replaces ``path`` when the block ends.

    The folder of ``path`` is created. If the block raises, the temporary
    file is removed and ``path`` is left as it was.

    Args:
        path (str): The file to (re)write.
        mode (str): ``'w'`` (text) or ``'wb'`` (binary). Defaults to ``'w'``.
        encoding (str): Text encoding for ``'w'``. Defaults to utf-8.

    Yields:
        IO: The open temporary file.
    """
    if mode not in ('w', 'wb'):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got "
                         f'{mode!r}')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = osp.join(folder, f'.{osp.basename(path)}.tmp{os.getpid()}')
    try:
        kwargs = dict(encoding=encoding) if mode == 'w' else {}
        with open(tmp, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_save(obj: Any, path: str) -> None:
    """``torch.save(obj, path)`` atomically.

    Args:
        obj (Any): What to save.
        path (str): Output file; its folder is created.
    """
    with atomic_open(path, 'wb') as f:
        torch.save(obj, f)


def dump_json_atomic(obj: Any, path: str, **kwargs: Any) -> None:
    """``json.dump(obj, path)`` atomically.

    Args:
        obj (Any): A json-serialisable object.
        path (str): Output file; its folder is created.
        **kwargs: Passed to :func:`json.dump` (``indent`` ...).
    """
    with atomic_open(path, 'w') as f:
        json.dump(obj, f, **kwargs)
