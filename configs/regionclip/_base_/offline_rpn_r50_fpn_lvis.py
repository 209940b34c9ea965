# RegionCLIP's LVIS offline RPN, rpn_lvis_866.pth (detectron2's LVISv1
# mask_rcnn_R_50_FPN_1x.yaml: frozen-BN R50, FPN without norm, one RPN
# conv), also the offline RPN inside the pretrained checkpoints
# (regionclip_pretrained-cc_rn50*.pth). The official zero-shot RPN
# inference uses it for COCO and LVIS. Used as
#   model = dict(offline_rpn={{_base_.offline_rpn_r50_fpn_lvis}})
# (it replaces the C4 RPN of the _base_ model: _delete_).
frozen_bn = dict(type='BN', requires_grad=False)
offline_rpn_r50_fpn_lvis = dict(
    _delete_=True,
    type='RPN',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        # detectron2's FPN has size_divisibility 32
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=4,
        norm_cfg=frozen_bn,
        norm_eval=True,
        style='caffe',
        init_cfg=None),
    neck=dict(
        type='FPN',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5),
    rpn_head=dict(
        type='RPNHead',
        in_channels=256,
        feat_channels=256,
        num_convs=1,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[8],
            ratios=[0.5, 1.0, 2.0],
            strides=[4, 8, 16, 32, 64]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0])),
    train_cfg=None,
    # converted from rpn_lvis_866.pth (tools/model_converters/
    # regionclip_to_mmregion.py); a converted pretrained or fine-tuned
    # RegionCLIP checkpoint given as the detector's weights holds it too
    init_cfg=dict(
        type='Pretrained',
        prefix='offline_rpn.',
        checkpoint='checkpoints/regionclip/rpn_lvis_866_mmregion.pth'),
    # RegionCLIP's zero-shot setting: OFFLINE_RPN_NMS_THRESH 0.9
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=1000,
            nms=dict(type='nms', iou_threshold=0.9),
            min_bbox_size=0)))
