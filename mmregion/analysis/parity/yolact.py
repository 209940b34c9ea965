"""YOLACT / YOLACT++: our ``configs/yolact/official`` models against
dbolya/yolact, on the same weights.

The official model is built from its own config with seeded random weights
(or ``--checkpoint``), saved with its own ``save_weights``, converted with
``tools/model_converters/yolact_to_mmregion.py`` as a user would, and
loaded into our config with ``init_detector``. Both then run on (a) the
official preprocessed tensor of a synthetic image and (b) raw synthetic
images through each side's own preprocessing.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
from typing import Dict, List, Tuple

import cv2
import numpy as np
import torch
from torch import Tensor

from .detections import add_detection_rows
from .official import modulated_deform_conv_module, official_code
from .registry import ParityOptions, register
from .report import ParityReport, load_documented_differences
from .yolact_official import MARKERS, OfficialYolact, randomize

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.realpath(__file__)))))
CONVERTER = osp.join(REPO, 'tools', 'model_converters',
                     'yolact_to_mmregion.py')
#: our model name -> official config name
OFFICIAL_CONFIGS = dict(
    yolact_resnet50='yolact_resnet50_config',
    yolact_base='yolact_base_config',
    yolact_plus_resnet50='yolact_plus_resnet50_config',
    yolact_plus_base='yolact_plus_base_config')
#: raw image sizes (h, w): the input size, a COCO size, one not /32
RAW_SIZES = ((550, 550), (800, 1333), (480, 643))


def our_config(name: str) -> str:
    """Path of our config for a model name."""
    return osp.join(REPO, 'configs', 'yolact', 'official', f'{name}.py')


def synthetic_image(h: int, w: int, seed: int) -> np.ndarray:
    """A synthetic shapes image (BGR uint8, as ``cv2.imread`` gives).

    Args:
        h (int): Height.
        w (int): Width.
        seed (int): Seed.

    Returns:
        np.ndarray: (h, w, 3) uint8 BGR.
    """
    from mmregion.synthetic.shapes import ShapesConfig, draw_image
    rgb, _ = draw_image(np.random.default_rng(seed),
                        ShapesConfig(img_size=(h, w), max_objects=6))
    return np.ascontiguousarray(rgb[..., ::-1])


def convert(src: str, dst: str) -> Tuple[str, List[int]]:
    """Convert with our CLI, as a user would.

    Args:
        src (str): Official checkpoint.
        dst (str): mmregion checkpoint to write.

    Returns:
        tuple[str, list[int]]: The CLI's output and the anchor permutation
        (official anchor ``a`` -> our channel block ``perm[a]``).

    Raises:
        RuntimeError: The conversion failed (its message).
    """
    # this checkout's mmregion first, as when the CLI runs from the repo
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [REPO] + [p for p in [os.environ.get('PYTHONPATH')] if p]))
    proc = subprocess.run([sys.executable, CONVERTER, src, dst],
                          capture_output=True, text=True, cwd=REPO, env=env)
    if proc.returncode:
        raise RuntimeError(f'{CONVERTER} failed: {proc.stderr.strip()}')
    from mmregion.fileio import load_checkpoint_file
    meta = load_checkpoint_file(dst, map_location='cpu')['meta']
    return proc.stdout.strip(), list(meta['anchor_permutation'])


def _official_order(levels: List[Tensor], perm: List[int]) -> Tensor:
    """Our per-level (1, A * C, H, W) maps as the official (1, N, C)."""
    a = len(perm)
    outs = []
    for t in levels:
        b, ac, h, w = t.shape
        t = t.permute(0, 2, 3, 1).reshape(b, h * w, a, ac // a)
        outs.append(t[:, :, perm].reshape(b, -1, ac // a))
    return torch.cat(outs, 1)


@torch.no_grad()
def our_tensors(model, x: Tensor, perm: List[int]) -> Dict[str, object]:
    """Our network's tensors on input ``x``, in the official layout.

    Args:
        model: Our detector.
        x (Tensor): (1, 3, H, W) network input.
        perm (list[int]): Anchor permutation of the conversion.

    Returns:
        dict: ``backbone``, ``fpn`` lists and ``pred`` (``loc``,
        ``conf`` softmax with background first, ``mask`` coefficients,
        ``priors`` as x1y1x2y2 pixels, ``proto`` (1, H, W, K)).
    """
    feats = model.backbone(x)
    neck = model.neck(feats)
    head = model.bbox_head
    cls, reg, coeff = head(neck)
    conf = _official_order(cls, perm).softmax(-1)
    priors = head.prior_generator.grid_priors(
        [c.shape[-2:] for c in cls], device=x.device)
    priors = torch.cat([
        p.view(-1, len(perm), 4)[:, perm].reshape(-1, 4) for p in priors
    ])
    return dict(
        backbone=list(feats), fpn=list(neck),
        pred=dict(loc=_official_order(reg, perm),
                  conf=torch.cat([conf[..., -1:], conf[..., :-1]], -1),
                  mask=_official_order(coeff, perm), priors=priors,
                  proto=model.mask_head.protonet(neck[0]).permute(
                      0, 2, 3, 1)))


def _official_priors(priors: Tensor, h: int, w: int) -> Tensor:
    """Official (cx, cy, w, h) relative priors as x1y1x2y2 pixels."""
    scale = priors.new_tensor([w, h, w, h])
    return torch.cat([priors[:, :2] - priors[:, 2:] / 2,
                      priors[:, :2] + priors[:, 2:] / 2], 1) * scale


def add_tensor_rows(report: ParityReport, prefix: str, ours: dict,
                    official: dict, size: Tuple[int, int]) -> None:
    """Rows for the backbone stages, FPN levels, head outputs, priors and
    prototypes.

    Args:
        report (ParityReport): Where rows go.
        prefix (str): Row prefix (the input).
        ours (dict): :func:`our_tensors`.
        official (dict): :meth:`OfficialYolact.run`'s record.
        size (tuple[int, int]): Network input (h, w), for the priors.
    """
    for i, (u, o) in enumerate(zip(ours['backbone'], official['backbone'])):
        report.add_tensor(f'{prefix}/backbone.c{i + 2}', u, o)
    for i, (u, o) in enumerate(zip(ours['fpn'], official['fpn'])):
        report.add_tensor(f'{prefix}/fpn.p{i + 3}', u, o)
    pred, opred = ours['pred'], official['pred']
    for key, label in (('loc', 'box_deltas'), ('conf', 'class_scores'),
                       ('mask', 'coefficients'), ('proto', 'prototypes')):
        report.add_tensor(f'{prefix}/{label}', pred[key], opred[key])
    report.add_tensor(f'{prefix}/priors', pred['priors'],
                      _official_priors(opred['priors'], *size))


def our_detections(results) -> Dict[str, Tensor]:
    """Our final detections in the comparison's keys."""
    inst = results.pred_instances
    dets = dict(boxes=inst.bboxes, scores=inst.scores, labels=inst.labels,
                masks=inst.masks.bool())
    if 'mask_scores' in inst:
        dets['mask_scores'] = inst.mask_scores
    return dets


