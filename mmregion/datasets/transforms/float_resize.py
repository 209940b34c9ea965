"""Resize the image as float with PyTorch's bilinear kernel."""
import mmcv
import numpy as np
import torch
import torch.nn.functional as F
from mmdet.datasets.transforms import Resize
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class FloatResize(Resize):
    """mmdet's ``Resize`` with the image resized in float32 by
    ``F.interpolate(mode='bilinear', align_corners=False)``.

    dbolya/yolact's ``FastBaseTransform`` resizes the float image this way;
    mmdet's ``Resize`` resizes the uint8 image with OpenCV, whose rounding
    to integers moves the normalised input by up to 0.5 / std. Boxes, masks,
    ``scale_factor`` and ``img_shape`` are handled by mmdet's ``Resize``; the
    output image is float32 (not rounded). ``interpolation`` and
    ``backend`` are ignored for the image (masks and segmentation maps
    still use them).

    Args:
        **kwargs: Arguments of :class:`mmdet.datasets.transforms.Resize`.
    """

    def _resize_img(self, results: dict) -> None:
        """Resize ``results['img']`` to ``results['scale']``.

        Args:
            results (dict): With ``img`` (H, W, C) and ``scale`` (w, h).
        """
        img = results.get('img', None)
        if img is None:
            return
        h, w = img.shape[:2]
        if self.keep_ratio:
            new_w, new_h = mmcv.rescale_size((w, h), results['scale'])
        else:
            new_w, new_h = results['scale']
        results['img'] = resize_float_image(img, (new_h, new_w))
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        results['keep_ratio'] = self.keep_ratio


def resize_float_image(img: np.ndarray, size: tuple) -> np.ndarray:
    """Bilinear resize of an image in float32 (no rounding, no antialias).

    Args:
        img (np.ndarray): (H, W, C) or (H, W) image of any numeric dtype.
        size (tuple[int, int]): Output (height, width).

    Returns:
        np.ndarray: (height, width[, C]) float32 image.
    """
    tensor = torch.from_numpy(np.ascontiguousarray(img, dtype=np.float32))
    chw = tensor[None] if tensor.ndim == 2 else tensor.permute(2, 0, 1)
    out = F.interpolate(chw[None], size=tuple(size), mode='bilinear',
                        align_corners=False)[0]
    out = out[0] if tensor.ndim == 2 else out.permute(1, 2, 0)
    return out.contiguous().numpy()
