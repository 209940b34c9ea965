# YOLACT-550 with a ResNet-101 + FPN (the paper's default backbone).
_base_ = './yolact_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')))
