# RegionCLIP with the mask head of its LVIS models, on the synthetic shapes:
# the tiny RN-tiny setup of regionclip_rn-tiny_c4_shapes-ovd.py plus a
# class-agnostic FCN mask head (no convs, one 2x deconv) on the res5 RoI maps
# (256 channels, 2x2 for RN-tiny -> 4x4 masks), evaluated with box and mask
# AP50 on novel / base / all shapes.
_base_ = ['./regionclip_rn-tiny_c4_shapes-ovd.py']
res5_channels = 256
mask_size = 4  # the res5 grid (2x2), upsampled 2x by the mask head

model = dict(
    data_preprocessor=dict(pad_mask=True),
    roi_head=dict(
        mask_roi_extractor=None,
        mask_head=dict(
            type='FCNMaskHead',
            num_convs=0,
            in_channels=res5_channels,
            conv_out_channels=64,
            class_agnostic=True,
            num_classes=1,
            loss_mask=dict(
                type='CrossEntropyLoss', use_mask=True, loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(mask_size=mask_size)),
    test_cfg=dict(rcnn=dict(mask_thr_binary=0.5)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale={{_base_.image_size}}, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_evaluator = dict(metric=['bbox', 'segm'])
test_evaluator = val_evaluator
