# RegionCLIP region-text pretraining of CLIP RN50 (C4 layout): a frozen
# teacher CLIP labels offline-RPN regions with the concept pool; the
# student (same CLIP, stem and res2 frozen as FREEZE_AT 2) learns from
# those labels (contrastive + distillation) and from image-caption pairs.
custom_imports = dict(
    imports=['mmregion', 'mmregion.engine.checkpoint_loader'],
    allow_failed_imports=False)

clip_model = 'RN50'
clip_checkpoint = 'checkpoints/clip/RN50.pt'
res4_channels = 1024
pooler_size = 14  # 2 x the attention pool's 7x7 grid

model = dict(
    type='RegionPretrainer',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        # CLIP's pixel statistics, RGB
        mean=[122.7709383, 116.7460125, 104.09373615],
        std=[68.5005327, 66.6321579, 70.32316305],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='CLIPResNet',
        model_name=clip_model,
        checkpoint=clip_checkpoint,
        out_indices=(2, ),
        frozen_stages=1,
        norm_eval=True),
    text_encoder=dict(
        type='CLIPTextEncoder',
        model_name=clip_model,
        checkpoint=clip_checkpoint),
    # concepts.txt from tools/misc/extract_concepts.py (or a vocabulary
    # .pth, e.g. a converted RegionCLIP concept embedding file)
    concepts='checkpoints/regionclip/concepts/cc3m_concepts.txt',
    templates='regionclip',
    cache_dir='work_dirs/concept_emb_cache',
    roi_extractor=dict(
        type='SingleRoIExtractor',
        roi_layer=dict(
            type='RoIAlign',
            output_size=pooler_size,
            sampling_ratio=0,
            aligned=True,
            # torchvision's roi_align, as the detector's: it reads strided
            # (channels-last) maps right, mmcv's CPU kernel does not
            use_torchvision=True),
        out_channels=res4_channels,
        featmap_strides=[16]),
    # RegionCLIP's offline RPN: detectron2's R50-FPN trained class-agnostically
    # on the LVIS base (frequent + common) boxes, with detectron2's BGR pixel
    # means; 300 proposals after NMS 0.5, 100 of them sampled per image.
    # Convert rpn_lvis_866.pth (or regionclip_pretrained-cc_rn50.pth, which
    # holds it) with tools/model_converters/regionclip_to_mmregion.py
    # (docs/converters.md), or set offline_rpn=None for grid boxes.
    offline_rpn=dict(
        type='RPN',
        data_preprocessor=dict(
            type='DetDataPreprocessor',
            mean=[103.530, 116.280, 123.675],
            std=[1.0, 1.0, 1.0],
            bgr_to_rgb=False,
            pad_size_divisor=32),
        backbone=dict(
            type='ResNet',
            depth=50,
            num_stages=4,
            out_indices=(0, 1, 2, 3),
            frozen_stages=4,
            norm_cfg=dict(type='BN', requires_grad=False),
            norm_eval=True,
            style='caffe',
            init_cfg=None),
        neck=dict(
            type='FPN',
            in_channels=[256, 512, 1024, 2048],
            out_channels=256,
            num_outs=5),
        rpn_head=dict(
            type='RPNHead',
            in_channels=256,
            feat_channels=256,
            anchor_generator=dict(
                type='AnchorGenerator',
                scales=[8],
                ratios=[0.5, 1.0, 2.0],
                strides=[4, 8, 16, 32, 64]),
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0.0, 0.0, 0.0, 0.0],
                target_stds=[1.0, 1.0, 1.0, 1.0])),
        train_cfg=None,
        test_cfg=dict(
            rpn=dict(
                nms_pre=6000,
                max_per_img=300,
                nms=dict(type='nms', iou_threshold=0.5),
                min_bbox_size=0)),
        init_cfg=dict(
            type='Pretrained',
            prefix='offline_rpn.',
            checkpoint='checkpoints/regionclip/rpn_lvis_866_mmregion.pth')),
    num_regions=100,
    temperature=0.01,
    concept_threshold=0.1,
    loss_weights=dict(region_text=1.0, distillation=1.0, image_text=1.0),
    gather_image_text=True)
