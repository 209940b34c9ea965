# RegionCLIP RN50-C4 fine-tuned for COCO open-vocabulary detection:
# 48 base classes in training, 65 (base + novel) at test time; proposals from
# the frozen offline RPN; focal-scaled CE (gamma 0.5, background weight 0.2);
# SGD, batch 16, lr 0.002, 1x schedule.
#
# The backbone starts from OpenAI's RN50.pt (model.backbone.checkpoint), or
# from a RegionCLIP-pretrained checkpoint converted with
# tools/model_converters/regionclip_to_mmregion.py (its backbone part; the
# COCO configs use the C4 COCO RPN, not the file's LVIS FPN RPN):
#   --cfg-options model.backbone.checkpoint=None \
#     model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.prefix=backbone. \
#     model.backbone.init_cfg.checkpoint=checkpoints/regionclip/regionclip_pretrained-cc_rn50_mmregion.pth
# A fine-tuned RegionCLIP checkpoint, converted, holds the whole detector:
#   python tools/test.py THIS_CONFIG checkpoints/regionclip/regionclip_finetuned-coco_rn50_mmregion.pth
# Text embeddings: the official files, or made with
#   python tools/misc/extract_text_embeddings.py --model RN50 \
#       --checkpoint checkpoints/clip/RN50.pt --dataset-config THIS_CONFIG ...
_base_ = [
    './_base_/regionclip_rn50_c4.py', '../_base_/datasets/coco_ovd.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
emb_dir = 'checkpoints/regionclip/concept_emb/'
model = dict(
    # RegionCLIP's COCO RPN (R50-C4, trained on the 48 base classes),
    # converted from rpn_coco_48.pth.
    offline_rpn=dict(
        init_cfg=dict(
            type='Pretrained',
            prefix='offline_rpn.',
            checkpoint='checkpoints/regionclip/rpn_coco_48_mmregion.pth')),
    roi_head=dict(
        bbox_head=dict(
            train_vocabulary=emb_dir + 'coco_48_base_cls_emb.pth',
            test_vocabulary=emb_dir + 'coco_65_cls_emb.pth')))

optim_wrapper = dict(optimizer=dict(lr=0.002, momentum=0.9,
                                    weight_decay=1e-4))
auto_scale_lr = dict(enable=False, base_batch_size=16)
custom_hooks = [dict(type='RNGStateHook')]
