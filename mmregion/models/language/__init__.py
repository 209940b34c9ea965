from .clip_text_encoder import (CLIPTextEncoder, checkpoint_fingerprint,
                                clip_identity, is_torchscript_archive)
from .vocabulary import (Vocabulary, dataset_class_names,
                         extract_text_embeddings, parse_class_names,
                         prompt_ensemble, prompt_name)

__all__ = [
    'CLIPTextEncoder', 'Vocabulary', 'checkpoint_fingerprint', 'clip_identity',
    'dataset_class_names', 'extract_text_embeddings', 'is_torchscript_archive',
    'parse_class_names', 'prompt_ensemble', 'prompt_name'
]
