"""docs/own_data.md, run command by command on a tiny generated dataset."""
import json
import os
import os.path as osp
import re
import subprocess

import pytest
from conftest import PYTHON, REPO

DOC = osp.join(REPO, 'docs', 'own_data.md')


def _run(*commands, cwd):
    """Run tool command lines (several at once), as the guide types them."""
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    procs = [
        subprocess.Popen([PYTHON, osp.join(REPO, c[0])] + c[1:], cwd=cwd,
                         env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outputs = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, out[-2000:] + err[-3000:]
        outputs.append(out)
    return outputs


def _guide_config() -> str:
    """The config of the guide's step 3, as printed there."""
    text = open(DOC).read()
    block = re.search(r'```python\n(# Open-vocabulary RegionCLIP on my '
                      r'dataset.*?)```', text, re.S)
    return block.group(1)


def _metrics(stdout: str) -> dict:
    found = dict(re.findall(r'coco/(novel|base|all)_ap50: (-?[0-9.]+|nan)',
                            stdout))
    return {k: float(v) for k, v in found.items()}


@pytest.fixture(scope='module')
def guide_dir(tmp_path_factory):
    """The tiny dataset, split, CLIP weights and embeddings of steps 0-2."""
    import open_clip
    import torch

    from mmregion.synthetic import ShapesConfig, generate_shapes_dataset
    root = str(tmp_path_factory.mktemp('own_data'))
    generate_shapes_dataset(
        osp.join(root, 'data', 'my_shapes'), dict(train=8, val=6), seed=1,
        cfg=ShapesConfig(img_size=(96, 96), max_objects=3))
    # random tiny-CLIP weights stand in for the trained ones
    os.makedirs(osp.join(root, 'checkpoints'))
    torch.manual_seed(0)
    torch.save(open_clip.create_model('RN-tiny').state_dict(),
               osp.join(root, 'checkpoints', 'clip_rn-tiny.pth'))
    shapes = 'data/my_shapes/'
    _run(*[[
        'tools/misc/make_ovd_split.py', 'custom',
        f'{shapes}annotations/instances_{s}.json', f'{shapes}ovd', '--novel',
        'hexagon,heart'
    ] for s in ('train', 'val')], cwd=root)
    outs = _run(*[[
        'tools/misc/extract_text_embeddings.py', '--model', 'RN-tiny',
        '--checkpoint', 'checkpoints/clip_rn-tiny.pth', '--names-file',
        f'{shapes}ovd/instances_train_ovd_names_{g}.txt', '--templates',
        'simple', '--out', f'{shapes}ovd/emb_{g}.pth'
    ] for g in ('base', 'all')], cwd=root)
    assert '6 classes, dim 64' in outs[0] and '8 classes, dim 64' in outs[1]
    with open(osp.join(root, shapes, 'my_ovd.py'), 'w') as f:
        f.write(_guide_config().replace(
            "'../../configs/", repr(osp.join(REPO, 'configs', ''))[:-1]))
    return root


def test_split_files(guide_dir):
    ovd = osp.join(guide_dir, 'data', 'my_shapes', 'ovd')
    split = json.load(open(osp.join(ovd, 'instances_val_ovd_categories.json')))
    assert split['novel'] == ['hexagon', 'heart'] and len(split['base']) == 6
    train = json.load(open(osp.join(ovd,
                                    'instances_train_ovd_train_base.json')))
    novel_ids = {c['id'] for c in train['categories'] if c['split'] == 'novel'}
    assert len(novel_ids) == 2
    assert train['annotations'] and not any(
        a['category_id'] in novel_ids for a in train['annotations'])
    val = json.load(open(osp.join(ovd, 'instances_val_ovd_val_all.json')))
    assert any(a['category_id'] in novel_ids for a in val['annotations'])
    names = open(osp.join(ovd, 'instances_train_ovd_names_all.txt')).read()
    assert names.split() == [c['name'] for c in train['categories']]


def test_zero_shot_fine_tune_and_demo(guide_dir):
    cfg = 'data/my_shapes/my_ovd.py'
    small = [
        '--cfg-options', 'train_cfg.max_epochs=1',
        'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False'
    ]
    zero_shot, trained = _run(
        ['tools/test.py', cfg, '--work-dir', 'work_dirs/my_ovd_zeroshot'] +
        small + [
            'model.proposal_source=gt',
            'model.roi_head.bbox_head.no_box_delta=True',
            'model.test_cfg.rcnn.score_thr=0.0'
        ], ['tools/train.py', cfg, '--work-dir', 'work_dirs/my_ovd'] + small,
        cwd=guide_dir)
    metrics = _metrics(zero_shot)
    assert sorted(metrics) == ['all', 'base', 'novel']
    assert all(0.0 <= v <= 1.0 for v in metrics.values()), metrics
    ckpt = 'work_dirs/my_ovd/epoch_1.pth'
    assert osp.isfile(osp.join(guide_dir, ckpt))
    fine_tuned, demo = _run(
        # (one epoch of 8 images: keep every box, so that there are some)
        ['tools/test.py', cfg, ckpt, '--work-dir', 'work_dirs/my_ovd'] +
        small + ['model.test_cfg.rcnn.score_thr=0.0'], [
            'demo/image_demo.py', 'data/my_shapes/val/000000.png', cfg,
            '--weights', ckpt, '--texts', 'data/my_shapes/ovd/emb_all.pth',
            '--out-dir', 'work_dirs/my_demo', '--score-thr', '0.0'
        ],
        cwd=guide_dir)
    metrics = _metrics(fine_tuned)
    assert sorted(metrics) == ['all', 'base', 'novel']
    assert 'vocabulary of 8: circle, square' in demo
    assert osp.isfile(
        osp.join(guide_dir, 'work_dirs', 'my_demo', 'vis', '000000.png'))
