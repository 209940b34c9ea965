# dbolya/yolact's "yolact_base" (YOLACT-550, ResNet-101 + FPN; also the
# layout of "yolact_im700") for converted official weights
# (yolact_base_54_800000.pth); see ./yolact_resnet50.py.
_base_ = './yolact_resnet50.py'

model = dict(backbone=dict(depth=101))
