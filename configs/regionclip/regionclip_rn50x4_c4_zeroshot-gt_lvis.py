# Zero-shot RegionCLIP RN50x4 on LVIS v1 val with ground-truth boxes:
# recognition over all 1203 classes, reported as APr / APc / APf / AP.
#   python tools/test.py THIS_CONFIG checkpoints/regionclip/regionclip_pretrained-cc_rn50x4_mmregion.pth
_base_ = [
    './_base_/regionclip_rn50_c4.py', '../_base_/datasets/lvis_v1_ovd.py',
    'mmdet::_base_/default_runtime.py'
]
emb_dir = 'checkpoints/regionclip/concept_emb/'
model = dict(
    proposal_source='gt',
    offline_rpn=None,
    backbone=dict(model_name='RN50x4', checkpoint='checkpoints/clip/RN50x4.pt'),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=18), out_channels=1280),
        bbox_head=dict(
            embed_dim=640,
            no_box_delta=True,
            test_vocabulary=emb_dir + 'lvis_1203_rn50x4_cls_emb.pth')),
    test_cfg=dict(rcnn=dict(max_per_img=300)))
