"""Regions as small images for a crop-embedding teacher."""
import pytest
import torch

from mmregion.models.layers.region_crops import crop_regions


def test_whole_image_crop_is_the_image():
    images = torch.randn(2, 3, 16, 16)
    rois = torch.tensor([[1, 0, 0, 16, 16.]])
    crops = crop_regions(images, rois, 16)
    assert crops.shape == (1, 3, 16, 16)
    assert torch.allclose(crops[0], images[1], atol=1e-5)


def test_crops_are_square_with_context():
    images = torch.zeros(1, 1, 32, 32)
    images[..., 8:16, 12:16] = 1  # an 8 x 4 region (h x w)
    rois = torch.tensor([[0, 12, 8, 16, 16.]])
    crop = crop_regions(images, rois, 16, context=1.0)[0, 0]
    # a 16 x 16 square centred on the region: the region is its middle
    # half in height and quarter in width
    assert crop[4:12, 6:10].min() > 0.99
    assert crop[:, :4].abs().max() < 1e-6 and crop[:2].abs().max() < 1e-6
    with pytest.raises(ValueError, match='context must be >= 0'):
        crop_regions(images, rois, 16, context=-0.5)
