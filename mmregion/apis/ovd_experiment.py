"""A small open-vocabulary experiment on the synthetic shapes, end to end:
tiny CLIP → RegionCLIP pretraining → fine-tuning on base boxes → OVD AP50.
"""
import json
import os
import os.path as osp
import time
from typing import Callable, Dict, List, Optional, Sequence

import torch
from mmengine.logging import MessageHub
from mmengine.runner import Runner
from mmengine.visualization import Visualizer

from ..datasets.concepts import DEFAULT_SPACY_MODEL, extract_concepts
from .class_names import extract_text_embeddings
from ..synthetic.shapes import (BASE_CLASSES, SHAPE_CLASSES,
                                generate_shapes_dataset)
from .export import export_student
from .runner import load_config, train
from .tiny_clip import train_tiny_clip

CONFIG_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), '.mim',
                      'configs', 'synthetic')
PRETRAIN_CONFIG = osp.join(CONFIG_DIR, 'region-pretrain_rn-tiny_shapes.py')
FINETUNE_CONFIG = osp.join(CONFIG_DIR, 'regionclip_rn-tiny_c4_shapes-ovd.py')
METRIC_KEYS = ('coco/novel_ap50', 'coco/base_ap50', 'coco/all_ap50')


def _fresh_run_state() -> None:
    """Forget the previous run's logger state (message hub, visualiser),
    which mmengine keeps per process and a second runner would reuse."""
    from mmdet.visualization import DetLocalVisualizer
    MessageHub._instance_dict.clear()
    Visualizer._instance_dict.clear()
    DetLocalVisualizer._instance_dict.clear()


def _data_options(data_root: str) -> Dict[str, object]:
    """Config overrides pointing a shapes config at ``data_root``."""
    ann = osp.join(data_root, 'annotations', 'instances_val.json')
    options = {'train_dataloader.dataset.data_root': data_root}
    for split in ('val', 'test'):
        options[f'{split}_dataloader.dataset.data_root'] = data_root
        options[f'{split}_evaluator.ann_file'] = ann
    return options


def _metrics(metrics: Dict[str, float]) -> Dict[str, float]:
    """Novel/base/all AP50; 0 where the model detected nothing (the metric
    then reports no numbers)."""
    return {
        key.split('/')[-1]: float(metrics.get(key, 0.0))
        for key in METRIC_KEYS
    }


