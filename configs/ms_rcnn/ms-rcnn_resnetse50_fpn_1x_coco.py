# Mask Scoring R-CNN with an SE-ResNet-50 + FPN backbone (ImageNet ResNet-50
# weights for the convs; SE layers from their initialisation).
_base_ = './ms-rcnn_r50_fpn_1x_coco.py'

model = dict(backbone=dict(type='ResNetSE', depth=50, se_ratio=16))
