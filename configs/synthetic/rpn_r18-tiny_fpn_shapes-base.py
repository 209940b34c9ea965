# An offline RPN for region pretraining on the synthetic shapes, as
# RegionCLIP's is trained on LVIS base boxes: a small ResNet-18 (quarter
# widths) + FPN, trained from scratch on the base-class boxes (class
# agnostic), evaluated by proposal recall on all shapes, novel included.
#
#   python tools/misc/make_synthetic.py data/shapes_ovd --preset ovd
#   python tools/train.py THIS_CONFIG \
#       --cfg-options data_root=data/shapes_ovd/   # or edit data_root
#   # then in region-pretrain_rn-tiny_shapes.py:
#   #   model.offline_rpn = {{this model}} with init_cfg=Pretrained(epoch_6)
_base_ = 'mmdet::rpn/rpn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

width = 16  # base_channels (ResNet-18 uses 64)
fpn_channels = 64
image_size = (192, 192)
epochs = 6
data_root = 'data/shapes/'

model = dict(
    backbone=dict(
        depth=18,
        base_channels=width,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(
        in_channels=[width, width * 2, width * 4, width * 8],
        out_channels=fpn_channels),
    rpn_head=dict(in_channels=fpn_channels, feat_channels=fpn_channels),
    # 100 proposals after NMS 0.7: the pretraining samples its regions
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=100,
                 nms=dict(type='nms', iou_threshold=0.7))))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='SyntheticShapesDataset',
        data_root=data_root,
        class_group='base',
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    dataset=dict(
        _delete_=True,
        type='SyntheticShapesDataset',
        data_root=data_root,
        class_group='all',
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(
    ann_file=data_root + 'annotations/instances_val.json',
    metric='proposal_fast', proposal_nums=(10, 30, 100))
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=epochs, val_interval=epochs)
optim_wrapper = dict(
    optimizer=dict(lr=0.02), clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=epochs, by_epoch=True,
         milestones=[round(epochs * 0.75)], gamma=0.1)
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=epochs, max_keep_ckpts=1))
auto_scale_lr = dict(enable=False, base_batch_size=8)