def run_ovd_experiment(
        data_root: str = 'data/shapes',
        work_dir: str = 'work_dirs/ovd_experiment',
        clip_epochs: int = 40,
        clip_batch_size: int = 32,
        pretrain_iters: int = 300,
        finetune_epochs: int = 12,
        concept_min_freq: int = 100,
        spacy_model: str = DEFAULT_SPACY_MODEL,
        num_workers: int = 1,
        threads: Optional[int] = 1,
        seed: int = 0,
        pretrain_options: Optional[Dict[str, object]] = None,
        finetune_options: Optional[Dict[str, object]] = None,
        log: Callable[[str], None] = print) -> Dict[str, object]:
    """Compare fine-tuning from a tiny CLIP and from its RegionCLIP student.

    1. the synthetic shapes dataset (generated into ``data_root`` when its
       ``meta.json`` is missing; captions name every shape, novel ones
       included);
    2. a concept pool parsed from the training captions
       (:func:`extract_concepts`);
    3. a tiny CLIP (open_clip ``RN-tiny``, ``ClipLoss``) trained on the
       image-caption pairs (:func:`train_tiny_clip`), and its text
       embeddings of the base and of all classes;
    4. RegionCLIP pretraining of a student from it
       (``configs/synthetic/region-pretrain_rn-tiny_shapes.py``), exported
       with :func:`export_student`;
    5. for each initialisation (the CLIP, the student): zero-shot AP50 with
       ground-truth boxes (region recognition alone), then the
       open-vocabulary RegionCLIP detector
       (``configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py``)
       fine-tuned on base-class boxes only and evaluated on novel, base and
       all classes (:class:`OVDMetric`).

    Args:
        data_root (str): Synthetic dataset root. Defaults to
            ``'data/shapes'``.
        work_dir (str): Outputs (checkpoints, logs, ``results.json``).
        clip_epochs (int): Tiny-CLIP epochs. Defaults to 40.
        clip_batch_size (int): Tiny-CLIP batch size. Defaults to 32.
        pretrain_iters (int): Pretraining iterations. Defaults to 300.
        finetune_epochs (int): Fine-tuning epochs (lr steps at 75% and
            92%). Defaults to 12.
        concept_min_freq (int): Concept-pool frequency threshold.
            Defaults to 100.
        spacy_model (str): spaCy model for the concept parser.
        num_workers (int): Data-loading workers of the mmengine runs.
            Defaults to 1.
        threads (int, optional): PyTorch threads of this process; None
            keeps torch's setting. Defaults to 1: these tiny models gain
            little from more, and on a busy 2-core machine two threads per
            process were 4x slower than one.
        seed (int): Seed of every stage. Defaults to 0.
        pretrain_options (dict, optional): Extra pretraining config
            overrides.
        finetune_options (dict, optional): Extra fine-tuning config
            overrides.
        log (Callable): Receives progress lines. Defaults to ``print``.

    Returns:
        dict: ``runs`` (name → ``zero_shot`` and ``fine_tuned`` metrics
        ``novel_ap50``/``base_ap50``/``all_ap50``), ``seconds`` (stage →
        wall time), ``concepts`` and the written files; also saved as
        ``work_dir/results.json``.
    """
    start = time.time()
    if threads is not None:
        torch.set_num_threads(threads)
    seconds: Dict[str, float] = {}
    os.makedirs(work_dir, exist_ok=True)
    data_root = data_root.rstrip('/') + '/'
    files = dict(
        concepts=osp.join(work_dir, 'concepts.txt'),
        clip=osp.join(work_dir, 'clip_rn-tiny.pth'),
        emb_base=osp.join(work_dir, 'emb_rn-tiny_base.pth'),
        emb_all=osp.join(work_dir, 'emb_rn-tiny_all.pth'),
        student=osp.join(work_dir, 'student_rn-tiny.pth'))

    def stage(name: str, began: float) -> None:
        seconds[name] = round(time.time() - began, 1)
        log(f'[ovd experiment] {name}: {seconds[name]:.1f}s')

    began = time.time()
    if not osp.isfile(osp.join(data_root, 'meta.json')):
        generate_shapes_dataset(data_root, seed=seed)
    stage('data', began)

    began = time.time()
    pool = extract_concepts(
        osp.join(data_root, 'annotations', 'captions_train.json'),
        files['concepts'],
        min_freq=concept_min_freq,
        spacy_model=spacy_model)
    log(f'[ovd experiment] {len(pool)} concepts: '
        + ', '.join(f'{n} ({c})' for n, c in zip(pool.names, pool.counts)))
    stage('concepts', began)

    began = time.time()
    train_tiny_clip(
        data_root,
        files['clip'],
        epochs=clip_epochs,
        batch_size=clip_batch_size,
        seed=seed,
        log=log)
    templates = _caption_templates()
    for key, names in (('emb_base', BASE_CLASSES), ('emb_all',
                                                    SHAPE_CLASSES)):
        extract_text_embeddings(
            list(names), 'RN-tiny', files['clip'], templates, out=files[key])
    stage('tiny_clip', began)

    began = time.time()
    pretrain_dir = osp.join(work_dir, 'pretrain')
    options = {
        'model.backbone.checkpoint': files['clip'],
        'model.text_encoder.checkpoint': files['clip'],
        'model.concepts': files['concepts'],
        'train_dataloader.dataset.data_root': data_root,
        'train_dataloader.num_workers': num_workers,
        'train_dataloader.persistent_workers': num_workers > 0,
        'randomness': dict(seed=seed),
        **_schedule_options(pretrain_iters),
        **(pretrain_options or {})
    }
    _fresh_run_state()
    runner = train(PRETRAIN_CONFIG, work_dir=pretrain_dir,
                   cfg_options=options)
    export_student(
        osp.join(pretrain_dir, f'iter_{runner.iter}.pth'), files['student'])
    stage('pretrain', began)

    runs = {}
    for name, weights in (('CLIP', files['clip']),
                          ('RegionCLIP', files['student'])):
        began = time.time()
        options = {
            'model.backbone.checkpoint': weights,
            'model.roi_head.bbox_head.train_vocabulary': files['emb_base'],
            'model.roi_head.bbox_head.test_vocabulary': files['emb_all'],
            'randomness': dict(seed=seed),
            **_data_options(data_root)
        }
        for split in ('train', 'val', 'test'):
            options[f'{split}_dataloader.num_workers'] = num_workers
            options[f'{split}_dataloader.persistent_workers'] = \
                num_workers > 0
        run_dir = osp.join(work_dir, f'finetune_{name.lower()}')
        _fresh_run_state()
        zero_shot = _zero_shot_gt(
            {
                **options, 'model.proposal_source': 'gt',
                'model.roi_head.bbox_head.no_box_delta': True,
                # every class of every box, ranked by its probability
                'model.test_cfg.rcnn.score_thr': 0.0
            }, osp.join(run_dir, 'zero_shot_gt'))
        _fresh_run_state()
        runner = train(
            FINETUNE_CONFIG,
            work_dir=run_dir,
            cfg_options={
                **{k: v
                   for k, v in options.items() if not k.startswith('val_')},
                'train_cfg.max_epochs': finetune_epochs,
                # evaluated once, by runner.test() below
                'val_dataloader': None,
                'val_cfg': None,
                'val_evaluator': None,
                'param_scheduler.1.end': finetune_epochs,
                'param_scheduler.1.milestones': [
                    round(finetune_epochs * 0.75),
                    round(finetune_epochs * 0.92)
                ],
                **(finetune_options or {})
            })
        fine_tuned = runner.test()
        runs[name] = dict(
            init=weights,
            zero_shot=_metrics(zero_shot),
            fine_tuned=_metrics(fine_tuned))
        stage(f'finetune_{name.lower()}', began)

    seconds['total'] = round(time.time() - start, 1)
    results = dict(
        runs=runs,
        seconds=seconds,
        concepts=dict(zip(pool.names, pool.counts)),
        files=files,
        settings=dict(
            data_root=data_root,
            clip_epochs=clip_epochs,
            clip_batch_size=clip_batch_size,
            pretrain_iters=pretrain_iters,
            finetune_epochs=finetune_epochs,
            concept_min_freq=concept_min_freq,
            threads=threads,
            seed=seed))
    with open(osp.join(work_dir, 'results.json'), 'w') as f:
        json.dump(results, f, indent=2)
    log(format_results(results))
    return results


