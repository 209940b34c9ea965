# dbolya/yolact's "yolact_resnet50" (YOLACT-550, ResNet-50 + FPN) for weights
# converted from the official checkpoint (yolact_resnet50_54_800000.pth):
#   python tools/model_converters/yolact_to_mmregion.py \
#       yolact_resnet50_54_800000.pth checkpoints/yolact_resnet50_mmregion.pth
#   python tools/test.py configs/yolact/official/yolact_resnet50.py \
#       checkpoints/yolact_resnet50_mmregion.pth
# What differs from ../yolact_r50_1xb8-55e_coco.py, as in the official model:
#   * the FPN applies ReLU to P3-P5 and builds P6, P7 from the P5 output
#     (YOLACTFPN, 'on_output'), not from C5;
#   * square anchors (official use_square_anchors=True): sides 24/sqrt(2), 24
#     and 24*sqrt(2) on P3, doubling per level;
#   * no per-level top-k before NMS (nms_pre=-1).
# The whole model comes from the converted checkpoint (no ImageNet init).
# docs/converters.md lists what still differs from the official inference.
_base_ = '../yolact_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(type='YOLACTFPN', add_extra_convs='on_output'),
    bbox_head=dict(
        anchor_generator=dict(
            octave_base_scale=None,
            scales_per_octave=None,
            scales=[3 * 2**-0.5, 3.0, 3 * 2**0.5],
            ratios=[1.0])),
    test_cfg=dict(nms_pre=-1))
