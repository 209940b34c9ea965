# COCO open-vocabulary detection (OVR-CNN split): train on the 48 base
# classes, evaluate AP50 on novel (17), base (48) and all (65) classes.
# Make the annotation files with:
#   python tools/misc/make_ovd_split.py coco \
#       data/coco/annotations/instances_train2017.json data/coco/annotations
#   python tools/misc/make_ovd_split.py coco \
#       data/coco/annotations/instances_val2017.json data/coco/annotations
dataset_type = 'CocoOVDDataset'
data_root = 'data/coco/'
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# The test pipeline reads and resizes as RegionCLIP's detectron2 does:
# PIL decoding (detection_utils.read_image) and ResizeShortestEdge(800,
# 1333), whose ResizeTransform is PIL bilinear on the uint8 image. Training
# keeps mmdet's cv2 decoding and resize (faster; fine-tuning does not need
# the official pixels).
test_pipeline = [
    dict(
        type='LoadImageFromFile',
        imdecode_backend='pillow',
        backend_args=backend_args),
    dict(
        type='Resize',
        scale=(1333, 800),
        keep_ratio=True,
        backend='pillow',
        interpolation='bilinear'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        class_group='base',
        ann_file='annotations/instances_train2017_ovd_train_base.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        class_group='all',
        ann_file='annotations/instances_val2017_ovd_val_all.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(
    type='OVDMetric',
    ann_file=data_root + 'annotations/instances_val2017_ovd_val_all.json',
    metric='bbox',
    backend_args=backend_args)
test_evaluator = val_evaluator
