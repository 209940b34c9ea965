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
#   * no per-level top-k before NMS (nms_pre=-1);
#   * dbolya/yolact's inference: the float image is resized (FloatResize);
#     anchors whose best class score exceeds 0.05 enter every class's Fast
#     NMS with no per-class threshold (score_thr_mode='max_class'); widths
#     and heights decode without mmdet's clamp (wh_ratio_clip=None); boxes
#     are clipped after NMS and mask cropping and truncated to integers
#     (clip_border=False, clip_boxes='official').
# Faster on a CPU, but equal to the official outputs only to float
# rounding (BN folded into the backbone's convolutions, channels-last;
# docs/parity.md measures both): --cfg-options model.type=FoldedYOLACT
# The whole model comes from the converted checkpoint (no ImageNet init).
# docs/parity.md shows the outputs equal the official code's.
_base_ = '../yolact_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(init_cfg=None),
    neck=dict(type='YOLACTFPN', add_extra_convs='on_output'),
    bbox_head=dict(
        score_thr_mode='max_class',
        wh_ratio_clip=None,
        bbox_coder=dict(clip_border=False),
        anchor_generator=dict(
            octave_base_scale=None,
            scales_per_octave=None,
            scales=[3 * 2**-0.5, 3.0, 3 * 2**0.5],
            ratios=[1.0])),
    mask_head=dict(clip_boxes='official'),
    test_cfg=dict(nms_pre=-1))

# dbolya/yolact's preprocessing (FastBaseTransform): the float image is
# resized with F.interpolate (bilinear), not the uint8 image with OpenCV.
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='FloatResize', scale=(550, 550), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
