# Conceptual Captions (CC3M) image-caption pairs for region-text
# pretraining: a tsv of image_path<TAB>caption lines, image paths relative
# to data_prefix.img. Captions reach the model in the data samples'
# metainfo ('captions' in PackDetInputs' meta_keys).
dataset_type = 'TsvImageCaptionDataset'
data_root = 'data/cc3m/'
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'captions'))
]
train_dataloader = dict(
    batch_size=3,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='cc3m_train.tsv',
        data_prefix=dict(img='images/'),
        pipeline=train_pipeline,
        backend_args=backend_args))
