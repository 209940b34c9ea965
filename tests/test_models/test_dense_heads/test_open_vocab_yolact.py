"""Open-vocabulary YOLACT: text-embedding classification of anchors."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmdet.registry import MODELS
from mmengine.config import Config
from tiny_yolact import SHAPES, samples, tiny_yolact_cfg

OVD_CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes-ovd.py')
OVD_KEYS = ('type', 'num_classes', 'embed_dim', 'train_vocabulary',
            'test_vocabulary', 'temperature')


def ovd_cfg(base=None, all_=None):
    torch.manual_seed(0)
    base = F.normalize(torch.randn(6, 64), dim=-1) if base is None else base
    all_ = torch.cat([base, F.normalize(torch.randn(2, 64), dim=-1)
                      ]) if all_ is None else all_
    cfg = tiny_yolact_cfg()
    head = Config.fromfile(OVD_CONFIG).model.bbox_head
    head.update(train_vocabulary=base, test_vocabulary=all_)
    cfg.bbox_head.update({
        k: v
        for k, v in head.items() if k in OVD_KEYS
    })
    cfg.mask_head.num_classes = 6
    return cfg


def test_config_builds_the_open_vocabulary_head():
    cfg = Config.fromfile(OVD_CONFIG)
    assert cfg.model.bbox_head.type == 'OpenVocabYOLACTHead'
    assert cfg.train_dataloader.dataset.class_group == 'base'
    assert cfg.val_evaluator.type == 'OVDMetric'


def test_train_mode_uses_base_classes_and_eval_mode_all():
    model = MODELS.build(ovd_cfg())
    head = model.bbox_head
    model.train()
    assert head.num_classes == 6 and head.cls_out_channels == 7
    cls, _, _ = head.forward_single(torch.randn(2, 16, 6, 6))
    assert cls.shape == (2, 3 * 7, 6, 6)
    model.eval()
    assert head.num_classes == 8
    cls, _, _ = head.forward_single(torch.randn(2, 16, 6, 6))
    assert cls.shape == (2, 3 * 9, 6, 6)


def test_background_logit_is_zero_and_logits_are_cosine_over_t():
    model = MODELS.build(ovd_cfg()).eval()
    head = model.bbox_head
    x = torch.randn(1, 16, 3, 3)
    cls, _, _ = head.forward_single(x)
    logits = cls.permute(0, 2, 3, 1).reshape(-1, 9)  # 8 classes + bg
    assert torch.all(logits[:, -1] == 0)
    feat = x
    for conv in head.head_convs:
        feat = conv(feat)
    emb = head.conv_cls(feat).view(1, 3, 64, 3, 3).permute(0, 3, 4, 1,
                                                             2).reshape(-1, 64)
    expected = F.normalize(emb, dim=-1) @ head.test_embeddings.t() / 0.01
    torch.testing.assert_close(logits[:, :-1], expected, atol=1e-4,
                               rtol=1e-4)


def test_loss_on_base_classes_and_prediction_on_all():
    model = MODELS.build(ovd_cfg()).train()
    batch = samples(SHAPES[:2])
    for s in batch:
        s.gt_instances.labels = s.gt_instances.labels.clamp(max=5)
    losses = model.loss(torch.randn(2, 3, 96, 96), batch)
    for key in ('loss_cls', 'loss_bbox'):
        value = sum(losses[key])
        assert torch.isfinite(value) and value > 0
    model.eval()
    model.bbox_head.test_cfg.score_thr = 0.0
    with torch.no_grad():
        res = model.predict(torch.randn(1, 3, 96, 96), samples(SHAPES[:1]))
    labels = res[0].pred_instances.labels
    assert len(labels) and labels.max() < 8


def test_set_vocabulary_changes_the_classes_at_inference():
    model = MODELS.build(ovd_cfg()).eval()
    model.bbox_head.set_vocabulary(F.normalize(torch.randn(3, 64), dim=-1))
    assert model.bbox_head.num_classes == 3
    model.bbox_head.test_cfg.score_thr = 0.0
    with torch.no_grad():
        res = model.predict(torch.randn(1, 3, 96, 96), samples(SHAPES[:1]))
    assert res[0].pred_instances.labels.max() < 3


def test_wrong_embedding_dim_is_named_when_building():
    with pytest.raises(ValueError, match='32 vs 64'):
        MODELS.build(
            ovd_cfg(base=torch.randn(6, 32), all_=torch.randn(8, 32)))


def test_num_classes_in_config_is_rejected():
    cfg = ovd_cfg()
    cfg.bbox_head.num_classes = 8
    with pytest.raises(ValueError, match='num_classes is set by the vocab'):
        MODELS.build(cfg)
