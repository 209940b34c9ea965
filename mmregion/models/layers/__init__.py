from .contiguous_dcn import ContiguousDCNv2
from .fast_nms import BatchedDetections, batched_fast_nms, batched_standard_nms
from .mask_upsample import upsample_cropped_masks
from .open_vocabulary import OpenVocabularyMixin, load_embeddings
from .se_plugin import SEPlugin
from .text_classifier import TextClassifier
from .torchvision_nms import multiclass_nms_torchvision

__all__ = [
    'SEPlugin', 'TextClassifier', 'BatchedDetections', 'batched_fast_nms',
    'batched_standard_nms', 'OpenVocabularyMixin', 'upsample_cropped_masks',
    'load_embeddings', 'ContiguousDCNv2', 'multiclass_nms_torchvision'
]
