# RegionCLIP region-text pretraining of the tiny RN-tiny CLIP on the
# synthetic shapes captions: grid boxes instead of an offline RPN, a concept
# pool parsed from the captions, prompts in the captions' own style.
#
#   python tools/misc/make_synthetic.py data/shapes
#   python tools/misc/extract_concepts.py data/shapes/annotations/captions_train.json \
#       --min-freq 100 --out data/shapes/concepts.txt
#   # data/shapes/clip_rn-tiny.pth: a CLIP trained on the captions, e.g. by
#   # tools/misc/run_ovd_experiment.py, which runs all of this end to end
#   python tools/train.py THIS_CONFIG
#   python tools/misc/export_student.py work_dirs/THIS/iter_300.pth student.pth
_base_ = [
    '../pretrain/_base_/regionclip-pretrain_rn50_c4.py',
    '../pretrain/_base_/schedule_sgd_600k.py'
]
data_root = 'data/shapes/'
clip_checkpoint = data_root + 'clip_rn-tiny.pth'
image_size = (192, 192)
max_iters = 300
# the synthetic captions' phrasing (mmregion/synthetic/shapes.py)
caption_templates = [
    'a picture of a {}.', 'an image showing a {}.',
    'there is a {} in this image.', 'a {} on a coloured background.'
]

model = dict(
    backbone=dict(
        model_name='RN-tiny', checkpoint=clip_checkpoint, frozen_stages=-1),
    text_encoder=dict(model_name='RN-tiny', checkpoint=clip_checkpoint),
    concepts=data_root + 'concepts.txt',
    templates=caption_templates,
    cache_dir=None,
    roi_extractor=dict(roi_layer=dict(output_size=4), out_channels=128),
    offline_rpn=None,
    # 32-80 px boxes every 16 px: the shapes are 29-77 px at 192 px
    grid_boxes=dict(
        type='AnchorGenerator',
        strides=[16],
        ratios=[1.0],
        scales=[2.0, 3.0, 4.0, 5.0]),
    num_regions=64)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'captions'))
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='CocoImageCaptionDataset',
        data_root=data_root,
        ann_file='annotations/captions_train.json',
        pipeline=train_pipeline))

train_cfg = dict(max_iters=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=30),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=max_iters,
        milestones=[int(max_iters * 0.8)],
        gamma=0.1)
]
auto_scale_lr = dict(base_batch_size=8)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
custom_hooks = [dict(type='RNGStateHook')]
