# Open-vocabulary YOLACT on the synthetic shapes: every anchor predicts a
# 64-d embedding that is scored by cosine / 0.01 against text embeddings of
# the class names (zero background logit). Trained on the 6 base shapes,
# evaluated on all 8 (novel: hexagon, heart) with the OVD metric.
# The vocabularies are embeddings of the RN-tiny CLIP text tower, e.g.
#   python tools/misc/extract_text_embeddings.py --model RN-tiny \
#       --checkpoint data/shapes/clip_rn-tiny.pth --names 'circle,square,...' \
#       --out data/shapes/emb_rn-tiny_base.pth
_base_ = './yolact_r50-tiny_shapes.py'

num_base_classes = 6
embed_dim = 64

data_root = 'data/shapes/'
model = dict(
    bbox_head=dict(
        type='OpenVocabYOLACTHead',
        num_classes=None,  # the vocabulary decides
        embed_dim=embed_dim,
        train_vocabulary=data_root + 'emb_rn-tiny_base.pth',
        test_vocabulary=data_root + 'emb_rn-tiny_all.pth',
        temperature=0.01),
    # The semantic-segmentation branch is trained on the base classes only.
    mask_head=dict(num_classes=num_base_classes))

train_dataloader = dict(dataset=dict(class_group='base'))
val_dataloader = dict(dataset=dict(class_group='all'))
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='OVDMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
