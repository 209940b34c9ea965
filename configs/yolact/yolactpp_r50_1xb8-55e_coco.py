# YOLACT++ (TPAMI): YOLACT plus
#   * modulated deformable convs (DCNv2) in every third bottleneck of
#     res3-res5 (blocks 0, 3, ... of each stage, as ResNet*_DCN_Interval3;
#     ContiguousDCNv2: mmcv's DCNv2, safe with channels-last inputs),
#   * three anchor scales per level: 24 * 2^(j/3), j = 0, 1, 2 (doubling per
#     level up to 384), ratios 1, 1/2, 2,
#   * fast mask re-scoring: a small conv net on each full assembled mask
#     (5 stride-2 3x3 convs, a 1x1 conv per class, global max pool) predicts
#     the mask IoU; the final score is class score x predicted IoU. Trained
#     with smooth-L1 (weight 25) on masks whose ground truth covers more than
#     25 proto pixels.
_base_ = './yolact_r50_1xb8-55e_coco.py'

num_classes = 80
model = dict(
    backbone=dict(
        type='IntervalDCNResNet',
        dcn=dict(type='ContiguousDCNv2', deform_groups=1, fallback_on_stride=False),
        stage_with_dcn=(False, True, True, True),
        dcn_interval=3),
    bbox_head=dict(anchor_generator=dict(scales_per_octave=3)),
    mask_head=dict(
        discard_mask_area=25,
        mask_iou_head=dict(
            type='MaskIoURescoringHead',
            num_convs=5,
            in_channels=0,
            conv_out_channels=(8, 16, 32, 64, 128),
            conv_kernel_sizes=3,
            conv_strides=(2, 2, 2, 2, 2),
            conv_paddings=0,  # as the official maskiou_net (138 -> 3 px)
            num_classes=num_classes,
            mask_input='full',
            mask_activation=None,
            predictor='conv',
            loss_iou=dict(type='SmoothL1Loss', beta=1.0, loss_weight=25.0),
            init_cfg=[
                dict(type='Kaiming', override=dict(name='convs')),
                dict(type='Normal', std=0.01, override=dict(name='fc_mask_iou'))
            ])))
