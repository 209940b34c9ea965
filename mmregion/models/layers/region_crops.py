"""Regions as small images: crops of the input resampled to a CLIP's
input size, for a teacher that embeds each region as it embeds an image."""
import torch
from torch import Tensor
from torchvision.ops import roi_align


def crop_regions(images: Tensor, rois: Tensor, size: int,
                 context: float = 0.0) -> Tensor:
    """Square crops around regions, bilinearly resampled.

    Each region becomes a square of side ``max(w, h) * (1 + context)``
    centred on it (so the shape keeps its aspect ratio and some
    surroundings), resampled to ``size`` x ``size`` pixels of the
    (normalised) input images, one bilinear sample per pixel as
    ``cv2.resize``; outside the image it reads zeros.

    Args:
        images (Tensor): (B, 3, H, W) normalised images.
        rois (Tensor): (N, 5) rois (batch index, x1, y1, x2, y2) in input
            pixels.
        size (int): Side of the crops, e.g. the CLIP's input size.
        context (float): Extra side as a fraction of the region's longer
            side. Defaults to 0.

    Returns:
        Tensor: (N, 3, size, size) crops.
    """
    if context < 0:
        raise ValueError(f'crop_regions: context must be >= 0, got '
                         f'{context}')
    centre = (rois[:, 1:3] + rois[:, 3:5]) / 2
    half = (rois[:, 3:5] - rois[:, 1:3]).max(1, keepdim=True).values * (
        1 + context) / 2
    squares = torch.cat([rois[:, :1], centre - half, centre + half], 1)
    return roi_align(images, squares.to(images.dtype), size, 1.0,
                     sampling_ratio=1, aligned=True)
