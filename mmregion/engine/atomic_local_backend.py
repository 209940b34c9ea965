"""mmengine's local file backend with atomic writes."""
from pathlib import Path
from typing import Union

from mmengine.fileio import LocalBackend, register_backend

from ..fileio import atomic_open

ATOMIC_BACKEND = 'atomic_local'
"""The name :class:`AtomicLocalBackend` is registered under
(``backend_args=dict(backend='atomic_local')``)."""


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` whose writes are atomic.

    mmengine's ``save_checkpoint`` hands the serialised checkpoint to the
    backend's ``put``, which for local files opens the target with ``'wb'``
    and writes: a process killed meanwhile leaves a truncated ``.pth`` that
    ``--resume`` then fails to read. Here ``put`` and ``put_text`` write a
    temporary file beside the target and rename it
    (:func:`mmregion.fileio.atomic_open`), so the target is the old file or
    the complete new one. Reading, listing and removing are unchanged.
    """

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        """Write bytes to ``filepath`` atomically (folders are created).

        Args:
            obj (bytes): Data to be written.
            filepath (str | Path): Path to write data.
        """
        with atomic_open(str(filepath), 'wb') as f:
            f.write(obj)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, Path],
                 encoding: str = 'utf-8') -> None:
        """Write text to ``filepath`` atomically (folders are created).

        Args:
            obj (str): Data to be written.
            filepath (str | Path): Path to write data.
            encoding (str): Text encoding. Defaults to utf-8.
        """
        with atomic_open(str(filepath), 'w', encoding=encoding) as f:
            f.write(obj)


register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
