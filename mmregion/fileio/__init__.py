"""File input/output shared by the whole package.

* :mod:`.atomic`: writes that leave either the old file or the complete new
  one, never a truncated file (checkpoints, embeddings, splits, json).
* :mod:`.safe_load`: checkpoint loading that never unpickles arbitrary
  objects unless the user opts in.

Importing this package changes nothing outside it.
"""
from .atomic import atomic_open, atomic_save, dump_json_atomic
from .safe_load import (
                        SAFE_GLOBALS,
                        TRUST_ENV,
                        CorruptCheckpointError,
                        UntrustedCheckpointError,
                        is_torchscript_archive,
                        load_checkpoint_file,
                        trust_checkpoints,
)

__all__ = [
    'atomic_open', 'atomic_save', 'dump_json_atomic', 'SAFE_GLOBALS',
    'TRUST_ENV', 'UntrustedCheckpointError', 'CorruptCheckpointError',
    'is_torchscript_archive', 'load_checkpoint_file', 'trust_checkpoints'
]
