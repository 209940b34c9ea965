# RegionCLIP RN50x4-C4 for COCO OVD: 640-d embeddings, RoIAlign 18x18 on the
# 1280-channel res4 (res5 brings it to the 9x9 attention-pool grid).
_base_ = ['./regionclip_rn50_c4_1x_coco-ovd.py']
emb_dir = 'checkpoints/regionclip/concept_emb/'
model = dict(
    backbone=dict(model_name='RN50x4', checkpoint='checkpoints/clip/RN50x4.pt'),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=18), out_channels=1280),
        bbox_head=dict(
            embed_dim=640,
            train_vocabulary=emb_dir + 'coco_48_base_rn50x4_cls_emb.pth',
            test_vocabulary=emb_dir + 'coco_65_rn50x4_cls_emb.pth')))
