"""The export-time replacements and fixed-size graph ops equal the PyTorch
modules and functions they stand for (no onnxruntime needed)."""
import pytest
import torch
from mmcv.ops import ModulatedDeformConv2dPack, RoIAlign
from mmdet.structures.bbox import bbox_overlaps

from mmregion.deploy.swaps import (
    DCNExportError,
    FoldedTextClassifier,
    ONNXModulatedDeformConv,
    TorchvisionRoIAlign,
    prepare_for_export,
)
from mmregion.deploy.yolact_graph import fixed_fast_nms, pairwise_iou
from mmregion.models.layers.fast_nms import batched_fast_nms
from mmregion.models.layers.text_classifier import TextClassifier


def random_boxes(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(*shape, 2, generator=g) * 80
    return torch.cat([xy, xy + 4 + torch.rand(*shape, 2, generator=g) * 40],
                     -1)


def test_pairwise_iou_is_bbox_overlaps_bit_for_bit():
    boxes = random_boxes(2, 3, 40)
    boxes[0, 0, :4] = 0  # empty boxes: the eps branch
    assert torch.equal(pairwise_iou(boxes), bbox_overlaps(boxes, boxes))


@pytest.mark.parametrize('max_num', [5, 100])
def test_fixed_fast_nms_keeps_what_batched_fast_nms_keeps(max_num):
    torch.manual_seed(0)
    bboxes = random_boxes(2, 60)
    scores = torch.rand(2, 60, 4) ** 3
    scores[1] *= 0.3  # image 2 has fewer candidates above the threshold
    coeffs = torch.randn(2, 60, 5)
    want = batched_fast_nms(bboxes, scores, coeffs, 0.1, 0.5, 20, max_num)
    boxes, got_scores, labels, got_coeffs, num = fixed_fast_nms(
        bboxes, scores, coeffs, 0.1, 0.5, 20, max_num)
    assert boxes.shape == (2, min(max_num, 4 * 20), 4)
    assert num.tolist() == want.valid.sum(1).tolist()
    # capped at max_num, or fewer survivors in the second image
    assert (num == 5).all() if max_num == 5 else num[0] > num[1] > 0
    for i, n in enumerate(num.tolist()):
        assert torch.equal(boxes[i, :n], want.bboxes[i, :n])
        assert torch.equal(got_scores[i, :n], want.scores[i, :n])
        assert torch.equal(labels[i, :n], want.labels[i, :n])
        assert torch.equal(got_coeffs[i, :n], want.coeffs[i, :n])
        assert (boxes[i, n:] == 0).all() and (got_scores[i, n:] == 0).all()


def test_folded_classifier_equals_the_text_classifier():
    torch.manual_seed(0)
    clf = TextClassifier(16, torch.randn(5, 16), temperature=0.05)
    folded = FoldedTextClassifier(clf)
    x = torch.randn(7, 16)
    assert folded.fc.weight.shape == (6, 16) and folded.num_classes == 5
    torch.testing.assert_close(folded(x), clf(x), rtol=1e-5, atol=1e-5)


def test_torchvision_roi_align_equals_mmcv():
    torch.manual_seed(0)
    layer = RoIAlign(7, spatial_scale=1 / 16, sampling_ratio=0, aligned=True)
    feats = torch.randn(2, 8, 20, 24)
    rois = torch.cat([torch.tensor([[0.], [1.], [1.]]),
                      random_boxes(3) * 3], 1)
    torch.testing.assert_close(
        TorchvisionRoIAlign(layer)(feats, rois), layer(feats, rois))


def test_deform_conv_wrapper_equals_mmcv_and_is_refused_below_opset_19():
    torch.manual_seed(0)
    layer = ModulatedDeformConv2dPack(8, 8, 3, padding=1, bias=False).eval()
    torch.nn.init.normal_(layer.conv_offset.weight, std=0.3)
    x = torch.randn(2, 8, 10, 10)
    with torch.no_grad():
        assert torch.equal(ONNXModulatedDeformConv(layer)(x), layer(x))
    with pytest.raises(DCNExportError, match='got --opset 17'):
        prepare_for_export(torch.nn.Sequential(layer), 17)
    swapped = prepare_for_export(torch.nn.Sequential(layer), 19)
    assert isinstance(swapped[0], ONNXModulatedDeformConv)
    assert isinstance(layer, ModulatedDeformConv2dPack)  # original kept
