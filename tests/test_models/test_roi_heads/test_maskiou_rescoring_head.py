"""MaskIoURescoringHead: mmdet's MaskIoUHead by default, YOLACT++'s
re-scoring net when configured so."""
import pytest
import torch
from mmdet.models.roi_heads.mask_heads import MaskIoUHead
from mmdet.registry import MODELS

from mmregion.models.roi_heads import MaskIoURescoringHead


def test_defaults_equal_mmdet_maskiou_head_and_load_its_weights():
    torch.manual_seed(0)
    ref = MaskIoUHead(num_classes=5, in_channels=16, conv_out_channels=16,
                      fc_out_channels=32)
    ours = MaskIoURescoringHead(num_classes=5, in_channels=16,
                                conv_out_channels=16, fc_out_channels=32)
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())
    feats, masks = torch.randn(3, 16, 14, 14), torch.randn(3, 28, 28)
    torch.testing.assert_close(ours(feats, masks), ref(feats, masks))


def test_yolactpp_configuration_scores_full_masks():
    head = MODELS.build(
        dict(
            type='MaskIoURescoringHead',
            num_convs=5,
            in_channels=0,
            conv_out_channels=(8, 16, 32, 64, 128),
            conv_strides=(2, 2, 2, 2, 2),
            conv_paddings=0,
            num_classes=7,
            mask_input='full',
            mask_activation=None,
            predictor='conv'))
    head.init_weights()
    x = torch.rand(4, 138, 138)
    for conv in head.convs:
        x = conv(x[:, None] if x.dim() == 3 else x)
    assert x.shape[-2:] == (3, 3)  # 138 -> 68 -> 33 -> 16 -> 7 -> 3
    iou = head(None, torch.rand(4, 138, 138))
    assert iou.shape == (4, 7)
    assert (iou >= 0).all()  # ReLU before the global max pool
    assert len(head.fcs) == 0
    assert head.fc_mask_iou.weight.shape == (7, 128, 1, 1)


def test_mask_iou_rescoring_of_ms_rcnn_results():
    head = MaskIoURescoringHead(num_classes=3)
    from mmengine.structures import InstanceData
    res = InstanceData(scores=torch.tensor([0.8, 0.5]),
                       labels=torch.tensor([2, 0]))
    out = head.predict_by_feat(
        (torch.tensor([[0.1, 0.2, 0.5], [0.9, 0.3, 0.3]]), ), [res])
    torch.testing.assert_close(out[0].scores, torch.tensor([0.4, 0.45]))


@pytest.mark.parametrize('kwargs, message', [
    (dict(mask_input='avg'), "mask_input must be 'pooled' or 'full'"),
    (dict(predictor='mlp'), "predictor must be 'fc' or 'conv'"),
    (dict(mask_activation='relu'), "mask_activation must be 'sigmoid'"),
    (dict(num_convs=2, conv_out_channels=(8, 8, 8)),
     'conv_out_channels has 3 entries but num_convs is 2'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        MaskIoURescoringHead(**kwargs)
