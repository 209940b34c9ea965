# RegionCLIP on the synthetic shapes: a tiny CLIP ResNet (RN-tiny), trained
# on the base shapes, evaluated with the OVD metric on base + novel shapes.
# A trainable C4 RPN gives the proposals (no offline RPN exists for shapes).
# The CLIP backbone is frozen, res5 and attention pool included: the region
# embedding stays the (pretrained) CLIP one, only the RPN and the box
# regressor learn, and test scores are sqrt(class probability * objectness)
# (RegionCLIP's MULTIPLY_RPN_SCORE), since nothing learns the background.
# The `quality` fine-tuning recipe (mmregion.apis.ovd_settings) adds a learnt
# localization quality (RegionQualityHead) to the objectness.
# Trained on base boxes, the tiny CLIP's novel classes survive this and not
# a trained backbone (docs/ovd_experiment.md: the `frozen` recipe).
#
#   python tools/misc/make_synthetic.py data/shapes
#   # a CLIP checkpoint for RN-tiny (e.g. from the pretraining experiment)
#   python tools/misc/extract_text_embeddings.py --model RN-tiny \
#       --checkpoint CLIP.pth --names-file ... --out data/shapes/emb_base.pth
_base_ = [
    '../regionclip/_base_/regionclip_rn50_c4.py',
    '../_base_/datasets/shapes_ovd.py', 'mmdet::_base_/default_runtime.py'
]
clip_model = 'RN-tiny'
res4_channels = 128
embed_dim = 64
pooler_size = 4
data_root = 'data/shapes/'

model = dict(
    proposal_source='rpn',
    offline_rpn=None,
    backbone=dict(
        model_name=clip_model,
        checkpoint=data_root + 'clip_rn-tiny.pth',
        frozen_stages=4),
    rpn_head=dict(
        type='RPNHead',
        in_channels=res4_channels,
        feat_channels=res4_channels,
        anchor_generator=dict(
            type='AnchorGenerator',
            scales=[1, 2, 4, 8],
            ratios=[0.5, 1.0, 2.0],
            strides=[16]),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        use_objectness=True,
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=pooler_size),
            out_channels=res4_channels),
        bbox_head=dict(
            embed_dim=embed_dim,
            train_vocabulary=data_root + 'emb_rn-tiny_base.pth',
            test_vocabulary=data_root + 'emb_rn-tiny_all.pth')),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                min_pos_iou=0.3,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=128,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=1000,
            max_per_img=300,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(
        rpn=dict(
            nms_pre=1000,
            max_per_img=100,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=0),
        # the shapes rarely overlap: NMS 0.3 (RegionCLIP's 0.5 on COCO),
        # chosen on the heldout split (docs/ovd_experiment.md)
        rcnn=dict(nms=dict(type='nms', iou_threshold=0.3))))


train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
    # the frozen backbone: no update, no weight decay
    paramwise_cfg=dict(
        custom_keys=dict(backbone=dict(lr_mult=0.0, decay_mult=0.0))),
    clip_grad=dict(max_norm=5, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=12, by_epoch=True,
         milestones=[9, 11], gamma=0.1)
]
custom_hooks = [dict(type='RNGStateHook')]
