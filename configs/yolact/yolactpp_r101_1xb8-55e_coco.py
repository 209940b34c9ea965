# YOLACT++ with a ResNet-101 (DCN in every third block of res3-res5).
_base_ = './yolactpp_r50_1xb8-55e_coco.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained', checkpoint='torchvision://resnet101')))
