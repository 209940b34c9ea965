"""Running the official RegionCLIP and ours side by side.

Tensors are recorded with forward hooks on both sides (the first call of
each module): res4, the offline RPN's objectness and deltas per level
(official channels reordered into mmdet's anchor order by the converter's
own permutation), the proposals, the region embeddings (attention pool),
class logits and box deltas, mask logits; then each side's final
detections in original image coordinates.
"""
import os.path as osp
import statistics
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from PIL import Image

from .detections import (
    add_detection_rows,
    cut_flips,
    match_detections,
    pair_ranked,
)
from .report import TOLERANCE, ParityReport

SHARED_SIZE = (480, 643)
RAW_SIZES = ((550, 550), (800, 1333), (480, 643))
NUM_BOXES = 8


class Recorder:
    """First outputs of named modules, by forward hooks."""

    def __init__(self, modules: Dict[str, torch.nn.Module]) -> None:
        self.out: Dict[str, object] = {}
        self._handles = [
            m.register_forward_hook(self._hook(name))
            for name, m in modules.items() if m is not None
        ]

    def _hook(self, name: str) -> Callable:
        """Record the output as ``name``, the first input as ``name:in``."""

        def hook(module, args, output):
            self.out.setdefault(name, output)
            self.out.setdefault(f'{name}:in', args[0] if args else None)

        return hook

    def close(self) -> None:
        """Remove the hooks."""
        for handle in self._handles:
            handle.remove()


