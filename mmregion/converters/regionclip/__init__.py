"""Official RegionCLIP (detectron2) checkpoints ⇄ mmregion's RegionCLIP.

An official checkpoint (``regionclip_pretrained-cc_rn50.pth``,
``regionclip_finetuned-coco_rn50.pth``, ...) is ``{'model': state_dict}``
(or the state dict itself) of detectron2's ``CLIPFastRCNN`` /
``PretrainFastRCNN``. Its groups and where they go:

==========================================  ==================================
official key                                mmregion key
==========================================  ==================================
``backbone.*`` (CLIP ModifiedResNet)        ``backbone.*`` (same names)
``offline_backbone.*`` (detectron2 R50-C4)  ``offline_rpn.backbone.*`` (mmdet
                                            ResNet names)
``offline_backbone.bottom_up.*`` (R50-FPN)  ``offline_rpn.backbone.*``
``offline_backbone.fpn_{lateral,output}*``  ``offline_rpn.neck.*`` (mmdet FPN)
``offline_proposal_generator.rpn_head.*``   ``offline_rpn.bbox_head.*``
                                            (anchors reordered)
``roi_heads.box_predictor.bbox_pred.*``     ``roi_head.bbox_head.fc_reg.*``
``roi_heads.mask_head.{deconv,predictor}``  ``roi_head.mask_head.{upsample,
                                            conv_logits}`` (class-agnostic)
``roi_heads.box_predictor.cls_score``       train vocabulary (not a weight)
``roi_heads.box_predictor.test_cls_score``  test vocabulary (not a weight)
``roi_heads.box_predictor.cls_bg_score``    dropped (RegionCLIP's fixed zero
                                            background embedding)
``teacher_backbone.*``, ``lang_encoder.*``  dropped (pretraining only)
==========================================  ==================================

The offline RPN's own checkpoint (RegionCLIP's ``MODEL.CLIP.BB_RPN_WEIGHTS``,
e.g. ``rpn_coco_48.pth``: a detectron2 R-CNN with ``backbone.*`` and
``proposal_generator.*``) is read as RegionCLIP reads it: ``backbone.*`` →
``offline_backbone.*``, ``proposal_generator.*`` →
``offline_proposal_generator.*``, the rest (its box and mask heads) dropped.
The LVIS RPN (``rpn_lvis_866.pth``, and the one inside the pretrained
checkpoints) is a detectron2 R50-FPN: its ResNet is under
``offline_backbone.bottom_up.*`` and becomes an mmdet ``ResNet`` + ``FPN``
+ ``RPNHead`` offline RPN (the ``offline_rpn`` of ``configs/regionclip/
regionclip_rn50_c4_1x_lvis-ovd.py``); ``rpn_lvis_866_lsj.pth`` (BN in the
FPN, two RPN convs) converts the same way.

detectron2's anchor generator lists a cell's anchors size-major (``for size
in sizes: for ratio in ratios``), mmdet's ``AnchorGenerator`` ratio-major, so
the RPN's per-anchor output channels are permuted (:func:`anchor_permutation`).

Modules: :mod:`.backbone` (CLIP and detectron2 ResNets), :mod:`.neck` (the
offline RPN's R50-C4 / R50-FPN body), :mod:`.rpn` and :mod:`.heads` map
their component's keys and tensors into a :class:`.state.Conversion`;
:mod:`.convert` converts state dicts both ways; :mod:`.checkpoint` converts
files and formats the CLI's report.
"""
from .checkpoint import (
    convert_regionclip_checkpoint,
    format_report,
    load_regionclip_checkpoint,
)
from .convert import mmregion_to_regionclip, regionclip_to_mmregion
from .rpn import anchor_permutation
from .state import NUM_RATIOS, NUM_SIZES, NUM_SIZES_FPN

__all__ = [
    'convert_regionclip_checkpoint', 'format_report',
    'load_regionclip_checkpoint', 'mmregion_to_regionclip',
    'regionclip_to_mmregion', 'anchor_permutation', 'NUM_RATIOS',
    'NUM_SIZES', 'NUM_SIZES_FPN'
]
