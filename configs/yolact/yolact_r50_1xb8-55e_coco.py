# YOLACT-550 with a ResNet-50 + FPN (P3-P7) on COCO: mmdet's recipe (batch 8
# on one GPU, SGD lr 1e-3, 55 epochs), with mmregion's batched heads:
# vectorised mask assembly and crop, Fast NMS batched over images and
# classes, and the protonet's semantic-segmentation target fix. Weights are
# interchangeable with mmdet's YOLACT (same parameter names).
#
# The backbone starts from torchvision's ImageNet ResNet-50 (read from the
# torch hub cache); without network access point it at a local file:
#   --cfg-options model.backbone.init_cfg.checkpoint=/path/resnet50-0676ba61.pth
_base_ = 'mmdet::yolact/yolact_r50_1xb8-55e_coco.py'
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

model = dict(
    bbox_head=dict(type='BatchedYOLACTHead', nms_type='fast'),
    mask_head=dict(type='BatchedYOLACTProtonet'))
