# RegionCLIP RN50-C4 fine-tuned for LVIS v1 open-vocabulary detection and
# instance segmentation (RegionCLIP's LVISv1-InstanceSegmentation/
# CLIP_fast_rcnn_R_50_C4.yaml): the 866 base (frequent + common) classes in
# training, all 1203 at test time (APr = novel AP); proposals from the frozen
# LVIS R50-FPN offline RPN; plain cross-entropy with background weight 0.8
# (no focal scaling); a class-agnostic mask head on the res5 RoI maps;
# SGD, batch 16 = 8 GPUs x 2 images, lr 0.002, 180k iterations (steps at
# 120k and 160k, 5k warm-up) with repeat-factor sampling (threshold 1e-3).
#
#   tools/dist_train.sh THIS_CONFIG 8
#
# Weights (convert the official files with
# tools/model_converters/regionclip_to_mmregion.py):
# - the CLIP backbone from OpenAI's RN50.pt (model.backbone.checkpoint) or a
#   converted RegionCLIP-pretrained checkpoint (see the COCO config);
# - the offline RPN from RegionCLIP's rpn_lvis_866_lsj.pth (BN in the FPN,
#   two RPN convs), converted to
#   checkpoints/regionclip/rpn_lvis_866_lsj_mmregion.pth. For
#   rpn_lvis_866.pth (the RPN inside the pretrained checkpoints: frozen BN,
#   no FPN norm, one RPN conv) set model.offline_rpn.neck.norm_cfg=None and
#   model.offline_rpn.rpn_head.num_convs=1.
# A converted fine-tuned checkpoint (regionclip_finetuned-lvis_rn50.pth)
# holds the backbone, the box regressor and the mask head:
#   python tools/test.py THIS_CONFIG \
#       checkpoints/regionclip/regionclip_finetuned-lvis_rn50_mmregion.pth
_base_ = [
    './_base_/regionclip_rn50_c4.py', '../_base_/datasets/lvis_v1_ovd.py',
    'mmdet::_base_/default_runtime.py'
]
emb_dir = 'checkpoints/regionclip/concept_emb/'
res5_channels = 2048
mask_size = 14  # the res5 grid (7x7), upsampled 2x by the mask head
max_iters = 180000

frozen_bn = dict(type='BN', requires_grad=False)
model = dict(
    data_preprocessor=dict(pad_mask=True),
    offline_rpn=dict(
        _delete_=True,
        type='RPN',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[103.530, 116.280, 123.675],
            std=[1.0, 1.0, 1.0],
            bgr_to_rgb=False,
            pad_size_divisor=32),
        # detectron2's R50 (stride in the 1x1 conv: caffe style) + FPN on
        # res2..res5 with a max-pooled P6.
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
            num_outs=5,
            norm_cfg=frozen_bn),
        rpn_head=dict(
            type='RPNHead',
            in_channels=256,
            feat_channels=256,
            num_convs=2,
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
        test_cfg=dict(
            rpn=dict(
                nms_pre=1000,
                max_per_img=1000,
                nms=dict(type='nms', iou_threshold=0.7),
                min_bbox_size=0)),
        init_cfg=dict(
            type='Pretrained',
            prefix='offline_rpn.',
            checkpoint='checkpoints/regionclip/rpn_lvis_866_lsj_mmregion.pth')),
    # RegionCLIP's LVIS model multiplies class scores with the RPN score
    # (MULTIPLY_RPN_SCORE True): sqrt(p * sigmoid(objectness)), or the
    # official sqrt(p * logit) with bbox_head.objectness_score='logit'.
    roi_head=dict(
        use_objectness=True,
        bbox_head=dict(
            train_vocabulary=emb_dir + 'lvis_866_base_cls_emb.pth',
            test_vocabulary=emb_dir + 'lvis_1203_cls_emb.pth',
            loss_cls=dict(gamma=None, bg_weight=0.8)),
        mask_roi_extractor=None,
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=0,
            in_channels=res5_channels,
            conv_out_channels=256,
            class_agnostic=True,
            num_classes=1,
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=mask_size)),
    test_cfg=dict(
        rcnn=dict(score_thr=0.02, max_per_img=300, mask_thr_binary=0.5)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=2,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator

train_cfg = dict(
    type='IterBasedTrainLoop', max_iters=max_iters, val_interval=25000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=5000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[120000, 160000],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=25000))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
custom_hooks = [dict(type='RNGStateHook')]
