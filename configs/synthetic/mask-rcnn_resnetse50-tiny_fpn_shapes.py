# The demo: a small Mask R-CNN with an SE-ResNet-50 (quarter widths) + FPN,
# trained from scratch on the built-in synthetic shapes dataset on a CPU.
# Generate the data first: python tools/misc/make_synthetic.py data/shapes
_base_ = '../resnet_se/mask-rcnn_resnetse50_fpn_1x_coco.py'

num_classes = 8
width = 16  # base_channels of the backbone (ResNet-50 uses 64)
fpn_channels = 64
image_size = (192, 192)  # the 256x256 images are trained at 192x192

model = dict(
    backbone=dict(
        base_channels=width,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[width * 4, width * 8, width * 16, width * 32],
        out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    roi_head=dict(
        # One sample per bin instead of mmdet's adaptive grid
        # (sampling_ratio=0): mmcv's CPU RoIAlign backward is serial, and
        # with the adaptive grid it took 40% of a training step.
        bbox_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=1), out_channels=fpn_channels),
        bbox_head=dict(
            in_channels=fpn_channels,
            fc_out_channels=256,
            num_classes=num_classes),
        mask_roi_extractor=dict(
            roi_layer=dict(sampling_ratio=1), out_channels=fpn_channels),
        mask_head=dict(
            in_channels=fpn_channels,
            conv_out_channels=fpn_channels,
            num_classes=num_classes)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=1000, max_per_img=300),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(max_per_img=50)))

dataset_type = 'SyntheticShapesDataset'
data_root = 'data/shapes/'
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img=''),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/instances_val.json', classwise=True)
test_evaluator = val_evaluator

max_epochs = 11
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
        end=100),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 10],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=2),
    visualization=dict(interval=25))
auto_scale_lr = dict(enable=False, base_batch_size=8)
