"""Region classification: RoIAlign + res5 + attnpool vs R-CNN-style crops."""
import time
from typing import Callable, Dict, List, Sequence

import open_clip
import torch
import torch.nn.functional as F
from mmcv.ops import roi_align
from torch import Tensor

from ..models.backbones.clip_resnet import CLIPResNet


def random_boxes(num: int, height: int, width: int, seed: int = 0) -> Tensor:
    """Random boxes (num, 4) inside an image, 32..400 px on a side."""
    g = torch.Generator().manual_seed(seed)
    wh = torch.randint(32, 400, (num, 2), generator=g).float()
    x0 = torch.rand(num, generator=g) * (width - wh[:, 0])
    y0 = torch.rand(num, generator=g) * (height - wh[:, 1])
    return torch.stack([x0, y0, x0 + wh[:, 0], y0 + wh[:, 1]], 1)


def _median_time(fn: Callable[[], Tensor], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


@torch.no_grad()
def time_region_classification(model_name: str = 'RN50',
                               num_boxes: int = 100,
                               image_size: Sequence[int] = (800, 1333),
                               repeats: int = 3,
                               seed: int = 0) -> Dict[str, float]:
    """Time both ways of embedding ``num_boxes`` regions of one image.

    * RegionCLIP: stem..res4 once on the whole image, RoIAlign (aligned,
      sampling_ratio 0) at the pooler resolution, then res5 + attnpool per
      box.
    * R-CNN style: crop each box from the image, resize to CLIP's input
      size, run the whole CLIP image encoder per crop (batched).

    Both use the same random weights (timing does not depend on them).

    Args:
        model_name (str): A CLIP ResNet name. Defaults to 'RN50'.
        num_boxes (int): Boxes per image. Defaults to 100.
        image_size (Sequence[int]): (H, W). Defaults to (800, 1333).
        repeats (int): Timed runs (median reported). Defaults to 3.
        seed (int): Seed of image and boxes.

    Returns:
        dict[str, float]: ``roialign_s``, ``crops_s`` (median seconds) and
        ``speedup`` (``crops_s / roialign_s``).
    """
    torch.manual_seed(seed)
    backbone = CLIPResNet(model_name, out_indices=(2, )).eval()
    clip = open_clip.create_model(model_name, pretrained=None).eval()
    clip.visual = backbone_as_visual(backbone, clip.visual)
    h, w = image_size
    image = torch.randn(1, 3, h, w)
    boxes = random_boxes(num_boxes, h, w, seed)
    rois = torch.cat([boxes.new_zeros(num_boxes, 1), boxes], 1)
    size = backbone.pooler_resolution
    input_size = clip.visual.image_size
    input_size = input_size[0] if isinstance(input_size,
                                             (tuple, list)) else input_size

    def roialign_path() -> Tensor:
        res4 = backbone(image)[0]
        feats = roi_align(res4, rois, (size, size), 1 / 16, 0, 'avg', True)
        return backbone.pool_regions(feats)

    def crop_path() -> Tensor:
        crops = []
        for x0, y0, x1, y1 in boxes.round().long().tolist():
            crop = image[:, :, y0:y1, x0:x1]
            crops.append(
                F.interpolate(crop, (input_size, input_size),
                              mode='bicubic', align_corners=False))
        return clip.encode_image(torch.cat(crops))

    t_roi = _median_time(roialign_path, repeats)
    t_crop = _median_time(crop_path, repeats)
    return dict(roialign_s=t_roi, crops_s=t_crop, speedup=t_crop / t_roi)


def backbone_as_visual(backbone: CLIPResNet, visual: torch.nn.Module
                       ) -> torch.nn.Module:
    """open_clip's visual tower carrying ``backbone``'s (frozen-BN) layers,
    so both paths run the very same modules and weights."""
    for name, module in backbone.named_children():
        setattr(visual, name, module)
    return visual


def time_text_embeddings(names: List[str], model_name: str, checkpoint: str,
                         templates, cache_dir: str) -> Dict[str, float]:
    """Embed ``names`` twice through the vocabulary cache.

    Args:
        names (list[str]): Class names.
        model_name (str): CLIP model name.
        checkpoint (str): CLIP weight file (caching needs one).
        templates: Template set name or list.
        cache_dir (str): Cache folder (should start empty).

    Returns:
        dict[str, float]: ``first_s``, ``cached_s``, ``prompts``.
    """
    from ..data.prompt_templates import get_templates
    from ..models.language.vocabulary import Vocabulary
    encoder = dict(type='CLIPTextEncoder', model_name=model_name,
                   checkpoint=checkpoint)
    start = time.perf_counter()
    first = Vocabulary.build(names, encoder, templates, cache_dir)
    t_first = time.perf_counter() - start
    start = time.perf_counter()
    second = Vocabulary.build(names, encoder, templates, cache_dir)
    t_cached = time.perf_counter() - start
    if not second.cache_hit or not torch.allclose(
            first.embeddings, second.embeddings, atol=1e-6):
        raise RuntimeError('the second build did not come from the cache')
    return dict(first_s=t_first, cached_s=t_cached,
                prompts=len(names) * len(get_templates(templates)))