def _our_input(model, path: str):
    """Our test pipeline and data preprocessor on an image file."""
    from mmcv.transforms import Compose
    from mmdet.utils import get_test_pipeline_cfg
    from mmengine.dataset import pseudo_collate
    pipeline = Compose(get_test_pipeline_cfg(model.cfg))
    data = pseudo_collate([pipeline(dict(img_path=path, img_id=0))])
    with torch.no_grad():
        return model.data_preprocessor(data, False)


def _score_thr(model) -> float:
    """The score threshold of Fast NMS (official ``nms_conf_thresh``)."""
    return float(model.bbox_head.test_cfg['score_thr'])


def compare_shared(report: ParityReport, official: OfficialYolact, model,
                   perm: List[int], img: np.ndarray) -> None:
    """(a) Both networks on the official preprocessed tensor of ``img``,
    the image size taken as 550x550 for the final detections.

    Args:
        report (ParityReport): Where rows go.
        official (OfficialYolact): The official model.
        model: Our detector.
        perm (list[int]): Anchor permutation.
        img (np.ndarray): (550, 550, 3) BGR uint8 image.
    """
    from mmdet.structures import DetDataSample
    x = official.preprocess(img)
    h, w = x.shape[-2:]
    record = official.run(x, h, w)
    add_tensor_rows(report, 'shared', our_tensors(model, x, perm), record,
                    (h, w))
    sample = DetDataSample(metainfo=dict(
        img_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.)))
    with torch.no_grad():
        results = model.predict(x, [sample], rescale=True)[0]
    add_detection_rows(report, 'shared/dets', our_detections(results),
                       record['dets'], score_thr=_score_thr(model))


