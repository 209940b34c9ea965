# Mask Scoring R-CNN, ResNet-50 + FPN, 1x: Mask R-CNN plus a MaskIoU head
# (RoI features + max-pooled mask -> 4 convs -> 2 FCs -> IoU per class, L2
# loss; mask score = class score x predicted IoU). The head is mmregion's
# MaskIoURescoringHead, the same module that re-scores YOLACT++ masks; with
# these settings it is mmdet's MaskIoUHead and loads its checkpoints.
_base_ = 'mmdet::ms_rcnn/ms-rcnn_r50_fpn_1x_coco.py'
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

model = dict(
    roi_head=dict(mask_iou_head=dict(type='MaskIoURescoringHead')))
