"""Official YOLACT / YOLACT++ checkpoints (dbolya/yolact) ⇄ mmregion.

An official checkpoint (``yolact_base_54_800000.pth``,
``yolact_resnet50_54_800000.pth``, ``yolact_plus_base_54_800000.pth``,
``yolact_plus_resnet50_54_800000.pth``; ``yolact_im700`` has the layout of
``yolact_base``) is the plain state dict of the official ``Yolact`` module.
Key by key, with ``{i}`` a ResNet stage (0-3), ``{j}`` a block, ``L`` = 3
FPN input levels, ``P`` = ``prediction_layers.0`` (shared by all levels) and
``I`` = ``mask_head.mask_iou_head``:

=======================================  ====================================
official key                             mmregion key
=======================================  ====================================
``backbone.conv1``, ``backbone.bn1``     the same
``backbone.layers.{i}.{j}.{m}``, ``m``:  ``backbone.layer{i+1}.{j}.{m}``
conv1-3, bn1-3, downsample.{0,1}
``...{j}.conv2.conv_offset_mask`` (DCN)  ``...{j}.conv2.conv_offset``
``...{j}.conv2.bias`` (DCN)              folded into ``...{j}.bn2`` (below)
``fpn.lat_layers.{k}``                   ``neck.lateral_convs.{L-1-k}.conv``
``fpn.pred_layers.{k}``                  ``neck.fpn_convs.{L-1-k}.conv``
``fpn.downsample_layers.{k}`` (P6, P7)   ``neck.fpn_convs.{L+k}.conv``
``P.upfeature.{2n}``                     ``bbox_head.head_convs.{n}.conv``
``P.bbox_layer``                         ``bbox_head.conv_reg`` (anchors)
``P.conf_layer``                         ``bbox_head.conv_cls`` (anchors,
                                         classes)
``P.mask_layer``                         ``bbox_head.conv_coeff`` (anchors)
``proto_net.{n}``, n = 0, 2, 4, 8, 10    ``mask_head.protonet.{n}``
``semantic_seg_conv``                    ``mask_head.segm_branch.segm_conv``
``maskiou_net.maskiou_net.{2n}``         ``I.convs.{n}``; the last (the 1x1
                                         conv to the classes):
                                         ``I.fc_mask_iou``
=======================================  ====================================

* **FPN order.** The official FPN stores its lateral and output convs in
  reversed level order (index 0 is C5 / P5); mmdet's FPN lists them from the
  finest level up.
* **DCN.** The official DCNv2 (``external/DCNv2``) computes its offsets and
  masks with ``conv_offset_mask`` and splits the output ``(o1, o2, mask)``
  exactly as mmcv's ``ModulatedDeformConv2dPack`` (``conv_offset``) does,
  with the same per-position (dy, dx) layout, so the tensors copy unchanged.
  It also has a bias, which mmdet's bottleneck (``bias=False``) has not; the
  bias is followed by ``bn2``, so it is folded into that BatchNorm's running
  mean (``running_mean - bias``): exact in inference, and in training the
  batch mean absorbs a constant bias anyway. The inverse writes a zero bias.
* **Classes.** The official softmax puts background first (channel 0 of each
  anchor's block of ``C + 1``), mmdet last: the channels of each block are
  rotated.
* **Anchors.** Per location, the official model lists its anchors
  scale-major (``for scale in scales: for ar in [1, 1/2, 2]``, ``ar = w / h``),
  mmdet's ``AnchorGenerator`` ratio-major with ``ratio = h / w``: the
  per-anchor channel blocks of the three output convs move to the mmdet
  anchor with the same width and height (:func:`anchor_permutation`).
  YOLACT (v1) has ``use_square_anchors=True`` (a kept bug: ``h = w``, so its
  three anchors are squares of sides 24/√2, 24 and 24·√2 on P3); the
  ``configs/yolact/official`` configs reproduce that with ratio 1 and three
  scales (:func:`mmregion_anchor_generator`).

BatchNorm ``num_batches_tracked`` counters, when a checkpoint lacks them, are
added as zeros.

Modules: :mod:`.anchors`, :mod:`.backbone`, :mod:`.neck` and :mod:`.heads`
map their component's keys and tensors; :mod:`.layout` reads what an
official state dict holds; :mod:`.convert` converts state dicts both ways;
:mod:`.checkpoint` converts files and formats the CLI's report.
"""
from .anchors import (
    MMDET_RATIOS,
    OCTAVE_BASE_SCALE,
    OFFICIAL_ASPECT_RATIOS,
    anchor_permutation,
    mmdet_anchor_shapes,
    mmregion_anchor_generator,
    official_anchor_shapes,
)
from .backbone import RESNET_DEPTHS
from .checkpoint import (
    convert_yolact_checkpoint,
    format_yolact_report,
    load_official_checkpoint,
)
from .convert import mmregion_to_yolact, yolact_to_mmregion
from .heads import PROTONET_CONVS
from .layout import (
    OFFICIAL_CONFIGS,
    YOLACTLayout,
    expected_official_keys,
    inspect_official,
)
from .neck import NUM_FPN_DOWNSAMPLES

__all__ = [
    'MMDET_RATIOS', 'OCTAVE_BASE_SCALE', 'OFFICIAL_ASPECT_RATIOS',
    'anchor_permutation', 'mmdet_anchor_shapes', 'mmregion_anchor_generator',
    'official_anchor_shapes', 'RESNET_DEPTHS', 'convert_yolact_checkpoint',
    'format_yolact_report', 'load_official_checkpoint', 'mmregion_to_yolact',
    'yolact_to_mmregion', 'PROTONET_CONVS', 'OFFICIAL_CONFIGS',
    'YOLACTLayout', 'expected_official_keys', 'inspect_official',
    'NUM_FPN_DOWNSAMPLES'
]
