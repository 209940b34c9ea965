# RegionCLIP RN50x4 pretrained on CC3M: 640-d embeddings, RoIAlign 18x18 on
# the 1280-channel res4 (res5 brings it to the 9x9 attention-pool grid).
_base_ = ['./regionclip-pretrain_rn50_c4_600k_cc3m.py']
clip_checkpoint = 'checkpoints/clip/RN50x4.pt'
model = dict(
    backbone=dict(model_name='RN50x4', checkpoint=clip_checkpoint),
    text_encoder=dict(model_name='RN50x4', checkpoint=clip_checkpoint),
    roi_extractor=dict(roi_layer=dict(output_size=18), out_channels=1280))
