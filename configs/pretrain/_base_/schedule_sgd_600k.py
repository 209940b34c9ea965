# RegionCLIP's pretraining schedule: SGD, batch 96 (32 GPUs x 3 images),
# lr 0.002, 600k iterations with steps at 300k and 525k, gradient norm
# clipped at 5; mmdet's runtime with iteration-based checkpoints and logs.
_base_ = ['mmdet::_base_/default_runtime.py']
train_cfg = dict(type='IterBasedTrainLoop', max_iters=600000)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.002, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=5.0, norm_type=2))
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    dict(
        type='MultiStepLR',
        by_epoch=False,
        begin=0,
        end=600000,
        milestones=[300000, 525000],
        gamma=0.1)
]
auto_scale_lr = dict(enable=False, base_batch_size=96)
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=20000,
        max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