def compare_raw(report: ParityReport, official: OfficialYolact, model,
                perm: List[int], path: str) -> None:
    """(b) An image file through each side's own preprocessing.

    Args:
        report (ParityReport): Where rows go.
        official (OfficialYolact): The official model.
        model: Our detector.
        perm (list[int]): Anchor permutation.
        path (str): Image file.
    """
    from mmdet.apis import inference_detector
    img = cv2.imread(path)
    h, w = img.shape[:2]
    prefix = f'raw_{h}x{w}'
    x_official = official.preprocess(img)
    record = official.run(x_official, h, w)
    x = _our_input(model, path)['inputs']
    report.add_tensor(f'{prefix}/input', x, x_official)
    add_tensor_rows(report, prefix, our_tensors(model, x, perm), record,
                    tuple(x.shape[-2:]))
    results = inference_detector(model, path)
    add_detection_rows(report, f'{prefix}/dets', our_detections(results),
                       record['dets'], score_thr=_score_thr(model))


def _prepare_official(name: str, options: ParityOptions, code, work: str,
                      report: ParityReport,
                      images: List[np.ndarray]) -> Tuple[OfficialYolact, str]:
    """Build the official model, fill or load its weights, save them."""
    if 'plus' in name:
        note = ('DCNv2 (external/DCNv2, compiled) replaced at run time by '
                "mmcv's modulated_deform_conv2d (dcn_v2.DCN, same "
                'parameters and offset layout)')
        code.add_module('dcn_v2', modulated_deform_conv_module(
            'dcn_v2', 'DCN', note), note)
    official = OfficialYolact(OFFICIAL_CONFIGS[name])
    src = options.checkpoint
    if src is None:
        report.notes += randomize(
            official, options.seed,
            torch.cat([official.preprocess(img) for img in images]))
        src = osp.join(work, f'{name}_official.pth')
        official.save(src)
        report.notes.append(f'saved with Yolact.save_weights: {src}')
    official.load(src)
    return official, src


@register(*OFFICIAL_CONFIGS, clone='yolact')
def run_yolact(name: str, options: ParityOptions) -> ParityReport:
    """The YOLACT parity run of one model (see the module docstring).

    Args:
        name (str): A key of :data:`OFFICIAL_CONFIGS`.
        options (ParityOptions): The request.

    Returns:
        ParityReport: Rows for (a) the shared tensor and (b) each raw
        size, the notes, and the timing table with ``options.time``.
    """
    from mmdet.apis import init_detector
    report = ParityReport(name, documented=load_documented_differences())
    torch.manual_seed(options.seed)
    with tempfile.TemporaryDirectory() as tmp, official_code(
            options.official_dir, MARKERS, 'dbolya/yolact') as code:
        work = options.work_dir or tmp
        shared = synthetic_image(550, 550, options.seed)
        paths = []
        for i, (h, w) in enumerate(RAW_SIZES):
            paths.append(osp.join(work, f'raw_{h}x{w}.png'))
            cv2.imwrite(paths[-1],
                        synthetic_image(h, w, options.seed + 1 + i))
        images = [shared] + [cv2.imread(p) for p in paths]
        official, src = _prepare_official(name, options, code, work, report,
                                          images)
        dst = osp.join(work, f'{name}_mmregion.pth')
        text, perm = convert(src, dst)
        report.notes.append('converted with ' + ' '.join(
            [osp.relpath(CONVERTER, REPO), src, dst]) + ':\n        ' +
            text.replace('\n', '\n        '))
        model = init_detector(our_config(name), dst, device='cpu')
        compare_shared(report, official, model, perm, shared)
        for path in paths:
            compare_raw(report, official, model, perm, path)
        if options.time:
            from .yolact_timing import time_yolact
            report.tables.append(time_yolact(official, model, torch.cat(
                [official.preprocess(img) for img in images])))
        report.notes = code.notes + report.notes
    return report
