# RegionCLIP, ResNet-50 C4 layout (detectron2 CLIPFastRCNN on mmdet):
# CLIP RN50 (res4 at stride 16) -> proposals -> RoIAlign 14x14 on res4
# -> the backbone's res5 (7x7) -> attention pool -> 1024-d region embedding
# -> cosine / 0.01 against text embeddings, zero background logit.
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

clip_model = 'RN50'
# OpenAI's RN50.pt (TorchScript) or a RegionCLIP/open_clip checkpoint.
clip_checkpoint = 'checkpoints/clip/RN50.pt'
embed_dim = 1024
res4_channels = 1024
pooler_size = 14  # 2 x the attention pool's 7x7 grid

model = dict(
    type='RegionCLIP',
    proposal_source='offline_rpn',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # CLIP's pixel statistics, RGB
        mean=[122.7709383, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        bgr_to_rgb=True,
        # RegionCLIP's CLIP backbone has size_divisibility 0: images are
        # never padded beyond the largest of a batch (padding moves res4
        # near the right/bottom border).
        pad_size_divisor=1),
    backbone=dict(
        type='CLIPResNet',
        model_name=clip_model,
        checkpoint=clip_checkpoint,
        out_indices=(2, ),
        frozen_stages=1,
        norm_eval=True),
    # The frozen offline RPN of RegionCLIP: an R50-C4 RPN trained on base
    # boxes, with its own backbone and detectron2's BGR pixel means
    # (convert the official weights with
    # tools/model_converters/regionclip_to_mmregion.py).
    offline_rpn=dict(
        type='RPN',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[103.530, 116.280, 123.675],
            std=[1.0, 1.0, 1.0],
            bgr_to_rgb=False,
            # detectron2's C4 ResNet has size_divisibility 0 (an FPN RPN
            # pads to 32): RegionCLIP's offline_preprocess_image.
            pad_size_divisor=1),
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(2, ),
            frozen_stages=3,
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            style='caffe',
            init_cfg=None),
        neck=None,
        rpn_head=dict(
            type='RPNHead',
            in_channels=1024,
            feat_channels=1024,
            anchor_generator=dict(
                type='AnchorGenerator',
                scales=[2, 4, 8, 16, 32],
                ratios=[0.5, 1.0, 2.0],
                strides=[16]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[1.0, 1.0, 1.0, 1.0]),
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
        train_cfg=None,
        test_cfg=dict(
            rpn=dict(
                nms_pre=6000,
                max_per_img=1000,
                nms=dict(type='nms', iou_threshold=0.7),
                min_bbox_size=0))),
    roi_head=dict(
        type='RegionCLIPRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(
                type='RoIAlign',
                output_size=pooler_size,
                sampling_ratio=0,
                aligned=True,
                # torchvision's roi_align, RegionCLIP's op: the same values
                # as mmcv's, faster on a CPU
                use_torchvision=True),
            out_channels=res4_channels,
            featmap_strides=[16]),
        bbox_head=dict(
            type='RegionCLIPBBoxHead',
            embed_dim=embed_dim,
            temperature=0.01,
            # detectron2's per-class NMS (torchvision's batched_nms): mmcv's
            # rounds the class-offset coordinates (0.125 px at 1203
            # classes), which changed LVIS detections of the official model
            nms_backend='torchvision',
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(
                type='FocalScaledCrossEntropyLoss', gamma=0.5,
                bg_weight=0.2),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(
        rcnn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.5,
                neg_iou_thr=0.5,
                min_pos_iou=0.5,
                match_low_quality=False,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=512,
                pos_fraction=0.25,
                neg_pos_ub=-1,
                add_gt_as_proposals=True),
            pos_weight=-1,
            debug=False)),
    test_cfg=dict(
        rcnn=dict(
            score_thr=0.001,
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=100)))
