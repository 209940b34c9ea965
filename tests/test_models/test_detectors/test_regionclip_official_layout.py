"""RegionCLIP's official input layout and score product: the CLIP input is
not padded, the offline RPN pads its own input, the test resize is PIL
bilinear on uint8, and objectness_score='logit' is the official product."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from conftest import REPO
from mmdet.registry import MODELS, TRANSFORMS
from mmdet.structures import DetDataSample
from mmengine.config import Config, ConfigDict
from PIL import Image

from mmregion.models.detectors.regionclip import (
    offline_rpn_proposals,
    rpn_input_layout,
)

CONFIGS = osp.join(REPO, 'configs', 'regionclip')
OFFICIAL = [
    'regionclip_rn50_c4_zeroshot-gt_coco-ovd.py',
    'regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py',
    'regionclip_rn50_c4_1x_coco-ovd.py',
    'regionclip_rn50_c4_1x_lvis-ovd.py',
    'regionclip_rn50x4_c4_zeroshot-gt_coco-ovd.py',
    'regionclip_rn50x4_c4_zeroshot-rpn_coco-ovd.py',
    'regionclip_rn50x4_c4_1x_coco-ovd.py',
    'regionclip_rn50x4_c4_1x_lvis-ovd.py',
]


@pytest.mark.parametrize('name', OFFICIAL)
def test_official_configs_pad_and_resize_as_regionclip(name):
    cfg = Config.fromfile(osp.join(CONFIGS, name))
    assert cfg.model.data_preprocessor.pad_size_divisor == 1
    rpn = cfg.model.get('offline_rpn')
    if rpn is not None:
        # detectron2: size_divisibility 32 for an FPN, 0 for a C4 ResNet
        expected = 32 if rpn.get('neck') else 1
        assert rpn.data_preprocessor.pad_size_divisor == expected
    load, resize = cfg.test_pipeline[0], cfg.test_pipeline[1]
    assert load.imdecode_backend == 'pillow'
    assert (resize.type, resize.backend,
            resize.interpolation) == ('Resize', 'pillow', 'bilinear')


def test_lvis_and_zero_shot_rpn_multiply_the_rpn_score():
    for name in ('regionclip_rn50_c4_1x_lvis-ovd.py',
                 'regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py'):
        cfg = Config.fromfile(osp.join(CONFIGS, name))
        assert cfg.model.roi_head.use_objectness is True
    cfg = Config.fromfile(
        osp.join(CONFIGS, 'regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py'))
    # the official zero-shot RPN is the LVIS R50-FPN one, NMS 0.9
    assert cfg.model.offline_rpn.neck.type == 'FPN'
    assert cfg.model.offline_rpn.rpn_head.num_convs == 1
    assert cfg.model.offline_rpn.test_cfg.rpn.nms.iou_threshold == 0.9


def test_test_resize_is_pil_bilinear_on_uint8():
    cfg = Config.fromfile(osp.join(CONFIGS, OFFICIAL[0]))
    resize = TRANSFORMS.build(cfg.test_pipeline[1])
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (97, 131, 3), dtype=np.uint8)
    out = resize(dict(img=image.copy(), img_shape=image.shape[:2]))
    # detectron2's ResizeShortestEdge(800, 1333) -> ResizeTransform
    scale = 800 / 97
    new_h, new_w = int(97 * scale + 0.5), int(131 * scale + 0.5)
    expected = np.asarray(
        Image.fromarray(image).resize((new_w, new_h), Image.BILINEAR))
    assert out['img'].shape == expected.shape
    np.testing.assert_array_equal(out['img'], expected)
    cv2_resized = mmcv.imresize(image, (new_w, new_h))
    assert not np.array_equal(cv2_resized, expected)


def test_rpn_input_layout_pads_each_image_and_the_batch():
    inputs = torch.ones(2, 3, 40, 50)
    samples = [
        DetDataSample(metainfo=dict(img_shape=(40, 50))),
        DetDataSample(metainfo=dict(img_shape=(30, 45)))
    ]
    out = rpn_input_layout(inputs, samples, 32, 0.)
    assert out.shape == (2, 3, 64, 64)
    assert out[0, :, :40, :50].eq(1).all() and out[0, :, 40:].eq(0).all()
    assert out[1, :, :30, :45].eq(1).all()
    assert out[1, :, 30:].eq(0).all() and out[1, :, :, 45:].eq(0).all()
    same = rpn_input_layout(inputs[:1], samples[:1], 1, 0.)
    assert same.shape == (1, 3, 40, 50) and same.eq(1).all()


class _RecordingRPN(torch.nn.Module):
    """Records the input the offline RPN's backbone gets."""

    def __init__(self, divisor: int) -> None:
        super().__init__()
        self.data_preprocessor = MODELS.build(
            dict(type='DetDataPreprocessor',
                 mean=[103.53, 116.28, 123.675],
                 std=[1., 1., 1.],
                 bgr_to_rgb=False,
                 pad_size_divisor=divisor))
        self.seen = None
        self.bbox_head = self

    def extract_feat(self, x):
        self.seen = x
        return (x, )

    def predict(self, feats, samples, rescale):
        return []


