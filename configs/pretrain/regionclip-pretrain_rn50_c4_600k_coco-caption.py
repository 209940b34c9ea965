# RegionCLIP RN50 pretrained on COCO Captions (train2017; concept pool:
# 4764 nouns with frequency >= 100).
_base_ = [
    './_base_/regionclip-pretrain_rn50_c4.py',
    '../_base_/datasets/coco_captions.py',
    './_base_/schedule_sgd_600k.py'
]
model = dict(concepts='checkpoints/regionclip/concepts/coco_concepts.txt')
