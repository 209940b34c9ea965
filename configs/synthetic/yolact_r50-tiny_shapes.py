# YOLACT on the built-in synthetic shapes, trained from scratch on a CPU:
# a ResNet-50 at quarter width + FPN (P3-P7) of 64 channels, 192x192 input,
# 32 prototypes at 1/4 resolution, mmregion's batched heads.
#   python tools/misc/make_synthetic.py data/shapes
#   python tools/train.py configs/synthetic/yolact_r50-tiny_shapes.py
_base_ = '../yolact/yolact_r50_1xb8-55e_coco.py'

num_classes = 8
width = 16
fpn_channels = 64
input_size = 192
# Feature sizes of P3-P7 at 192 px; strides and anchor centres follow them as
# in mmdet's 550 px config.
feat_sizes = [24, 12, 6, 3, 2]

model = dict(
    backbone=dict(
        base_channels=width,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[width * 4, width * 8, width * 16, width * 32],
        out_channels=fpn_channels),
    bbox_head=dict(
        num_classes=num_classes,
        in_channels=fpn_channels,
        feat_channels=fpn_channels,
        anchor_generator=dict(
            strides=[input_size / x for x in feat_sizes],
            centers=[(input_size * 0.5 / x, input_size * 0.5 / x)
                     for x in feat_sizes])),
    mask_head=dict(
        num_classes=num_classes,
        in_channels=fpn_channels,
        proto_channels=(fpn_channels, fpn_channels, fpn_channels, None,
                        fpn_channels, 32)),
    test_cfg=dict(max_per_img=50))

dataset_type = 'SyntheticShapesDataset'
data_root = 'data/shapes/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
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
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/instances_val.json', classwise=True)
test_evaluator = val_evaluator

max_epochs = 20
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# From scratch, without pretrained features or any normalisation in the
# head, SGD diverged in the first iterations (gradient norm ~3e3) and
# collapsed; AdamW with a warm-up trains stably.
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=200),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 19],
        gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=1, max_keep_ckpts=2),
    visualization=dict(interval=25))
env_cfg = dict(cudnn_benchmark=False)
auto_scale_lr = dict(enable=False, base_batch_size=8)
