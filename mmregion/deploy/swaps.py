"""Export-time replacements of modules that have no clean ONNX form.

mmcv's own ONNX symbolics are deprecated and emit ``mmcv::`` custom ops that
onnxruntime lacks. On a copy of the model, before tracing:

* mmcv ``RoIAlign`` becomes torchvision's ``roi_align`` (ONNX ``RoiAlign``,
  opset 16 for ``aligned=True``);
* mmcv ``ModulatedDeformConv2dPack`` (YOLACT++'s DCNv2) runs mmcv's kernel
  but exports as ONNX ``DeformConv`` (opset 19), or is refused with
  :class:`DCNExportError` below that opset;
* a :class:`TextClassifier` becomes a constant linear layer: the normalised
  text embeddings divided by the temperature, with a zero row for the
  background, so the graph holds no text encoder and no vocabulary buffers.
"""
import copy

import torch
import torch.nn.functional as F
from mmcv.ops import ModulatedDeformConv2dPack, RoIAlign
from mmcv.ops import modulated_deform_conv2d as mmcv_mdconv
from torch import Tensor, nn
from torchvision.ops import roi_align

from ..models.layers.open_vocabulary import OpenVocabularyMixin
from ..models.layers.text_classifier import TextClassifier

DEFORM_CONV_OPSET = 19
ROI_ALIGN_OPSET = 16


class ExportError(ValueError):
    """A model, or a part of it, cannot be exported as asked."""


class DCNExportError(ExportError):
    """A deformable convolution cannot be expressed at this opset."""


class FoldedTextClassifier(nn.Module):
    """A :class:`TextClassifier` with its vocabulary folded into a linear
    layer: ``normalize(f) @ W^T`` with ``W = [t_1; ...; t_C; 0] / T``.

    Args:
        classifier (TextClassifier): The classifier to fold.
    """

    def __init__(self, classifier: TextClassifier) -> None:
        super().__init__()
        weight = classifier.embeddings / classifier.temperature
        if classifier.with_background:
            weight = torch.cat([weight, weight.new_zeros(1, weight.shape[1])])
        self.fc = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
        self.fc.weight.data.copy_(weight)
        self.num_classes = classifier.num_classes

    def forward(self, features: Tensor) -> Tensor:
        """Logits (N, C + 1) of features (N, D)."""
        return self.fc(F.normalize(features, dim=-1))


class TorchvisionRoIAlign(nn.Module):
    """mmcv's ``RoIAlign`` (average pooling) computed by torchvision.

    Args:
        layer (RoIAlign): The mmcv layer whose settings are copied.
    """

    def __init__(self, layer: RoIAlign) -> None:
        super().__init__()
        if layer.pool_mode != 'avg':
            raise ExportError(f"RoIAlign pool_mode={layer.pool_mode!r} has "
                              "no ONNX form here; only 'avg' is exported")
        self.output_size = tuple(layer.output_size)
        self.spatial_scale = float(layer.spatial_scale)
        self.sampling_ratio = int(layer.sampling_ratio)
        self.aligned = bool(layer.aligned)

    def forward(self, x: Tensor, rois: Tensor) -> Tensor:
        """Pool (R, C, *output_size) features of rois (R, 5)."""
        return roi_align(x, rois, self.output_size, self.spatial_scale,
                         self.sampling_ratio, self.aligned)


class _DeformConvFunction(torch.autograd.Function):
    """mmcv's modulated deformable conv, exported as ONNX ``DeformConv``."""

    @staticmethod
    def forward(ctx, x, offset, mask, weight, bias, stride, padding,
                dilation, groups, deform_groups):
        return mmcv_mdconv(x, offset, mask, weight, bias, stride, padding,
                           dilation, groups, deform_groups)

    @staticmethod
    def symbolic(g, x, offset, mask, weight, bias, stride, padding, dilation,
                 groups, deform_groups):
        kh, kw = weight.type().sizes()[2:]
        return g.op(
            'DeformConv', x, weight, offset, bias, mask,
            dilations_i=list(dilation), group_i=groups,
            kernel_shape_i=[kh, kw], offset_group_i=deform_groups,
            pads_i=[padding[0], padding[1], padding[0], padding[1]],
            strides_i=list(stride))


class ONNXModulatedDeformConv(nn.Module):
    """``ModulatedDeformConv2dPack`` whose trace is one ``DeformConv`` node.

    Args:
        layer (ModulatedDeformConv2dPack): The layer (weights shared).
    """

    def __init__(self, layer: ModulatedDeformConv2dPack) -> None:
        super().__init__()
        self.layer = layer
        self.bias = (layer.bias if layer.bias is not None else nn.Parameter(
            layer.weight.new_zeros(layer.out_channels), requires_grad=False))

    def forward(self, x: Tensor) -> Tensor:
        """Deformable conv of (B, C, H, W) features."""
        m = self.layer
        o1, o2, mask = torch.chunk(m.conv_offset(x), 3, dim=1)
        return _DeformConvFunction.apply(
            x, torch.cat((o1, o2), dim=1), torch.sigmoid(mask), m.weight,
            self.bias, tuple(m.stride), tuple(m.padding), tuple(m.dilation),
            m.groups, m.deform_groups)


def _replace(model: nn.Module, kind: type, make) -> int:
    """Replace every submodule of type ``kind`` by ``make(module)``.

    Args:
        model (nn.Module): Model changed in place.
        kind (type): Module class to replace.
        make (callable): Builds the replacement.

    Returns:
        int: Number of replaced modules.
    """
    targets = [(name, m) for name, m in model.named_modules()
               if isinstance(m, kind)]
    for name, module in targets:
        parent_name, _, child = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, make(module))
    return len(targets)


def prepare_for_export(model: nn.Module, opset: int) -> nn.Module:
    """A copy of ``model`` with the export-time replacements.

    Args:
        model (nn.Module): A detector in eval mode (not changed).
        opset (int): Target ONNX opset.

    Returns:
        nn.Module: The copy, in eval mode.

    Raises:
        DCNExportError: If the model has deformable convs and
            ``opset < 19``.
        ExportError: If it has RoIAlign and ``opset < 16``.
    """
    model = copy.deepcopy(model).eval()
    kinds = {type(m) for m in model.modules()}
    if any(issubclass(k, ModulatedDeformConv2dPack) for k in kinds) and \
            opset < DEFORM_CONV_OPSET:
        raise DCNExportError(
            f'the model has deformable convs (YOLACT++ DCNv2), which ONNX '
            f'expresses as DeformConv from opset {DEFORM_CONV_OPSET}; got '
            f'--opset {opset}')
    if any(issubclass(k, RoIAlign) for k in kinds) and \
            opset < ROI_ALIGN_OPSET:
        raise ExportError(
            f'RoIAlign with aligned=True needs opset >= {ROI_ALIGN_OPSET}; '
            f'got --opset {opset}')
    _replace(model, ModulatedDeformConv2dPack, ONNXModulatedDeformConv)
    _replace(model, RoIAlign, TorchvisionRoIAlign)
    heads = [m for m in model.modules() if isinstance(m, OpenVocabularyMixin)]
    for head in heads:  # read a vocabulary still pending (a file) now
        head._activate(resolve=True)
    if _replace(model, TextClassifier, FoldedTextClassifier):
        for head in heads:
            # the folded classifier holds the vocabulary now; empty
            # vocabularies make ``train()``/``eval()`` leave it alone
            head.train_embeddings = head.train_embeddings[:0]
            head.test_embeddings = head.test_embeddings[:0]
            head._vocab_sources.clear()
    return model
