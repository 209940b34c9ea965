"""Parity runners of RegionCLIP: the official CLIPFastRCNN against ours.

For each model the official detector is built from its own config (the
clone's YAML plus the options of RegionCLIP's test scripts), given seeded
random weights (:func:`randomize_official`), saved with detectron2's
``DetectionCheckpointer`` next to its text-embedding files, converted by
``tools/model_converters/regionclip_to_mmregion.py`` in a subprocess and
loaded into our config. Both then run on one shared input and on raw
images through each side's own preprocessing (:mod:`.regionclip_run`).
"""
import logging
import os.path as osp
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import torch

from ...fileio import load_checkpoint_file
from .regionclip_official import regionclip_code
from .registry import ParityOptions, register
from .report import ParityReport, load_documented_differences

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.realpath(__file__)))))
COCO = 'configs/COCO-InstanceSegmentation/'
LVIS = 'configs/LVISv1-InstanceSegmentation/'
#: Proposals kept by the offline RPN on both sides (the official 1000 make
#: a CPU run of the region path ten times longer; the RPN's own rows are
#: compared before this cut, the NMS and top-k code paths are the same).
PROPOSALS = 100
RN50X4 = [
    'MODEL.CLIP.TEXT_EMB_DIM', '640', 'MODEL.RESNETS.DEPTH', '200',
    'MODEL.ROI_BOX_HEAD.POOLER_RESOLUTION', '18'
]


@dataclass
class Spec:
    """One official model and our config for it.

    Attributes:
        yaml (str): The official config, relative to the clone.
        opts (list[str]): Options of RegionCLIP's test script.
        ours (str): Our config, relative to the repository.
        classes (tuple[int, int | None]): Train and open-set test classes
            (text embeddings written as TEXT_EMB_PATH and
            OPENSET_TEST_TEXT_EMB_PATH).
        dim (int): Text embedding dim.
        gt (bool): Ground-truth boxes as proposals.
        rpn_yaml (str, optional): The offline RPN's config.
        logit (bool): The official multiplies by the objectness logit.
    """
    yaml: str
    opts: List[str]
    ours: str
    classes: Tuple[int, Optional[int]]
    dim: int = 1024
    gt: bool = False
    rpn_yaml: Optional[str] = None
    logit: bool = False
    extra: List[str] = field(default_factory=list)


def _specs() -> Dict[str, Spec]:
    zs = COCO + 'CLIP_fast_rcnn_R_50_C4_ovd_zsinf.yaml'
    ours = 'configs/regionclip/regionclip_{}_c4_{}.py'
    specs = {}
    for arch, extra, dim in (('rn50', [], 1024), ('rn50x4', RN50X4, 640)):
        specs[f'regionclip_{arch}_c4_zeroshot_gt'] = Spec(
            zs,
            [
                'MODEL.CLIP.CROP_REGION_TYPE', 'GT',
                'MODEL.CLIP.MULTIPLY_RPN_SCORE', 'False'
            ] + extra,
            ours.format(arch, 'zeroshot-gt_coco-ovd'), (65, None),
            dim,
            gt=True)
        specs[f'regionclip_{arch}_c4_zeroshot_rpn'] = Spec(
            zs,
            [
                'MODEL.CLIP.CROP_REGION_TYPE', 'RPN',
                'MODEL.CLIP.MULTIPLY_RPN_SCORE', 'True'
            ] + extra,
            ours.format(arch, 'zeroshot-rpn_coco-ovd'), (65, None),
            dim,
            rpn_yaml=LVIS + 'mask_rcnn_R_50_FPN_1x.yaml',
            logit=True)
        specs[f'regionclip_{arch}_c4_finetuned_coco'] = Spec(
            COCO + 'CLIP_fast_rcnn_R_50_C4_ovd.yaml',
            list(extra),
            ours.format(arch, '1x_coco-ovd'), (48, 65),
            dim,
            rpn_yaml=COCO + 'mask_rcnn_R_50_C4_1x_ovd_FSD.yaml')
        lvis_extra = extra + ([
            'MODEL.ROI_MASK_HEAD.POOLER_RESOLUTION', '18',
            'MODEL.RESNETS.RES2_OUT_CHANNELS', '320'
        ] if extra else [])
        specs[f'regionclip_{arch}_c4_finetuned_lvis_mask'] = Spec(
            LVIS + 'CLIP_fast_rcnn_R_50_C4.yaml',
            ['MODEL.CLIP.OFFLINE_RPN_LSJ_PRETRAINED', 'True'] + lvis_extra,
            ours.format(arch, '1x_lvis-ovd'), (866, 1203),
            dim,
            rpn_yaml=LVIS + 'mask_rcnn_R_50_FPN_1x.yaml',
            logit=True)
    return specs


SPECS = _specs()


