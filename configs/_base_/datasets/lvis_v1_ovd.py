# LVIS v1 open-vocabulary detection: train on the 866 base (frequent +
# common) classes with repeat-factor sampling, test on all 1203 classes;
# APr (rare = novel) is the headline number. Pipelines as for COCO OVD.
# LVISOVDDataset's class_group='base' drops the rare annotations and labels
# the base classes 0..865 (so lvis_v1_train.json itself works too); the
# base-only training file is made with:
#   python tools/misc/make_ovd_split.py lvis \
#       data/lvis_v1/annotations/lvis_v1_train.json data/lvis_v1/annotations
_base_ = './coco_ovd.py'
dataset_type = 'LVISOVDDataset'
data_root = 'data/lvis_v1/'
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            class_group='base',
            ann_file='annotations/lvis_v1_train_ovd_train_base.json',
            data_prefix=dict(img=''),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline={{_base_.train_pipeline}})))
val_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type=dataset_type,
        data_root=data_root,
        class_group='all',
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline={{_base_.test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='LVISOVDMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    metric='bbox')
test_evaluator = val_evaluator
