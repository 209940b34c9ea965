"""The full MS R-CNN config loads an mmdet MS R-CNN checkpoint and gives
mmdet's own MS R-CNN outputs, exactly (in-process)."""
import os.path as osp

import mmdet
import numpy as np
import torch
from conftest import REPO
from mmdet.apis import init_detector
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

OURS = osp.join(REPO, 'configs', 'ms_rcnn', 'ms-rcnn_r50_fpn_1x_coco.py')
MMDET = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'ms_rcnn',
                 'ms-rcnn_r50_fpn_1x_coco.py')


def _mmdet_checkpoint(path: str) -> torch.nn.Module:
    """mmdet's own MS R-CNN, random weights, saved as mmdet saves it."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(MMDET)
    cfg.model.backbone.init_cfg = None  # no download
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # nothing zero (mmdet initialises biases to 0)
            p.add_(torch.randn_like(p) * 0.01)
        # class scores spread out, about ten detections above score_thr
        # (few masks through the mask heads: a fast test)
        head = model.roi_head.bbox_head
        head.fc_cls.weight.mul_(200.)
        head.fc_cls.bias[-1] = 30.  # background (last in mmdet)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    model.eval()
    torch.save({'meta': {'mmdet_version': '3.3.0'},
                'state_dict': model.state_dict()}, path)
    return model


def _fields(inst: InstanceData) -> dict:
    return {k: inst.get(k) for k in sorted(inst.keys())}


def test_ms_rcnn_config_gives_mmdet_ms_rcnn_outputs(tmp_path):
    path = str(tmp_path / 'ms_rcnn_mmdet.pth')
    ref = _mmdet_checkpoint(path)
    cfg = Config.fromfile(OURS)
    cfg.model.backbone.init_cfg = None
    ours = init_detector(cfg, path, device='cpu')
    assert type(ours.roi_head.mask_iou_head).__name__ == \
        'MaskIoURescoringHead'
    img = np.random.default_rng(0).integers(0, 256, (96, 128, 3),
                                            dtype=np.uint8)
    from mmdet.structures import DetDataSample
    sample = DetDataSample(metainfo=dict(
        img_shape=(96, 128), ori_shape=(96, 128), scale_factor=(1., 1.)))
    data = pseudo_collate([dict(
        inputs=torch.from_numpy(img).permute(2, 0, 1).contiguous(),
        data_samples=sample)])
    with torch.no_grad():
        expected = ref.test_step(data)[0].pred_instances
        got = ours.test_step(data)[0].pred_instances
    assert len(expected) > 0
    exp, out = _fields(expected), _fields(got)
    assert list(out) == list(exp)
    assert 'masks' in exp
    for key in exp:
        assert torch.equal(out[key], exp[key]), key
