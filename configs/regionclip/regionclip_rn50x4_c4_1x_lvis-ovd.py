# RegionCLIP RN50x4-C4 for LVIS v1 OVD (official MODEL_ZOO: APr 22.0, AP
# 32.3): 640-d embeddings, RoIAlign 18x18 on the 1280-channel res4, the mask
# head on the 2560-channel 9x9 res5 maps (18x18 masks).
_base_ = ['./regionclip_rn50_c4_1x_lvis-ovd.py']
emb_dir = 'checkpoints/regionclip/concept_emb/'
model = dict(
    backbone=dict(model_name='RN50x4', checkpoint='checkpoints/clip/RN50x4.pt'),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=18), out_channels=1280),
        bbox_head=dict(
            embed_dim=640,
            train_vocabulary=emb_dir + 'lvis_866_base_cls_emb_rn50x4.pth',
            test_vocabulary=emb_dir + 'lvis_1203_cls_emb_rn50x4.pth'),
        mask_head=dict(in_channels=2560)),
    train_cfg=dict(rcnn=dict(mask_size=18)))