def official_cfg(spec: Spec, work: str, seed: int):
    """The official config, with random text embeddings written to files.

    Args:
        spec (Spec): The model.
        work (str): Folder of the embedding files.
        seed (int): Seed of the embeddings.

    Returns:
        CfgNode: detectron2's config (CPU).
    """
    from detectron2.config import get_cfg
    gen = torch.Generator().manual_seed(seed + 1)
    opts = list(spec.opts)
    for key, count in (('TEXT_EMB_PATH', spec.classes[0]),
                       ('OPENSET_TEST_TEXT_EMB_PATH', spec.classes[1])):
        if count:
            path = osp.join(work, f'{key.lower()}.pth')
            # as RegionCLIP's extract_concept_features.py saves them
            torch.save(torch.randn(count, spec.dim, generator=gen), path)
            opts += [f'MODEL.CLIP.{key}', path]
    if spec.rpn_yaml:
        opts += [
            'MODEL.CLIP.OFFLINE_RPN_CONFIG', spec.rpn_yaml,
            'MODEL.CLIP.OFFLINE_RPN_POST_NMS_TOPK_TEST',
            str(PROPOSALS)
        ]
    cfg = get_cfg()
    cfg.merge_from_file(spec.yaml)
    cfg.merge_from_list(opts + ['MODEL.DEVICE', 'cpu'])
    cfg.freeze()
    return cfg


def randomize_official(model: torch.nn.Module, seed: int) -> None:
    """Give every weight of the official model a seeded random value.

    Convolutions and linear layers ~ N(0, 1 / fan_in), biases ~ N(0,
    0.05), BN (frozen) weight and variance ~ U(0.5, 1.5), mean ~ N(0,
    0.1), attention-pool positions ~ N(0, dim^-0.5); RPN objectness and
    box deltas scaled to moderate values (logits within a few units).
    The text embeddings (loaded from their files) and RegionCLIP's zero
    background embedding stay as they are.

    Args:
        model (nn.Module): The official CLIPFastRCNN.
        seed (int): Seed.
    """
    gen = torch.Generator().manual_seed(seed)
    norms = {
        name
        for name, m in model.named_modules() if hasattr(m, 'running_var')
    }
    fixed = ('cls_score.', 'cls_bg_score.', 'test_cls_score.')
    with torch.no_grad():
        for name, tensor in model.state_dict(keep_vars=True).items():
            if not tensor.is_floating_point() or any(
                    f'box_predictor.{f}' in name for f in fixed):
                continue
            owner, _, leaf = name.rpartition('.')
            value = torch.empty_like(tensor)
            if owner in norms and leaf in ('weight', 'running_var'):
                value.uniform_(0.5, 1.5, generator=gen)
            elif owner in norms:
                value.normal_(0, 0.1, generator=gen)
            elif 'positional_embedding' in name:
                value.normal_(0, tensor.shape[-1]**-0.5, generator=gen)
            elif tensor.dim() >= 2:
                fan_in = tensor[0].numel()
                value.normal_(0, fan_in**-0.5, generator=gen)
            else:
                value.normal_(0, 0.05, generator=gen)
            if 'rpn_head.objectness_logits' in name or \
                    'rpn_head.anchor_deltas' in name:
                value *= 0.3
            if 'box_predictor.bbox_pred' in name:
                value *= 0.1
            tensor.copy_(value)


@torch.no_grad()
def calibrate_rpn(model: torch.nn.Module,
                  image: torch.Tensor,
                  logit_max: float = 6.,
                  delta_max: float = 1.) -> None:
    """Scale the random RPN outputs to a trained RPN's range.

    Random weights make an FPN RPN's objectness logits and deltas reach
    hundreds (degenerate boxes, saturated scores); the objectness and delta
    convolutions are scaled so that on ``image`` their largest outputs are
    ``logit_max`` and ``delta_max``.

    Args:
        model (nn.Module): The official CLIPFastRCNN with an offline RPN.
        image (Tensor): (3, H, W) RGB uint8 image.
    """
    rpn = model.offline_proposal_generator
    if rpn is None:
        return
    images = model.offline_preprocess_image([dict(image=image)])
    feats = model.offline_backbone(images.tensor)
    logits, deltas = rpn.rpn_head([feats[f] for f in rpn.in_features])
    for conv, outs, target in ((rpn.rpn_head.objectness_logits, logits,
                                logit_max), (rpn.rpn_head.anchor_deltas,
                                             deltas, delta_max)):
        scale = target / max(float(o.abs().max()) for o in outs)
        conv.weight.mul_(scale)
        conv.bias.mul_(scale)


def save_official(model: torch.nn.Module, work: str) -> str:
    """Save as RegionCLIP's training does (DetectionCheckpointer).

    Args:
        model (nn.Module): The official model.
        work (str): Folder.

    Returns:
        str: ``work/model_final.pth``: ``{'model', 'optimizer',
        'iteration'}``.
    """
    from detectron2.checkpoint import DetectionCheckpointer
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.002, momentum=0.9)
    ckpt = DetectionCheckpointer(model, work, optimizer=optimizer)
    ckpt.save('model_final', iteration=90000)
    return osp.join(work, 'model_final.pth')


