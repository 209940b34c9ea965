"""YOLACT, YOLACT++ and open-vocabulary YOLACT train and evaluate on the
synthetic shapes (a few iterations: the CI smoke run)."""
import os.path as osp

import torch
import torch.nn.functional as F
from conftest import REPO, reset_mm_singletons
from mmengine.config import Config
from tiny_yolact import tiny_yolact_cfg

from mmregion.apis import test as run_test
from mmregion.apis import train
from mmregion.synthetic import BASE_CLASSES, SHAPE_CLASSES

CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes.py')
OVD_CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes-ovd.py')
OVD_KEYS = ('type', 'num_classes', 'embed_dim', 'train_vocabulary',
            'test_vocabulary', 'temperature')


def _config(path, shapes_root, tmp_path, plus=False, **changes):
    cfg = Config.fromfile(path)
    model = tiny_yolact_cfg(plus=plus)
    if cfg.model.bbox_head.type == 'OpenVocabYOLACTHead':
        model.bbox_head.update(
            {k: v for k, v in cfg.model.bbox_head.items() if k in OVD_KEYS})
        model.mask_head.num_classes = 6
    cfg.model = model
    ann = osp.join(shapes_root, 'annotations', 'instances_val.json')
    pipe = dict(type='Resize', scale=(96, 96), keep_ratio=False)
    cfg.train_dataloader.dataset.pipeline[2] = pipe
    cfg.val_dataloader.dataset.pipeline[1] = pipe
    cfg.merge_from_dict({
        'train_dataloader.dataset.data_root': shapes_root,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.batch_size': 4,
        'val_dataloader.dataset.data_root': shapes_root,
        'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False,
        'test_dataloader.dataset.data_root': shapes_root,
        'test_dataloader.dataset.pipeline':
        cfg.val_dataloader.dataset.pipeline,
        'test_dataloader.num_workers': 0,
        'test_dataloader.persistent_workers': False,
        'val_evaluator.ann_file': ann,
        'test_evaluator.ann_file': ann,
        'train_cfg.max_epochs': 1,
        'train_cfg.val_interval': 1,
        'default_hooks.logger.interval': 1,
        'randomness': dict(seed=0),
    })
    cfg.merge_from_dict(changes)
    out = str(tmp_path / osp.basename(path))
    cfg.dump(out)
    return out


def test_yolact_trains_and_evaluates(shapes_root, tmp_path):
    cfg = _config(CONFIG, shapes_root, tmp_path)
    reset_mm_singletons()
    runner = train(cfg, work_dir=str(tmp_path / 'yolact'))
    assert runner.iter == 4  # 16 images, batch 4
    ckpt = str(tmp_path / 'yolact' / 'epoch_1.pth')
    assert osp.isfile(ckpt)
    reset_mm_singletons()
    metrics = run_test(cfg, ckpt, work_dir=str(tmp_path / 'yolact_test'))
    for key in ('coco/bbox_mAP_50', 'coco/segm_mAP_50'):
        assert 0.0 <= metrics[key] <= 1.0


def test_yolactpp_trains(shapes_root, tmp_path):
    cfg = _config(CONFIG, shapes_root, tmp_path, plus=True,
                  **{'train_cfg.val_interval': 10})
    reset_mm_singletons()
    runner = train(cfg, work_dir=str(tmp_path / 'yolactpp'))
    assert runner.iter == 4
    loss_iou = runner.message_hub.get_scalar('train/loss_mask_iou')
    assert torch.isfinite(torch.tensor(loss_iou.current()))


def test_open_vocabulary_yolact_trains_on_base_and_evaluates_on_all(
        shapes_root, tmp_path):
    torch.manual_seed(0)
    base, all_ = str(tmp_path / 'base.pth'), str(tmp_path / 'all.pth')
    emb = F.normalize(torch.randn(len(SHAPE_CLASSES), 64), dim=-1)
    torch.save(emb[[SHAPE_CLASSES.index(c) for c in BASE_CLASSES]], base)
    torch.save(emb, all_)
    cfg = _config(OVD_CONFIG, shapes_root, tmp_path, **{
        'model.bbox_head.train_vocabulary': base,
        'model.bbox_head.test_vocabulary': all_,
    })
    reset_mm_singletons()
    runner = train(cfg, work_dir=str(tmp_path / 'ovd'))
    assert runner.iter >= 1
    reset_mm_singletons()
    metrics = run_test(cfg, str(tmp_path / 'ovd' / 'epoch_1.pth'),
                       work_dir=str(tmp_path / 'ovd_test'))
    for key in ('coco/novel_ap50', 'coco/base_ap50', 'coco/all_ap50',
                'coco/segm_novel_ap50'):
        assert 0.0 <= metrics[key] <= 1.0
