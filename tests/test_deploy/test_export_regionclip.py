"""ONNX export of RegionCLIP (given boxes; RPN as two graphs): onnxruntime
(CPU) against PyTorch on a tiny random CLIP, at batch 1 and 2."""
import os.path as osp

import open_clip
import pytest
import torch
import torch.nn.functional as F
from conftest import REPO
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData
from onnx_parity import assert_raw_close, assert_same_detections

ort = pytest.importorskip('onnxruntime')
onnx = pytest.importorskip('onnx')

from mmregion.deploy import export_onnx  # noqa: E402
from mmregion.deploy.regionclip_graph import (  # noqa: E402
    RegionCLIPBoxesGraph,
    RegionCLIPRoIGraph,
    RegionCLIPRPNGraph,
    rpn_module,
)
from mmregion.deploy.runner import ONNXDetector  # noqa: E402
from mmregion.deploy.swaps import ExportError, prepare_for_export  # noqa: E402,E501
from mmregion.synthetic import SHAPE_CLASSES  # noqa: E402

CONFIG = osp.join(REPO,
                  'configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py')
SIZES = [(128, 160), (120, 100)]  # (input) and original shapes differ


@pytest.fixture(scope='module')
def clip_files(tmp_path_factory):
    """A random RN-tiny CLIP (its zero-initialised last BatchNorm of each
    residual branch set to 0.2, so the branches count) and embeddings of
    the shape names."""
    root = tmp_path_factory.mktemp('clip_onnx')
    torch.manual_seed(0)
    clip = open_clip.create_model('RN-tiny', pretrained=None).eval()
    with torch.no_grad():
        for name, param in clip.visual.named_parameters():
            if name.endswith('bn3.weight'):
                param.fill_(0.2)
    ckpt = str(root / 'clip.pth')
    torch.save(clip.state_dict(), ckpt)
    tokenizer = open_clip.get_tokenizer('RN-tiny')
    with torch.no_grad():
        emb = clip.encode_text(tokenizer(list(SHAPE_CLASSES)))
    vocab = str(root / 'emb_all.pth')
    torch.save(F.normalize(emb, dim=-1), vocab)
    return dict(root=root, checkpoint=ckpt, vocab=vocab)


def regionclip(clip_files, source: str, score_thr: float = 0.0,
               temperature: float = 0.01):
    """Config, model and a checkpoint of it (the CLIP weights come from the
    CLIP file; the box regressor and RPN are random)."""
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict({
        'model.backbone.checkpoint': clip_files['checkpoint'],
        'model.roi_head.bbox_head.train_vocabulary': clip_files['vocab'],
        'model.roi_head.bbox_head.test_vocabulary': clip_files['vocab'],
        # a random CLIP may rank the zero background logit first
        'model.test_cfg.rcnn.score_thr': score_thr,
        'model.proposal_source': source,
        'model.roi_head.bbox_head.temperature': temperature,
        'model.roi_head.bbox_head.no_box_delta': source == 'gt',
    })
    if source != 'rpn':
        cfg.model.rpn_head = None
    if source == 'offline_rpn':
        # a tiny frozen R18 RPN with its own (BGR, caffe) normalisation
        base = Config.fromfile(
            osp.join(REPO, 'configs/regionclip/_base_/regionclip_rn50_c4.py'))
        rpn = base.model.offline_rpn
        rpn.backbone.update(depth=18, base_channels=8)
        rpn.rpn_head.update(in_channels=32, feat_channels=32)
        rpn.test_cfg.rpn.update(nms_pre=200, max_per_img=50)
        cfg.model.offline_rpn = rpn
        cfg.model.roi_head.use_objectness = True
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    if source == 'rpn':
        # mmdet's RPN init (std 0.01) on the small res4 of the random CLIP
        # scores every anchor 0.5: ties (the offline R18's large features
        # vary enough)
        with torch.no_grad():
            for param in rpn_module(model).rpn_cls.parameters():
                param.normal_(std=0.3)
    ckpt = str(clip_files['root'] / f'regionclip_{source}.pth')
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    return cfg, model.eval(), ckpt


