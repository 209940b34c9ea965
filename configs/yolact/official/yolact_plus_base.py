# dbolya/yolact's "yolact_plus_base" (YOLACT++-550, ResNet-101 with DCNv2 in
# every third bottleneck of res3-res5, ResNet101_DCN_Interval3) for converted
# official weights (yolact_plus_base_54_800000.pth); see
# ./yolact_plus_resnet50.py.
_base_ = './yolact_plus_resnet50.py'

model = dict(backbone=dict(depth=101, dcn_interval=3))
