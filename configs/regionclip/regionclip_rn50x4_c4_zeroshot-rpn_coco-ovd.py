# Zero-shot RegionCLIP RN50x4 on COCO OVD with proposals of the frozen offline
# RPN (RPN NMS 0.9, final NMS 0.5); score = sqrt(p_class * sigmoid(objectness)).
_base_ = ['./regionclip_rn50x4_c4_1x_coco-ovd.py']
model = dict(
    offline_rpn=dict(test_cfg=dict(rpn=dict(nms=dict(iou_threshold=0.9)))),
    roi_head=dict(use_objectness=True, bbox_head=dict(no_box_delta=True)))
