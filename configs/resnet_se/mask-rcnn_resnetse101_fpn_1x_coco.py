# Mask R-CNN with an SE-ResNet-101 + FPN, same schedule as the 50-layer config.
_base_ = './mask-rcnn_resnetse50_fpn_1x_coco.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