def batch(num_boxes):
    """Images, and samples with boxes in original coordinates."""
    torch.manual_seed(len(num_boxes))
    h, w = SIZES[0]
    out = []
    for i, n in enumerate(num_boxes):
        oh, ow = SIZES[1]
        s = DetDataSample(metainfo=dict(
            img_shape=(h, w), ori_shape=(oh, ow), pad_shape=(h, w),
            batch_input_shape=(h, w), scale_factor=(w / ow, h / oh)))
        xy = torch.rand(n, 2) * torch.tensor([ow, oh]) * 0.6
        wh = 8 + torch.rand(n, 2) * 30
        s.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1),
            labels=torch.zeros(n, dtype=torch.long))
        out.append(s)
    return torch.randn(len(num_boxes), 3, h, w), out


def test_a_quality_head_is_refused_before_anything_is_written(clip_files):
    cfg, _, _ = regionclip(clip_files, 'rpn')
    cfg.model.roi_head.quality_head = dict(
        type='RegionQualityHead', in_channels=128, roi_size=4)
    path = clip_files['root'] / 'quality.onnx'
    with pytest.raises(ExportError, match='quality_head .* is not exported'):
        export_onnx(cfg, None, str(path))
    assert not path.exists()


def test_given_boxes_graph_matches_at_batch_1_and_2(clip_files):
    cfg, model, ckpt = regionclip(clip_files, 'gt')
    path = str(clip_files['root'] / 'gt.onnx')
    assert export_onnx(cfg, ckpt, path, dynamic_batch=True) == [path]
    runner = ONNXDetector(path)
    # no vocabulary names in the files: the test dataset's classes
    assert runner.dataset_meta['classes'] == tuple(SHAPE_CLASSES)
    ops = {n.op_type for n in onnx.load(path).graph.node}
    assert 'RoiAlign' in ops
    graph = RegionCLIPBoxesGraph(prepare_for_export(model, 17)).eval()
    for counts in ([4], [3, 5]):
        x, samples = batch(counts)
        boxes = torch.nn.utils.rnn.pad_sequence([
            s.gt_instances.bboxes * s.gt_instances.bboxes.new_tensor(
                s.metainfo['scale_factor']).repeat(2) for s in samples
        ], batch_first=True)
        with torch.no_grad():
            ref = dict(zip(graph.output_names, graph(x, boxes)))
            want = model.predict(x, samples)
        assert_raw_close(runner.run(dict(img=x, boxes=boxes)), ref)
        got = runner.predict(x, batch(counts)[1])
        assert assert_same_detections(want, got) > 0


@pytest.mark.parametrize('source', ['rpn', 'offline_rpn'])
def test_rpn_mode_two_graphs_match_at_batch_1_and_2(clip_files, source):
    # at temperature 0.01 and score_thr 0 a random CLIP's tail holds scores
    # of ~1e-6 equal but for the last bits, whose order depends on them
    cfg, model, ckpt = regionclip(
        clip_files, source, score_thr=0.01, temperature=0.1)
    path = str(clip_files['root'] / f'{source}.onnx')
    files = export_onnx(cfg, ckpt, path, dynamic_batch=True)
    assert files == [path, str(clip_files['root'] / f'{source}.roi.onnx')]
    runner = ONNXDetector(path)
    with pytest.raises(ValueError, match='is the RoI stage'):
        ONNXDetector(files[1])
    prepared = prepare_for_export(model, 17)
    rpn = RegionCLIPRPNGraph(prepared, 1).eval()
    roi = RegionCLIPRoIGraph(prepared).eval()
    for counts in ([1], [1, 1]):
        x, samples = batch(counts)
        with torch.no_grad():
            ref = dict(zip(rpn.output_names, rpn(x)))
            rois = torch.tensor([[0., 4., 4., 60., 50.],
                                 [len(counts) - 1, 20., 10., 150., 120.]])
            ref_roi = roi(ref['res4'], rois)
            want = model.predict(x, samples)
        outs = runner.run(dict(img=x))
        assert_raw_close(outs, ref)
        got_roi = runner.roi_session.run(
            None, dict(res4=ref['res4'].numpy(), rois=rois.numpy()))
        assert_raw_close(
            dict(zip(roi.output_names, map(torch.from_numpy, got_roi))),
            dict(zip(roi.output_names, ref_roi)))
        got = runner.predict(x, batch(counts)[1])
        assert assert_same_detections(want, got) > 0
