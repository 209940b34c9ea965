# RegionCLIP RN50 pretrained on CC3M (concept pool: 6790 nouns with
# frequency >= 100), the official recipe: 32 GPUs x 3 images, lr 0.002,
# 600k iterations, gradient clip 5.
#
#   python tools/misc/extract_concepts.py data/cc3m/cc3m_train.tsv \
#       --out checkpoints/regionclip/concepts/cc3m_concepts.txt
#   tools/dist_train.sh THIS_CONFIG 8   # (x 4 nodes)
#   python tools/misc/export_student.py work_dirs/THIS/iter_600000.pth \
#       checkpoints/regionclip/student_rn50_cc3m.pth
# then fine-tune with model.backbone.checkpoint=THAT_FILE.
_base_ = [
    './_base_/regionclip-pretrain_rn50_c4.py',
    '../_base_/datasets/cc3m_captions.py',
    './_base_/schedule_sgd_600k.py'
]
