"""Training, resuming and testing through mmregion.apis (as tools/ do)."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmdet.visualization import DetLocalVisualizer
from mmengine.logging import MessageHub
from mmengine.visualization import Visualizer

from mmregion.apis import load_config, train
from mmregion.apis import test as run_test


def _losses(work_dir):
    """Per-iteration training losses from the run's scalars.json files."""
    losses = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        for line in open(path):
            rec = json.loads(line)
            if 'loss' in rec and 'step' in rec and 'lr' in rec:
                losses[rec['step']] = rec['loss']
    return losses


def _fresh_message_hub():
    # Runners in one process share MessageHub and visualizer instances by
    # name: a resumed run must not see the previous run's buffers, and each
    # run must write its scalars into its own work_dir.
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def test_resume_matches_uninterrupted_run(tiny_config, tmp_path):
    cfg = tiny_config(**{'train_cfg.max_epochs': 2})
    full_dir, part_dir = str(tmp_path / 'full'), str(tmp_path / 'part')

    _fresh_message_hub()
    train(cfg, work_dir=full_dir)
    _fresh_message_hub()
    train(cfg, work_dir=part_dir, cfg_options={'train_cfg.max_epochs': 1})
    _fresh_message_hub()
    train(cfg, work_dir=part_dir, resume=True)

    full, part = _losses(full_dir), _losses(part_dir)
    assert sorted(full) == list(range(1, 17))  # 16 images / batch 2, x2
    assert sorted(part) == sorted(full)
    for step in range(9, 17):  # the iterations after the resume
        assert part[step] == pytest.approx(full[step], rel=1e-4, abs=1e-5)

    a = torch.load(osp.join(full_dir, 'epoch_2.pth'), weights_only=False)
    b = torch.load(osp.join(part_dir, 'epoch_2.pth'), weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter'] == 16
    assert a['meta']['epoch'] == b['meta']['epoch'] == 2
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(b['state_dict'][key], value, rtol=1e-4,
                                   atol=1e-5)
    opt_a, opt_b = a['optimizer']['state'], b['optimizer']['state']
    assert opt_a.keys() == opt_b.keys() and opt_a
    for k in opt_a:
        torch.testing.assert_close(opt_b[k]['momentum_buffer'],
                                   opt_a[k]['momentum_buffer'], rtol=1e-4,
                                   atol=1e-5)


def test_load_from_then_test(tiny_config, tmp_path):
    cfg = tiny_config(**{'train_cfg.max_epochs': 1})
    work = str(tmp_path / 'w')
    _fresh_message_hub()
    train(cfg, work_dir=work)
    ckpt = osp.join(work, 'epoch_1.pth')
    _fresh_message_hub()
    train(cfg, work_dir=str(tmp_path / 'ft'),
          cfg_options={'load_from': ckpt})
    _fresh_message_hub()
    out = str(tmp_path / 'preds.pkl')
    metrics = run_test(cfg, ckpt, work_dir=work, out=out, show_dir='vis')
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP'):
        assert 0.0 <= metrics[key] <= 1.0
    assert osp.getsize(out) > 0
    drawn = glob.glob(osp.join(work, '*', 'vis', '*.png'))
    assert drawn


def test_config_key_typo_is_refused(tiny_config):
    cfg = tiny_config(train_dataloder=dict(batch_size=4))
    with pytest.raises(KeyError, match="'train_dataloder'; did you mean "
                       "'train_dataloader'"):
        load_config(cfg)


def test_model_key_typo_names_key(tiny_config, tmp_path):
    cfg = tiny_config(**{'model.backbone.depht': 50})
    _fresh_message_hub()
    with pytest.raises(TypeError, match="unexpected keyword argument 'depht'"):
        train(cfg, work_dir=str(tmp_path / 'typo'))


def test_missing_files_are_named(tiny_config, tmp_path):
    with pytest.raises(FileNotFoundError, match='config file nope.py'):
        load_config('nope.py')
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        train(tiny_config(), resume=str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='--out must be a .pkl'):
        run_test(tiny_config(), __file__, out='x.json')