@pytest.mark.parametrize('divisor,shape', [(32, (64, 96)), (1, (50, 70))])
def test_offline_rpn_pads_its_own_input(divisor, shape):
    ours = MODELS.build(
        dict(type='DetDataPreprocessor',
             mean=[122.77, 116.75, 104.09],
             std=[68.5, 66.6, 70.3],
             bgr_to_rgb=True,
             pad_size_divisor=1))
    rpn = _RecordingRPN(divisor)
    torch.manual_seed(0)
    raw_bgr = torch.rand(1, 3, 50, 70) * 255
    inputs = (raw_bgr.flip(1) - ours.mean) / ours.std
    samples = [DetDataSample(metainfo=dict(img_shape=(50, 70)))]
    offline_rpn_proposals(rpn, ours, inputs, samples)
    assert tuple(rpn.seen.shape[-2:]) == shape
    expected = raw_bgr - rpn.data_preprocessor.mean
    torch.testing.assert_close(rpn.seen[..., :50, :70],
                               expected,
                               atol=1e-3,
                               rtol=0)
    assert rpn.seen[..., 50:, :].eq(0).all()
    assert rpn.seen[..., :, 70:].eq(0).all()


def _head(mode: str):
    head = MODELS.build(
        dict(type='RegionCLIPBBoxHead',
             embed_dim=8,
             train_vocabulary=torch.randn(3, 8),
             no_box_delta=True,
             objectness_score=mode))
    return head.eval()


def test_logit_objectness_is_the_official_product():
    torch.manual_seed(0)
    logits = torch.tensor([2.0, -1.0, 0.5])
    rois = torch.tensor([[0, 0., 0., 10., 10.], [0, 20., 20., 40., 40.],
                         [0, 50., 50., 70., 90.]])
    cls = torch.randn(3, 4) * 3
    cfg = ConfigDict(score_thr=0.0,
                     nms=dict(type='nms', iou_threshold=0.5),
                     max_per_img=100)
    meta = [dict(img_shape=(100, 100), scale_factor=(1., 1.))]
    probs = cls.softmax(-1)
    for mode, factor in (('sigmoid', logits.sigmoid()), ('logit', logits)):
        res = _head(mode).predict_by_feat((rois, ), (cls, ), (None, ), meta,
                                          cfg, False, [logits.sigmoid()])[0]
        expected = torch.sqrt(probs * factor[:, None])[:, :3]
        keep = expected.isfinite().all(1)
        # the official fast_rcnn_inference drops the NaN (negative-logit)
        # proposal; the sigmoid product keeps every proposal
        assert bool(keep.all()) == (mode == 'sigmoid')
        want = expected[keep].flatten().sort(descending=True).values
        torch.testing.assert_close(res.scores.sort(descending=True).values,
                                   want,
                                   rtol=1e-5,
                                   atol=0)
    with pytest.raises(ValueError, match="objectness_score must be one of"):
        _head('raw')
