# Mask Scoring R-CNN on a CLIP RN50 visual backbone (RegionCLIP's
# CLIPResNet: stem, res2-res5 with CLIP's anti-aliased bottlenecks) + FPN.
# Start it from OpenAI CLIP or a RegionCLIP-pretrained student:
#   --cfg-options model.backbone.checkpoint=/path/RN50.pt
# Inputs are normalised with CLIP's pixel mean and std.
_base_ = './ms-rcnn_r50_fpn_1x_coco.py'

model = dict(
    data_preprocessor=dict(
        mean=[122.7709383, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='CLIPResNet',
        model_name='RN50',
        checkpoint=None,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        frozen_bn=True),
    neck=dict(in_channels=[256, 512, 1024, 2048]))
