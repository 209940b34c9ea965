"""FloatResize: dbolya/yolact's float bilinear resize in mmdet's Resize."""
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.datasets.transforms import Resize

from mmregion.datasets.transforms import FloatResize


def _image(h=37, w=53):
    return np.random.default_rng(0).integers(
        0, 256, (h, w, 3), dtype=np.uint8)


def test_float_resize_equals_torch_bilinear_on_the_float_image():
    img = _image()
    out = FloatResize(scale=(550, 550), keep_ratio=False)(dict(
        img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    ref = F.interpolate(
        torch.from_numpy(img).float().permute(2, 0, 1)[None], (550, 550),
        mode='bilinear', align_corners=False)[0].permute(1, 2, 0)
    assert out['img'].dtype == np.float32
    assert np.array_equal(out['img'], ref.numpy())
    assert out['img_shape'] == (550, 550)
    np.testing.assert_allclose(out['scale_factor'], (550 / 53, 550 / 37))
    # mmdet's Resize rounds the OpenCV result to uint8: not the official
    mmdet = Resize(scale=(550, 550), keep_ratio=False)(dict(
        img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2]))
    assert np.abs(mmdet['img'] - out['img']).max() > 0.1


def test_float_resize_keeps_ratio_and_resizes_boxes():
    img = _image(40, 80)
    boxes = np.array([[8., 4., 40., 20.]], dtype=np.float32)
    from mmdet.structures.bbox import HorizontalBoxes
    out = FloatResize(scale=(100, 100), keep_ratio=True)(dict(
        img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
        gt_bboxes=HorizontalBoxes(boxes)))
    assert out['img'].shape == (50, 100, 3)
    assert out['scale_factor'] == (100 / 80, 50 / 40)
    np.testing.assert_allclose(out['gt_bboxes'].numpy(),
                               [[10., 5., 50., 25.]])
