from .batched_yolact_head import BatchedYOLACTHead
from .batched_yolact_protonet import BatchedYOLACTProtonet
from .open_vocab_yolact_head import OpenVocabYOLACTHead

__all__ = [
    'BatchedYOLACTHead', 'BatchedYOLACTProtonet', 'OpenVocabYOLACTHead'
]
