"""RoI heads of official RegionCLIP ⇄ mmregion's RegionCLIP RoI head.

The box predictor's ``bbox_pred`` (class-agnostic) is ``fc_reg``; its
``cls_score`` / ``test_cls_score`` are the train / test text embeddings
(vocabularies, not weights) and ``cls_bg_score`` RegionCLIP's fixed zero
background embedding. detectron2's ``MaskRCNNConvUpsampleHead`` (NUM_CONV 0)
is mmdet's ``FCNMaskHead`` (num_convs=0).
"""
from typing import Mapping, Optional

from torch import Tensor

from ..common import StateDict
from .state import Conversion

PREDICTOR = 'roi_heads.box_predictor.'
"""Official prefix of the box predictor."""
MASK_HEAD = 'roi_heads.mask_head.'
"""Official prefix of the mask head."""
EMBEDDINGS = {
    'cls_score.weight': 'train_embeddings',
    'test_cls_score.weight': 'test_embeddings',
}
"""Box predictor key → the text embeddings it holds."""
_MASK_LAYERS = {'deconv': 'upsample', 'predictor': 'conv_logits'}


def convert_box_predictor(conv: Conversion, key: str, tensor: Tensor) -> None:
    """Convert one ``roi_heads.box_predictor.*`` tensor.

    Args:
        conv (Conversion): The conversion, updated (embeddings go to its
            ``extras``).
        key (str): The official key.
        tensor (Tensor): Its value.
    """
    name = key[len(PREDICTOR):]
    if name in EMBEDDINGS:
        conv.extras[EMBEDDINGS[name]] = tensor
    elif name.startswith('cls_bg_score.'):
        conv.dropped[PREDICTOR + 'cls_bg_score'] += 1
        if tensor.count_nonzero():
            conv.notes.append(
                f'{key} is not all zero (max |value| '
                f'{tensor.abs().max().item():.3g}); mmregion\'s '
                f'background logit is fixed at 0, so predictions '
                f'will differ from the official model')
    elif name.startswith('bbox_pred.') and tensor.shape[0] == 4:
        conv.out[f'roi_head.bbox_head.fc_reg.{name.split(".", 1)[1]}'] = \
            tensor
        conv.converted['roi_head.bbox_head'] += 1
    elif name.startswith('bbox_pred.'):
        conv.unknown[key] = (f'a class-specific box regressor '
                             f'({tensor.shape[0]} outputs); mmregion '
                             f'regresses class-agnostic boxes (4)')
    elif name.endswith('.bias'):
        conv.unknown[key] = ('a learned classifier bias; mmregion '
                             'classifies with text embeddings only')
    else:
        conv.unknown[key] = 'not a RegionCLIP box predictor weight'


def convert_mask_head(conv: Conversion, key: str, tensor: Tensor) -> None:
    """Convert one ``roi_heads.mask_head.*`` tensor.

    Args:
        conv (Conversion): The conversion, updated.
        key (str): The official key.
        tensor (Tensor): Its value.
    """
    layer, _, param = key[len(MASK_HEAD):].partition('.')
    if layer not in _MASK_LAYERS or param not in ('weight', 'bias'):
        conv.unknown[key] = ('not a weight of a mask head without convs '
                             '(MaskRCNNConvUpsampleHead, NUM_CONV 0)')
    elif layer == 'predictor' and tensor.shape[0] != 1:
        conv.unknown[key] = (f'a class-specific mask predictor '
                             f'({tensor.shape[0]} outputs); mmregion '
                             f'predicts class-agnostic masks (1)')
    else:
        conv.out[f'roi_head.mask_head.{_MASK_LAYERS[layer]}.{param}'] = \
            tensor
        conv.converted['roi_head.mask_head'] += 1


def official_head_key(key: str) -> Optional[str]:
    """The official key of a ``roi_head.*`` key.

    Args:
        key (str): An mmregion key under ``roi_head.``.

    Returns:
        str | None: The official key; None without a counterpart.
    """
    if key.startswith('roi_head.bbox_head.fc_reg.'):
        return PREDICTOR + 'bbox_pred.' + key.rsplit('.', 1)[1]
    if key.startswith('roi_head.mask_head.'):
        layer, _, param = key[len('roi_head.mask_head.'):].partition('.')
        d2_layer = next(
            (d2 for d2, mm in _MASK_LAYERS.items() if mm == layer), None)
        return d2_layer and f'{MASK_HEAD}{d2_layer}.{param}'
    return None


def add_embeddings(out: StateDict, train_embeddings: Optional[Tensor],
                   test_embeddings: Optional[Tensor]) -> None:
    """Add the embeddings under their official names, with a zero
    ``cls_bg_score`` (1, D).

    Args:
        out (dict[str, Tensor]): Official state dict, changed in place.
        train_embeddings (Tensor, optional): (C, D) train embeddings.
        test_embeddings (Tensor, optional): (C', D) test embeddings.
    """
    embeddings: Mapping[str, Optional[Tensor]] = {
        'cls_score': train_embeddings,
        'test_cls_score': test_embeddings
    }
    for name, emb in embeddings.items():
        if emb is not None:
            out[f'{PREDICTOR}{name}.weight'] = emb
            out[f'{PREDICTOR}cls_bg_score.weight'] = emb.new_zeros(
                1, emb.shape[1])
