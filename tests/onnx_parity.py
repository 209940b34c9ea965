"""Parity checks of exported ONNX models against the PyTorch models."""
from typing import Dict

import torch
from torch import Tensor, nn

RAW_TOL = 1e-4  # of each output's largest magnitude
BOX_TOL = 1e-3  # pixels
MASK_IOU = 0.999


def tame_residuals(model: nn.Module, scale: float = 0.2) -> nn.Module:
    """Scale the last BatchNorm of every residual branch.

    A randomly initialised deep ResNet whose BatchNorm statistics make
    every layer unit-variance is chaotic: the last bits of float32 rounding,
    which differ between any two conv implementations, grow about 3x per
    stage (measured on the tiny YOLACT: 2e-6 after the stem, 5e-5 after
    res5, 3e-4 on the tanh coefficients). With the residual branches scaled
    down (as a zero-init-residual start does) the model stays random but
    numerically stable, so a parity test measures the export, not the
    chaos.

    Args:
        model (nn.Module): Changed in place.
        scale (float): Factor of the branch's last BatchNorm.

    Returns:
        nn.Module: The model.
    """
    from mmdet.models.backbones.resnet import Bottleneck
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, Bottleneck):
                module.norm3.weight.mul_(scale)
                module.norm3.bias.mul_(scale)
    return model


def assert_raw_close(onnx_outs: Dict[str, Tensor],
                     torch_outs: Dict[str, Tensor]) -> Dict[str, float]:
    """Every output within RAW_TOL of the PyTorch one (relative to its max;
    integer outputs equal).

    Returns:
        dict[str, float]: The relative error of each float output.
    """
    assert set(onnx_outs) == set(torch_outs)
    errors = {}
    for name, ref in torch_outs.items():
        out = onnx_outs[name]
        assert out.shape == ref.shape, name
        if not ref.is_floating_point():
            assert torch.equal(out.long(), ref.long()), name
            continue
        scale = ref.abs().max().clamp(min=1e-12)
        errors[name] = float((out - ref).abs().max() / scale)
        assert errors[name] <= RAW_TOL, (name, errors[name])
    return errors


def mask_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of two stacks of binary masks (n, H, W); 1 for two empty ones."""
    a, b = a.flatten(1).bool(), b.flatten(1).bool()
    inter = (a & b).sum(1).float()
    union = (a | b).sum(1).float()
    return torch.where(union > 0, inter / union.clamp(min=1), 1.)


def match_detections(a, b) -> Tensor:
    """For each detection of ``a``, the index of the detection of ``b`` with
    the same label and the closest box (greedy, best score first).

    Detections whose scores are equal but for the last bits may come in
    either order from two backends, so results are compared as sets.
    """
    cost = (a.bboxes[:, None] - b.bboxes[None]).abs().amax(-1)
    cost = cost.masked_fill(a.labels[:, None] != b.labels[None],
                            float('inf'))
    order = torch.full((len(a), ), -1, dtype=torch.long)
    used = torch.zeros(len(b), dtype=torch.bool)
    for i in range(len(a)):
        j = int(cost[i].masked_fill(used, float('inf')).argmin())
        assert not used[j] and cost[i, j] <= BOX_TOL, (i, float(cost[i, j]))
        order[i], used[j] = j, True
    return order


def assert_same_detections(torch_samples: list, onnx_samples: list) -> int:
    """Same count, each PyTorch detection matched by one with the same
    label, a box within BOX_TOL px and a score within 1e-4, masks with IoU
    >= MASK_IOU.

    Returns:
        int: The number of detections compared.
    """
    assert len(torch_samples) == len(onnx_samples)
    total = 0
    for pt, ox in zip(torch_samples, onnx_samples):
        a, b = pt.pred_instances, ox.pred_instances
        assert len(a) == len(b)
        if 'masks' in a:
            assert a.masks.shape == b.masks.shape
        if len(a):
            j = match_detections(a, b)
            assert (a.scores - b.scores[j]).abs().max() <= 1e-4
            if 'masks' in a:
                assert mask_iou(a.masks, b.masks[j]).min() >= MASK_IOU
        total += len(a)
    return total
