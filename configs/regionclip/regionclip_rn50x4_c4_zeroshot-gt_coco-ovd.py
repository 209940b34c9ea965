# Zero-shot RegionCLIP RN50x4 on COCO OVD with ground-truth boxes as proposals:
# pure region recognition over the 65 classes (no box regression).
#   python tools/test.py THIS_CONFIG checkpoints/regionclip/regionclip_pretrained-cc_rn50x4_mmregion.pth
_base_ = ['./regionclip_rn50x4_c4_1x_coco-ovd.py']
model = dict(
    proposal_source='gt',
    offline_rpn=None,
    roi_head=dict(bbox_head=dict(no_box_delta=True)))
