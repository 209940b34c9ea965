# COCO Captions (train2017, 118k images x 5 captions) for region-text
# pretraining; the pipeline is the CC3M one.
_base_ = ['./cc3m_captions.py']
data_root = 'data/coco/'
train_dataloader = dict(
    dataset=dict(
        type='CocoImageCaptionDataset',
        data_root=data_root,
        ann_file='annotations/captions_train2017.json',
        data_prefix=dict(img='train2017/')))
