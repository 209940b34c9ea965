"""Image regions without a region proposal network: a clipped grid of prior
boxes and the whole-image box (RegionCLIP pretraining)."""
import math
from typing import List

import torch
from mmdet.structures import SampleList
from torch import Tensor


def clipped_grid_boxes(generator, batch_inputs: Tensor,
                       batch_data_samples: SampleList) -> List[Tensor]:
    """A prior generator's boxes over the padded batch, clipped to each
    image; boxes that lose more than half their area are dropped.

    Args:
        generator (AnchorGenerator): An mmdet prior generator.
        batch_inputs (Tensor): (B, 3, H, W) images (sets the grid size).
        batch_data_samples (list[DetDataSample]): Image metas
            (``img_shape``).

    Returns:
        list[Tensor]: Per image, (n_i, 4) boxes in input coordinates.
    """
    height, width = batch_inputs.shape[-2:]
    sizes = [(math.ceil(height / stride_h), math.ceil(width / stride_w))
             for stride_w, stride_h in generator.strides]
    priors = torch.cat(
        generator.grid_priors(sizes, device=batch_inputs.device))
    areas = (priors[:, 2] - priors[:, 0]) * (priors[:, 3] - priors[:, 1])
    boxes = []
    for sample in batch_data_samples:
        img_h, img_w = sample.metainfo['img_shape'][:2]
        clipped = torch.stack([
            priors[:, 0].clamp(0, img_w), priors[:, 1].clamp(0, img_h),
            priors[:, 2].clamp(0, img_w), priors[:, 3].clamp(0, img_h)
        ], 1)
        clipped_areas = (clipped[:, 2] - clipped[:, 0]) * (
            clipped[:, 3] - clipped[:, 1])
        boxes.append(clipped[clipped_areas >= 0.5 * areas])
    return boxes


def image_boxes(batch_data_samples: SampleList,
                device: torch.device) -> List[Tensor]:
    """One box covering each image (its ``img_shape``, not the padding).

    Args:
        batch_data_samples (list[DetDataSample]): Image metas.
        device (torch.device): Device of the boxes.

    Returns:
        list[Tensor]: Per image, a (1, 4) box.
    """
    return [
        torch.tensor([[0., 0., s.metainfo['img_shape'][1],
                       s.metainfo['img_shape'][0]]],
                     device=device) for s in batch_data_samples
    ]
