# Zero-shot RegionCLIP RN50 on COCO OVD with proposals of the frozen offline
# RPN, as RegionCLIP's test_zeroshot_inference.sh: the LVIS R50-FPN RPN
# (rpn_lvis_866.pth, also inside the pretrained checkpoint), RPN NMS 0.9,
# final NMS 0.5; score = sqrt(p_class * sigmoid(objectness)) (the official
# sqrt(p_class * objectness_logit) with
#   --cfg-options model.roi_head.bbox_head.objectness_score=logit).
#   python tools/test.py THIS_CONFIG \
#       checkpoints/regionclip/regionclip_pretrained-cc_rn50_mmregion.pth
_base_ = [
    './regionclip_rn50_c4_1x_coco-ovd.py',
    './_base_/offline_rpn_r50_fpn_lvis.py'
]
model = dict(
    offline_rpn={{_base_.offline_rpn_r50_fpn_lvis}},
    roi_head=dict(use_objectness=True, bbox_head=dict(no_box_delta=True)))
