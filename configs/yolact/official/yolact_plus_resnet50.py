# dbolya/yolact's "yolact_plus_resnet50" (YOLACT++-550, ResNet-50 + FPN) for
# weights converted from the official checkpoint
# (yolact_plus_resnet50_54_800000.pth):
#   python tools/model_converters/yolact_to_mmregion.py \
#       yolact_plus_resnet50_54_800000.pth \
#       checkpoints/yolact_plus_resnet50_mmregion.pth
# What differs from ../yolactpp_r50_1xb8-55e_coco.py, as in the official model:
#   * DCNv2 in *every* bottleneck of res3-res5 (the official ResNet50_DCNv2
#     backbone has no interval; only the ResNet-101 one uses every third);
#   * the FPN applies ReLU to P3-P5 and builds P6, P7 from the P5 output
#     (YOLACTFPN, 'on_output');
#   * no per-level top-k before NMS (nms_pre=-1);
#   * the predicted mask IoU re-scores the masks only (rescore='mask': boxes
#     keep the class score, as the official rescore_bbox=False).
# Anchors (3 scales x ratios 1, 1/2, 2, not square) are the base config's.
# docs/converters.md lists what still differs from the official inference.
_base_ = '../yolactpp_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(dcn_interval=1, init_cfg=None),
    neck=dict(type='YOLACTFPN', add_extra_convs='on_output'),
    mask_head=dict(rescore='mask'),
    test_cfg=dict(nms_pre=-1))
