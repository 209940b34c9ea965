"""ONNX export of YOLACT, YOLACT++ and open-vocabulary YOLACT: onnxruntime
(CPU) against PyTorch on tiny random models, at batch 1 and 2."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config
from onnx_parity import (
    assert_raw_close,
    assert_same_detections,
    tame_residuals,
)
from tiny_yolact import CONFIG, SHAPES, calibrate_bn, samples, tiny_yolact_cfg

ort = pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')

from mmregion.deploy import DCNExportError, export_onnx  # noqa: E402
from mmregion.deploy.runner import ONNXDetector  # noqa: E402
from mmregion.deploy.swaps import prepare_for_export  # noqa: E402
from mmregion.deploy.yolact_graph import YOLACTGraph  # noqa: E402

CLASSES = [f'shape{i}' for i in range(8)]


def tiny_config(model_cfg) -> Config:
    """The synthetic YOLACT config around a tiny model, 96 px inputs."""
    cfg = Config.fromfile(CONFIG)
    cfg.model = model_cfg
    # a higher threshold than COCO's 0.05: random models score every
    # class near 1/9, and varied counts per image are the harder case
    cfg.model.test_cfg.score_thr = 0.12
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(96, 96), keep_ratio=False),
        dict(type='PackDetInputs')
    ]
    return cfg


def build(cfg: Config, seed: int = 0):
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return tame_residuals(calibrate_bn(model)).eval()


@pytest.fixture(scope='module')
def yolact(tmp_path_factory):
    """A tiny YOLACT: config file, checkpoint and the PyTorch model."""
    root = tmp_path_factory.mktemp('yolact_onnx')
    cfg = tiny_config(tiny_yolact_cfg())
    model = build(cfg)
    config, ckpt = str(root / 'yolact.py'), str(root / 'yolact.pth')
    cfg.dump(config)
    torch.save(
        dict(state_dict=model.state_dict(),
             meta=dict(dataset_meta=dict(classes=CLASSES))), ckpt)
    return dict(root=root, config=config, ckpt=ckpt, model=model)


def check_parity(path: str, model, batch: int, seed: int = 1) -> int:
    """Raw outputs against the eager graph, detections against
    ``model.predict``; returns the number of detections compared."""
    runner = ONNXDetector(path)
    torch.manual_seed(seed)
    x = torch.randn(batch, 3, 96, 96)
    graph = YOLACTGraph(prepare_for_export(model, 19), (96, 96)).eval()
    with torch.no_grad():
        ref = dict(zip(graph.output_names, graph(x)))
        want = model.predict(x, samples(SHAPES[:batch], with_gt=False))
    assert_raw_close(runner.run(dict(img=x)), ref)
    got = runner.predict(x, samples(SHAPES[:batch], with_gt=False))
    return assert_same_detections(want, got)


def test_dynamic_batch_parity_at_batch_1_and_2(yolact):
    path = str(yolact['root'] / 'dynamic.onnx')
    files = export_onnx(yolact['config'], yolact['ckpt'], path,
                        dynamic_batch=True)
    assert files == [path]
    counts = [check_parity(path, yolact['model'], b) for b in (1, 2)]
    assert counts[0] > 0 and counts[1] > counts[0]


def test_fixed_batch_graph_splits_and_pads_and_stores_the_contract(yolact):
    path = str(yolact['root'] / 'fixed2.onnx')
    export_onnx(yolact['config'], yolact['ckpt'], path, batch_size=2)
    proto = onnx.load(path)
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta['input_size']) == [96, 96]
    assert json.loads(meta['class_names']) == CLASSES
    assert json.loads(meta['channel_order']) == 'rgb'
    assert json.loads(meta['mean']) == [123.68, 116.78, 103.94]
    assert json.loads(meta['batch_size']) == 2
    # a batch of 3 runs as two graph calls, the second zero-padded
    assert check_parity(path, yolact['model'], 3, seed=2) > 0


def test_images_through_the_exported_pipeline(yolact, shapes_root):
    path = str(yolact['root'] / 'dynamic_images.onnx')
    export_onnx(yolact['config'], yolact['ckpt'], path, dynamic_batch=True)
    runner = ONNXDetector(path)
    images = [osp.join(shapes_root, 'val', f'00000{i}.png') for i in (0, 1)]
    batch = runner.preprocess(images)
    assert batch['inputs'].shape == (2, 3, 96, 96)
    with torch.no_grad():
        want = yolact['model'].predict(batch['inputs'].float(),
                                       batch['data_samples'])
    got = runner(images)
    assert assert_same_detections(want, got) > 0
    assert got[0].pred_instances.masks.shape[1:] == (96, 96)


def test_yolactpp_dcn_exports_as_deform_conv_or_is_refused(yolact):
    cfg = tiny_config(tiny_yolact_cfg(plus=True))
    cfg.model.mask_head.rescore = 'mask'
    model = build(cfg)
    config, ckpt = (str(yolact['root'] / 'yolactpp.py'),
                    str(yolact['root'] / 'yolactpp.pth'))
    cfg.dump(config)
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    with pytest.raises(DCNExportError, match='DeformConv from opset 19'):
        export_onnx(config, ckpt, str(yolact['root'] / 'pp17.onnx'),
                    opset=17)
    path = str(yolact['root'] / 'pp.onnx')
    export_onnx(config, ckpt, path, dynamic_batch=True)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'DeformConv' in ops
    assert not any(n.domain.startswith('mmcv')
                   for n in onnx.load(path).graph.node)
    for b in (1, 2):
        assert check_parity(path, model, b) > 0
    got = ONNXDetector(path).predict(
        torch.randn(1, 3, 96, 96), samples(SHAPES[:1], with_gt=False))
    assert 'mask_scores' in got[0].pred_instances


def test_open_vocabulary_yolact_folds_the_vocabulary(yolact):
    from mmregion.models.language.vocabulary import Vocabulary
    torch.manual_seed(0)
    base = F.normalize(torch.randn(6, 64), dim=-1)
    vocab = Vocabulary(
        F.normalize(torch.randn(3, 64), dim=-1), names='star . moon . sun')
    vocab_file = str(yolact['root'] / 'vocab.pth')
    vocab.save(vocab_file)
    cfg = tiny_config(tiny_yolact_cfg())
    # temperature 0.2, not 0.01: random embeddings at 0.01 give logits of
    # +-30 and scores that round to exactly 1.0, whose order among equals
    # is up to each topk implementation
    cfg.model.bbox_head.update(
        type='OpenVocabYOLACTHead', num_classes=None, embed_dim=64,
        train_vocabulary=base, test_vocabulary=None, temperature=0.2)
    cfg.model.mask_head.num_classes = 6
    model = build(cfg)
    ckpt = str(yolact['root'] / 'ovd.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    path = str(yolact['root'] / 'ovd.onnx')
    export_onnx(cfg, ckpt, path, texts=vocab_file, dynamic_batch=True)
    runner = ONNXDetector(path)
    assert runner.dataset_meta['classes'] == ('star', 'moon', 'sun')
    weights = [
        t for t in onnx.load(path).graph.initializer
        if sorted(t.dims) == [4, 64]
    ]
    assert len(weights) == 1  # the folded classifier: 3 words + background
    model.bbox_head.set_vocabulary(vocab.embeddings)
    for b in (1, 2):
        check_parity(path, model, b)


def test_cli_export_and_image_demo_with_onnxruntime(yolact, shapes_root,
                                                    monkeypatch, capsys):
    import glob
    import runpy
    import subprocess
    import sys

    from conftest import REPO
    out = yolact['root'] / 'cli'
    model = str(out / 'model.onnx')
    run = dict(cwd=REPO, capture_output=True, text=True, timeout=300)
    proc = subprocess.run([
        sys.executable, 'tools/deployment/export_onnx.py', yolact['config'],
        yolact['ckpt'], '--out', model, '--dynamic-batch'
    ], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'wrote {model}' in proc.stdout
    proc = subprocess.run([
        sys.executable, 'demo/image_demo.py',
        osp.join(shapes_root, 'val'), model, '--backend', 'onnxruntime',
        '--out-dir', str(out / 'demo'), '--score-thr', '0.1'
    ], **run)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f'vocabulary of 8: {", ".join(CLASSES)}' in proc.stdout
    preds = sorted(glob.glob(str(out / 'demo' / 'preds' / '*.json')))
    assert len(preds) == 8
    assert len(glob.glob(str(out / 'demo' / 'vis' / '*.png'))) == 8
    pred = json.load(open(preds[0]))
    assert len(pred['labels']) == len(pred['masks']) == len(pred['bboxes'])
    # bad input: one line on stderr, exit 2, nothing written
    monkeypatch.setattr(sys, 'argv', [
        'export_onnx.py', yolact['config'],
        str(out / 'missing.pth'), '--out', str(out / 'bad.onnx')
    ])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(
            osp.join(REPO, 'tools/deployment/export_onnx.py'),
            run_name='__main__')
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f'export_onnx.py: error: FileNotFoundError: checkpoint file '
        f'{out / "missing.pth"} does not exist')
    assert not osp.exists(out / 'bad.onnx')
