"""Tiny YOLACT models and batches shared by the YOLACT tests."""
import copy
import os.path as osp

import torch
from conftest import REPO
from mmdet.structures import DetDataSample
from mmdet.structures.mask import BitmapMasks
from mmengine.config import Config
from mmengine.structures import InstanceData

CONFIG = osp.join(REPO, 'configs/synthetic/yolact_r50-tiny_shapes.py')
YOLACTPP = osp.join(REPO, 'configs/yolact/yolactpp_r50_1xb8-55e_coco.py')


def tiny_yolact_cfg(plus: bool = False):
    """The synthetic YOLACT config, shrunk: 96 px, widths 8/16, 8 protos."""
    cfg = Config.fromfile(CONFIG)
    feat_sizes = [12, 6, 3, 2, 1]
    cfg.merge_from_dict({
        'model.backbone.base_channels': 8,
        'model.neck.in_channels': [32, 64, 128, 256],
        'model.neck.out_channels': 16,
        'model.bbox_head.in_channels': 16,
        'model.bbox_head.feat_channels': 16,
        'model.bbox_head.num_protos': 8,
        'model.bbox_head.anchor_generator.strides':
        [96 / x for x in feat_sizes],
        'model.bbox_head.anchor_generator.centers':
        [(48 / x, 48 / x) for x in feat_sizes],
        'model.mask_head.in_channels': 16,
        'model.mask_head.num_protos': 8,
        'model.mask_head.proto_channels': (16, 16, 16, None, 16, 8),
    })
    if plus:
        plus_cfg = Config.fromfile(YOLACTPP).model
        cfg.model.backbone.update(
            type='IntervalDCNResNet',
            dcn=plus_cfg.backbone.dcn,
            stage_with_dcn=plus_cfg.backbone.stage_with_dcn)
        cfg.model.bbox_head.anchor_generator.scales_per_octave = 3
        cfg.model.mask_head.mask_iou_head = copy.deepcopy(
            plus_cfg.mask_head.mask_iou_head)
        cfg.model.mask_head.mask_iou_head.num_classes = 8
        # 24 px prototypes are too small for 5 unpadded stride-2 convs
        cfg.model.mask_head.mask_iou_head.conv_paddings = 1
    return cfg.model


def as_mmdet(model_cfg):
    """The same model with mmdet's own YOLACT heads."""
    ref = copy.deepcopy(model_cfg)
    ref.bbox_head.type = 'YOLACTHead'
    ref.bbox_head.pop('nms_type', None)
    ref.mask_head.type = 'YOLACTProtonet'
    return ref


def calibrate_bn(model, size=96):
    """Set BatchNorm statistics from random images, so that a randomly
    initialised model gives varied, unsaturated scores and boxes."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average
    model.train()
    with torch.no_grad():
        for _ in range(2):
            model.extract_feat(torch.randn(4, 3, size, size))
    return model.eval()


def samples(ori_shapes, size=96, with_gt=True):
    """Data samples of images resized to size x size from ori_shapes."""
    out = []
    for i, (h, w) in enumerate(ori_shapes):
        s = DetDataSample(
            metainfo=dict(
                img_shape=(size, size),
                ori_shape=(h, w),
                pad_shape=(size, size),
                batch_input_shape=(size, size),
                scale_factor=(size / w, size / h)))
        gt = InstanceData()
        if with_gt:
            masks = torch.zeros(2, size, size, dtype=torch.uint8)
            masks[0, 10:50, 8:40] = 1
            masks[1, 50:90, 45:92] = 1
            gt.bboxes = torch.tensor([[8., 10., 40., 50.], [45., 50., 92.,
                                                            90.]])
            gt.labels = torch.tensor([0, 3 + i % 4])
            gt.masks = BitmapMasks(masks.numpy(), size, size)
        else:
            gt.bboxes = torch.zeros(0, 4)
            gt.labels = torch.zeros(0, dtype=torch.long)
            gt.masks = BitmapMasks(
                torch.zeros(0, size, size, dtype=torch.uint8).numpy(), size,
                size)
        s.gt_instances = gt
        out.append(s)
    return out


SHAPES = [(120, 100), (96, 96), (120, 100)]
