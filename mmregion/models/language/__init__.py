import warnings

from .clip_text_encoder import (
    CLIPTextEncoder,
    checkpoint_fingerprint,
    clip_identity,
    is_torchscript_archive,
)
from .vocabulary import (
    Vocabulary,
    parse_class_names,
    prompt_ensemble,
    prompt_name,
)

__all__ = [
    'CLIPTextEncoder', 'Vocabulary', 'checkpoint_fingerprint', 'clip_identity',
    'is_torchscript_archive', 'parse_class_names', 'prompt_ensemble',
    'prompt_name'
]

_MOVED = ('dataset_class_names', 'extract_text_embeddings')


def __getattr__(name: str):
    """Deprecated homes of names that moved to the tooling layer.

    ``dataset_class_names`` and ``extract_text_embeddings`` read configs
    and datasets, which is tooling: they live in
    :mod:`mmregion.apis.class_names`. This shim keeps the old import path
    working for one release (the one exemption of the core/tooling rule,
    tests/test_package.py).
    """
    if name in _MOVED:
        warnings.warn(
            f'mmregion.models.language.{name} moved to '
            f'mmregion.apis.class_names.{name}', DeprecationWarning, 2)
        from ...apis import class_names
        return getattr(class_names, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
