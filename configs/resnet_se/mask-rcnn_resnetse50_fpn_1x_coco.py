# Mask R-CNN with an SE-ResNet-50 + FPN on COCO, the schedule of seed 002:
# SGD lr 0.02 (batch 16), momentum 0.9, weight decay 1e-4, gradient clipping
# at max_norm 35, linear warm-up over 500 iterations from 1/3 of the lr,
# lr steps at epochs 8 and 11, 12 epochs.
#
# The backbone starts from torchvision's ImageNet ResNet-50 (mmdet's default
# `torchvision://resnet50`, read from the torch hub cache); on a machine
# without network access point it at a local file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet50-0676ba61.pth
# The SE layers are not in that checkpoint: they keep their initialisation and
# the loader lists them as missing keys.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

model = dict(backbone=dict(type='ResNetSE', depth=50, se_ratio=16))

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=12,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
train_cfg = dict(max_epochs=12)
# Checkpoints carry the random generators' states, so --resume continues
# exactly where the run stopped.
custom_hooks = [dict(type='RNGStateHook')]
