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
#     keep the class score, as the official rescore_bbox=False);
#   * dbolya/yolact's inference, as ./yolact_resnet50.py (FloatResize,
#     score_thr_mode='max_class', wh_ratio_clip=None, clip_boxes='official').
# Anchors (3 scales x ratios 1, 1/2, 2, not square) are the base config's.
# Faster CPU inference, equal to float rounding: --cfg-options
# model.type=FoldedYOLACT (see ./yolact_resnet50.py).
# docs/parity.md shows the outputs equal the official code's.
_base_ = '../yolactpp_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(dcn_interval=1, init_cfg=None),
    neck=dict(type='YOLACTFPN', add_extra_convs='on_output'),
    bbox_head=dict(
        score_thr_mode='max_class',
        wh_ratio_clip=None,
        bbox_coder=dict(clip_border=False)),
    mask_head=dict(rescore='mask', clip_boxes='official'),
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
