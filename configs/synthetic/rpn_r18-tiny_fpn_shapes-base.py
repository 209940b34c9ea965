# An offline RPN for region pretraining on the synthetic shapes, as
# RegionCLIP's is trained on LVIS base boxes: a small ResNet-18 (quarter
# widths) + FPN, trained from scratch on the base-class boxes (class
# agnostic), evaluated by proposal recall on all shapes, novel included.
#
#   python tools/misc/make_synthetic.py data/shapes_ovd --preset ovd
#   python tools/train.py THIS_CONFIG --cfg-options \
#       train_dataloader.dataset.data_root=data/shapes_ovd/ ...  # each loader
#   # then in region-pretrain_rn-tiny_shapes.py:
#   #   model.offline_rpn = {{this model}} with init_cfg=Pretrained(epoch_6)
_base_ = [
    'mmdet::_base_/models/rpn_r50_fpn.py', '../_base_/datasets/shapes_ovd.py',
    'mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

width = 16  # base_channels (ResNet-18 uses 64)
fpn_channels = 64
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

# the dataset base's loaders (base boxes for training, all shapes for the
# recall), 8 images a batch; recall of the 100 proposals (COCO AR)
train_dataloader = dict(batch_size=8)
val_dataloader = dict(batch_size=8)
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric='proposal',
    proposal_nums=(10, 30, 100))
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