def synthetic_image(size: Tuple[int, int], seed: int) -> np.ndarray:
    """A smooth random RGB uint8 image (H, W, 3) with a few flat shapes."""
    gen = torch.Generator().manual_seed(seed)
    h, w = size
    low = torch.rand(1, 3, 12, 16, generator=gen)
    img = torch.nn.functional.interpolate(low,
                                          size=(h, w),
                                          mode='bicubic',
                                          align_corners=False)[0]
    img = img + 0.1 * torch.rand(3, h, w, generator=gen)
    for _ in range(6):
        y, x = (torch.rand(2, generator=gen) * torch.tensor([h, w])).long()
        img[:, y:y + h // 4, x:x + w // 5] = torch.rand(3, 1, 1, generator=gen)
    return (img.clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()


def synthetic_boxes(size: Tuple[int, int], count: int,
                    seed: int) -> torch.Tensor:
    """(count, 4) x1y1x2y2 boxes inside an (H, W) image."""
    gen = torch.Generator().manual_seed(seed + 7)
    h, w = size
    xy = torch.rand(count, 2, generator=gen) * torch.tensor([w, h]) * 0.7
    wh = (0.1 + 0.3 * torch.rand(count, 2, generator=gen)) * torch.tensor(
        [w, h])
    boxes = torch.cat([xy, xy + wh], 1)
    return torch.minimum(boxes, torch.tensor([w, h, w, h]) - 1.)


def official_modules(model) -> Dict[str, torch.nn.Module]:
    """The official modules whose outputs are compared."""
    rpn = model.offline_proposal_generator
    heads = model.roi_heads
    return dict(backbone=model.backbone,
                rpn_head=rpn.rpn_head if rpn is not None else None,
                proposals=rpn,
                attnpool=model.backbone.attnpool,
                predictor=heads.box_predictor,
                mask=getattr(heads, 'mask_head', None)
                and heads.mask_head.predictor)


def our_modules(model) -> Dict[str, torch.nn.Module]:
    """Our modules whose outputs are compared."""
    rpn = getattr(model, 'offline_rpn', None)
    return dict(backbone=model.backbone,
                rpn_head=rpn.bbox_head if rpn is not None else None,
                predictor=model.roi_head.bbox_head,
                mask=model.roi_head.mask_head.conv_logits
                if model.roi_head.with_mask else None)


def run_official(model,
                 image: np.ndarray,
                 boxes: torch.Tensor,
                 mapper=None,
                 path: str = None):
    """Official inference on an RGB uint8 image (given as is) or, with a
    ``mapper``, on the file through RegionCLIP's DatasetMapper."""
    from detectron2.structures import Boxes, BoxMode, Instances
    h, w = image.shape[:2]
    if mapper is None:
        inst = Instances((h, w), gt_boxes=Boxes(boxes.clone()))
        item = dict(image=torch.from_numpy(image).permute(2, 0, 1),
                    height=h,
                    width=w,
                    instances=inst)
    else:
        annos = [
            dict(bbox=b.tolist(),
                 bbox_mode=BoxMode.XYXY_ABS,
                 category_id=0,
                 iscrowd=0) for b in boxes
        ]
        item = mapper(
            dict(file_name=path,
                 height=h,
                 width=w,
                 image_id=0,
                 annotations=annos))
    rec = Recorder(official_modules(model))
    with torch.no_grad():
        out = model([item])[0]['instances']
    rec.close()
    dets = dict(boxes=out.pred_boxes.tensor,
                scores=out.scores,
                labels=out.pred_classes)
    if out.has('pred_masks'):
        dets['masks'] = out.pred_masks
    return rec.out, dets


def _our_sample(image: np.ndarray, boxes: torch.Tensor):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    h, w = image.shape[:2]
    sample = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
    sample.gt_instances = InstanceData(bboxes=boxes.clone(),
                                       labels=torch.zeros(len(boxes),
                                                          dtype=torch.long))
    return sample


def run_ours(model,
             image: np.ndarray,
             boxes: torch.Tensor,
             pipeline=None,
             path: str = None):
    """Our inference on the RGB image given as is, or on the file through
    our test pipeline."""
    from mmengine.dataset import pseudo_collate
    if pipeline is None:
        bgr = torch.from_numpy(image[..., ::-1].copy()).permute(2, 0, 1)
        data = dict(inputs=[bgr], data_samples=[_our_sample(image, boxes)])
    else:
        item = pipeline(
            dict(img_path=path,
                 img_id=0,
                 instances=[
                     dict(bbox=b.tolist(), bbox_label=0, ignore_flag=0)
                     for b in boxes
                 ]))
        data = pseudo_collate([item])
    rec = Recorder(our_modules(model))
    proposals: List = []
    original = model._offline_proposals if model.offline_rpn is not None \
        else None
    if original is not None:

        def record(*args):
            proposals.extend(original(*args))
            return proposals

        model._offline_proposals = record
    try:
        with torch.no_grad():
            out = model.test_step(data)[0].pred_instances
    finally:
        rec.close()
        if original is not None:
            del model._offline_proposals
    rec.out['proposals'] = proposals
    dets = dict(boxes=out.bboxes, scores=out.scores, labels=out.labels)
    if 'masks' in out:
        dets['masks'] = out.masks
    return rec.out, dets


def _rpn_rows(report, prefix, official, ours, num_sizes):
    """RPN rows; returns the proposals' (official, our) pairing, or None
    without an RPN (ground-truth boxes: the same order on both sides)."""
    from ...converters.common import to_mmdet_anchor_order
    from ...converters.regionclip import anchor_permutation
    if 'rpn_head' not in official or 'rpn_head' not in ours:
        return None
    perm = anchor_permutation(num_sizes, 3)
    (o_obj, o_del), (u_obj, u_del) = official['rpn_head'], ours['rpn_head']
    for level, (oo, od, uo, ud) in enumerate(zip(o_obj, o_del, u_obj, u_del)):
        oo = to_mmdet_anchor_order(oo.transpose(0, 1), perm)
        od = to_mmdet_anchor_order(od.transpose(0, 1), perm)
        report.add_tensor(f'{prefix}/rpn.objectness.l{level}', uo,
                          oo.transpose(0, 1))
        report.add_tensor(f'{prefix}/rpn.deltas.l{level}', ud,
                          od.transpose(0, 1))
    o_prop = official['proposals'][0][0]
    u_prop = ours['proposals'][0]
    o_scores = o_prop.objectness_logits.sigmoid()
    oi, ui, note = pair_ranked(u_prop.scores, u_prop.bboxes, o_scores,
                               o_prop.proposal_boxes.tensor)
    pairs = list(zip(oi.tolist(), ui.tolist()))
    n, m = len(u_prop), len(o_scores)
    ok = len(pairs) == n == m or cut_flips(u_prop.scores, o_scores, pairs,
                                            TOLERANCE)
    report.add_check(f'{prefix}/rpn.proposal_count', 0. if ok else 1., ok,
                     f'ours {n} official {m} paired {len(pairs)}' +
                     (f'; {note}' if note else ''))
    report.add_tensor(f'{prefix}/rpn.proposal_boxes', u_prop.bboxes[ui],
                      o_prop.proposal_boxes.tensor[oi])
    report.add_tensor(f'{prefix}/rpn.proposal_scores', u_prop.scores[ui],
                      o_scores[oi])
    return oi, ui


def add_rows(report: ParityReport, prefix: str, official: Dict, ours: Dict,
             num_sizes: int) -> None:
    """Tensor rows of one input (see the module docstring).

    Per-region rows follow the proposals' pairing (:func:`pair_ranked`):
    proposals whose tied scores float rounding ordered differently are
    compared with their counterparts, not by position.
    """
    report.add_tensor(f'{prefix}/res4', ours['backbone'][0],
                      official['backbone']['res4'])
    paired = _rpn_rows(report, prefix, official, ours, num_sizes)
    oi, ui = paired if paired is not None else (slice(None), slice(None))
    # ours pools in embed_res5 (not the attnpool module): the box head's
    # input is the region embeddings
    report.add_tensor(f'{prefix}/region_embeddings',
                      ours['predictor:in'][ui], official['attnpool'][oi])
    report.add_tensor(f'{prefix}/class_logits', ours['predictor'][0][ui],
                      official['predictor'][0][oi])
    report.add_tensor(f'{prefix}/box_deltas', ours['predictor'][1][ui],
                      official['predictor'][1][oi])


def _mask_rows(report: ParityReport, prefix: str, official: Dict,
               ours: Dict, official_dets: Dict, our_dets: Dict) -> None:
    """Mask logits of the final detections, paired by label and box.

    Both mask heads run on the final detections in their order; a rank
    flip at the detection cut shifts that order, so rows are paired with
    the detections' own matching.
    """
    if 'mask' not in official or 'mask' not in ours:
        return
    pairs = match_detections(our_dets, official_dets)
    if not pairs:
        return
    oi = torch.tensor([p[0] for p in pairs])
    ui = torch.tensor([p[1] for p in pairs])
    report.add_tensor(f'{prefix}/mask_logits', ours['mask'][ui],
                      official['mask'][oi])


def compare(report: ParityReport, spec, official, cfg, ours, our_cfg,
            work: str, seed: int) -> None:
    """Add the shared-input and raw-image rows of one model."""
    from detectron2.data import DatasetMapper
    from mmcv.transforms import Compose
    num_sizes = 1 if spec.rpn_yaml and 'FPN' in spec.rpn_yaml else 5
    image = synthetic_image(SHARED_SIZE, seed)
    boxes = synthetic_boxes(SHARED_SIZE, NUM_BOXES, seed)
    o_t, o_d = run_official(official, image, boxes)
    u_t, u_d = run_ours(ours, image, boxes)
    prefix = 'shared_{}x{}'.format(*SHARED_SIZE)
    add_rows(report, prefix, o_t, u_t, num_sizes)
    _mask_rows(report, prefix, o_t, u_t, o_d, u_d)
    add_detection_rows(report, f'{prefix}/dets', u_d, o_d)
    mapper = DatasetMapper(cfg, is_train=False)
    pipeline = Compose(our_cfg.test_pipeline)
    for k, size in enumerate(RAW_SIZES):
        image = synthetic_image(size, seed + 10 + k)
        boxes = synthetic_boxes(size, NUM_BOXES, seed + 10 + k)
        path = osp.join(work, 'raw_{}x{}.png'.format(*size))
        Image.fromarray(image).save(path)
        o_t, o_d = run_official(official, image, boxes, mapper, path)
        u_t, u_d = run_ours(ours, image, boxes, pipeline, path)
        prefix = 'raw_{}x{}'.format(*size)
        add_rows(report, prefix, o_t, u_t, num_sizes)
        _mask_rows(report, prefix, o_t, u_t, o_d, u_d)
        add_detection_rows(report, f'{prefix}/dets', u_d, o_d)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    with torch.no_grad():
        fn()
    return time.perf_counter() - start


def time_gt(official,
            ours,
            repeats: int = 5,
            size: Tuple[int, int] = (800, 1344),
            boxes: int = 100) -> List[str]:
    """Zero-shot GT-box inference, official vs ours, interleaved.

    One (1, 3, 800, 1344) image and 100 GT boxes; each turn runs the
    official model then ours (after one warm-up of each), median of
    ``repeats`` turns, at 1 and 2 threads.

    Returns:
        list[str]: Table lines (for the report's notes).
    """
    image = synthetic_image(size, 99)
    gt = synthetic_boxes(size, boxes, 99)
    threads = torch.get_num_threads()
    lines = [
        f'time: GT mode, {boxes} boxes, {size[0]}x{size[1]}, median '
        f'of {repeats} interleaved turns'
    ]
    for n in (1, 2):
        torch.set_num_threads(n)
        runs = (lambda: run_official(official, image, gt),
                lambda: run_ours(ours, image, gt))
        for fn in runs:
            _timed(fn)
        times = [[], []]
        for _ in range(repeats):
            for i, fn in enumerate(runs):
                times[i].append(_timed(fn))
        o, u = (statistics.median(t) for t in times)
        lines.append(f'time: {n} thread(s): official {o:.2f} s, ours '
                     f'{u:.2f} s, ours/official {u / o:.2f}x')
    torch.set_num_threads(threads)
    return lines