def _zero_shot_gt(options: Dict[str, object],
                  work_dir: str) -> Dict[str, float]:
    """Evaluate the fine-tuning config zero-shot, its backbone weights
    loaded from ``model.backbone.checkpoint``.

    ``tools/test.py`` loads a whole detector checkpoint and does not
    initialise the model, which would leave a backbone given only by its
    ``checkpoint`` random; here ``init_weights`` loads it.
    """
    runner = Runner.from_cfg(
        load_config(FINETUNE_CONFIG, options, work_dir))
    runner.model.init_weights()
    return runner.test()


def _caption_templates() -> List[str]:
    """The prompt templates of the synthetic pretraining config."""
    from mmengine.config import Config
    return list(Config.fromfile(PRETRAIN_CONFIG).caption_templates)


def _schedule_options(iters: int) -> Dict[str, object]:
    """Pretraining overrides for ``iters`` iterations (lr step at 80%)."""
    return {
        'train_cfg.max_iters': iters,
        'param_scheduler.1.end': iters,
        'param_scheduler.1.milestones': [int(iters * 0.8)],
        'default_hooks.checkpoint.interval': iters,
    }


def format_results(results: Dict[str, object],
                   runs: Sequence[str] = ('CLIP', 'RegionCLIP')) -> str:
    """The experiment's table (AP50 in percent).

    Args:
        results (dict): As :func:`run_ovd_experiment` returns.
        runs (Sequence[str]): Rows, in order.

    Returns:
        str: A Markdown table and the stage times.
    """
    lines = [
        '| initialisation | zero-shot GT novel | zero-shot GT base | '
        'fine-tuned novel AP50 | fine-tuned base AP50 | fine-tuned all AP50 |',
        '| --- | --- | --- | --- | --- | --- |'
    ]
    names = dict(CLIP='tiny CLIP', RegionCLIP='RegionCLIP student')
    for run in runs:
        zs, ft = (results['runs'][run][k] for k in ('zero_shot',
                                                    'fine_tuned'))
        lines.append(
            f'| {names.get(run, run)} | {100 * zs["novel_ap50"]:.1f} | '
            f'{100 * zs["base_ap50"]:.1f} | {100 * ft["novel_ap50"]:.1f} | '
            f'{100 * ft["base_ap50"]:.1f} | {100 * ft["all_ap50"]:.1f} |')
    times = ', '.join(f'{k} {v:.0f}s' for k, v in results['seconds'].items())
    return '\n'.join(lines) + f'\n\nwall time: {times}'