def convert(src: str, dst: str) -> Dict[str, str]:
    """Run our converter CLI as a user would.

    Args:
        src (str): Official checkpoint.
        dst (str): Our checkpoint.

    Returns:
        dict[str, str]: ``checkpoint`` and the vocabulary files written.
    """
    tool = osp.join(REPO, 'tools', 'model_converters',
                    'regionclip_to_mmregion.py')
    env = dict(__import__('os').environ, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, tool, src, dst],
                          cwd=REPO,
                          env=env,
                          capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{tool} failed: {done.stdout}{done.stderr}')
    prefix = osp.splitext(dst)[0]
    files = dict(checkpoint=dst, log=done.stdout.strip())
    for split in ('train', 'test'):
        if osp.isfile(f'{prefix}_{split}_vocab.pth'):
            files[split] = f'{prefix}_{split}_vocab.pth'
    return files


def build_official(spec: Spec, options: ParityOptions, work: str):
    """Build, randomise (or load ``--checkpoint``) and save the official
    model; returns ``(model, cfg, checkpoint path)``."""
    from detectron2.checkpoint import DetectionCheckpointer
    from detectron2.modeling import build_model
    cfg = official_cfg(spec, work, options.seed)
    model = build_model(cfg)
    if options.checkpoint:
        DetectionCheckpointer(model).load(options.checkpoint)
        path = options.checkpoint
    else:
        randomize_official(model, options.seed)
        from .regionclip_run import synthetic_image
        image = synthetic_image((480, 643), options.seed + 3)
        calibrate_rpn(model.eval(), torch.from_numpy(image).permute(2, 0, 1))
        path = save_official(model, work)
    return model.eval(), cfg, path


def build_ours(spec: Spec, files: Dict[str, str]):
    """Our detector from our config and the converted files (eval mode)."""
    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import load_checkpoint
    from mmengine.utils import import_modules_from_strings

    from mmregion.apis.runner import load_config
    train = files['train']
    options = {
        'model.backbone.checkpoint': None,
        'model.roi_head.bbox_head.train_vocabulary': train,
        'model.roi_head.bbox_head.test_vocabulary': files.get('test', train),
    }
    if not spec.gt:
        options['model.offline_rpn.init_cfg'] = None
        options['model.offline_rpn.test_cfg.rpn.max_per_img'] = PROPOSALS
    if spec.logit:
        options['model.roi_head.bbox_head.objectness_score'] = 'logit'
    cfg = load_config(osp.join(REPO, spec.ours), options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # init_weights logs every tensor
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    load_checkpoint(model,
                    files['checkpoint'],
                    map_location='cpu',
                    strict=True,
                    logger='silent')
    return model.eval(), cfg


def run_regionclip(name: str, options: ParityOptions) -> ParityReport:
    """The parity run of one RegionCLIP model (see the module docstring).

    Args:
        name (str): A key of :data:`SPECS`.
        options (ParityOptions): Official folder, seed, ``--time``.

    Returns:
        ParityReport: Tensor and detection rows.
    """
    from . import regionclip_run
    spec = SPECS[name]
    report = ParityReport(name, documented=load_documented_differences())
    with tempfile.TemporaryDirectory() as tmp, \
            regionclip_code(options.official_dir) as code:
        work = options.work_dir or tmp
        official, cfg, src = build_official(spec, options, work)
        files = convert(src, osp.join(work, f'{name}_mmregion.pth'))
        ours, our_cfg = build_ours(spec, files)
        report.notes += code.notes + [
            f'official: {spec.yaml} {" ".join(spec.opts)}',
            f'official checkpoint: {src} (DetectionCheckpointer: '
            f'{sorted(load_checkpoint_file(src, "cpu"))})',
            f'converted by tools/model_converters/'
            f'regionclip_to_mmregion.py -> {files["checkpoint"]}',
            f'ours: {spec.ours}' +
            (' + objectness_score=logit' if spec.logit else '')
        ] + ([] if spec.gt else [
            f'both sides keep {PROPOSALS} offline-RPN proposals (official '
            f'OFFLINE_RPN_POST_NMS_TOPK_TEST {PROPOSALS}, ours '
            f'offline_rpn.test_cfg.rpn.max_per_img {PROPOSALS}; the '
            f'configs keep 1000)'
        ])
        regionclip_run.compare(report, spec, official, cfg, ours, our_cfg,
                               work, options.seed)
        if options.time and spec.gt:
            report.notes += regionclip_run.time_gt(official, ours)
    return report


register(*SPECS, clone='RegionCLIP')(run_regionclip)
