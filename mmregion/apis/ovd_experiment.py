"""A small open-vocabulary experiment on the synthetic shapes, end to end:
tiny CLIP → RegionCLIP pretraining → fine-tuning on base boxes → OVD AP50.
"""
import contextlib
import os
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch

from ..datasets.concepts import (
    DEFAULT_SPACY_MODEL,
    ConceptPool,
    extract_concepts,
)
from ..fileio import dump_json_atomic
from .class_names import extract_text_embeddings
from .export import export_student
from .ovd_evaluate import (
    ap50_metrics,
    data_options,
    fresh_run_state,
    zero_shot_gt,
)
from .ovd_rpn import offline_rpn_options, train_offline_rpn
from .ovd_settings import (
    FINETUNE_CONFIG,
    FINETUNE_RECIPES,
    PRETRAIN_CONFIG,
    PRETRAIN_RECIPES,
    caption_templates,
    finetune_schedule,
    object_words,
    prepare_data,
    pretrain_schedule,
)
from .ovd_summary import format_diagnostics, format_results
from .region_diagnostics import (
    build_region_model,
    dataset_classes,
    gt_batches,
    pseudo_label_quality,
    region_recognition,
)
from .runner import train
from .tiny_clip import train_tiny_clip

INITIALISATIONS = ('random', 'CLIP', 'RegionCLIP')
"""Backbone initialisations the experiment compares: open_clip's random
weights, the tiny CLIP (the teacher) and its RegionCLIP student."""
IMAGE_SIZE = (192, 192)
"""Detection input size of the synthetic configs."""


@dataclass
class _Run:
    """State shared by the stages of one run."""
    data_root: str
    work_dir: str
    seed: int
    num_workers: int
    log: Callable[[str], None]
    seconds: Dict[str, float] = field(default_factory=dict)
    files: Dict[str, str] = field(default_factory=dict)
    reuse: bool = False
    reused: List[str] = field(default_factory=list)

    def reusable(self, name: str, *paths: str) -> bool:
        """Whether stage ``name`` may be skipped: ``reuse`` is on and all
        its ``paths`` exist (then logged and recorded in ``reused``)."""
        if not (self.reuse and all(osp.isfile(p) for p in paths)):
            return False
        self.reused.append(name)
        self.log(f'[ovd experiment] {name}: reusing ' + ', '.join(paths))
        return True

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time a stage and log its wall time."""
        began = time.time()
        yield
        self.seconds[name] = round(time.time() - began, 1)
        self.log(f'[ovd experiment] {name}: {self.seconds[name]:.1f}s')


def train_teacher(run: _Run, epochs: int, batch_size: int,
                  concept_min_freq: int,
                  spacy_model: str,
                  positives: bool = False) -> Dict[str, int]:
    """The concept pool, the tiny CLIP and its class embeddings.

    Args:
        run (_Run): The run (its ``files`` gain ``concepts``, ``clip``,
            ``emb_base``, ``emb_all``).
        epochs (int): Tiny-CLIP epochs.
        batch_size (int): Tiny-CLIP batch size.
        concept_min_freq (int): Concept-pool frequency threshold.
        spacy_model (str): spaCy model of the concept parser.
        positives (bool): Pairs whose captions name the same objects (of
            the pool, :func:`object_words`) are positives of each other
            (:func:`multi_positive_clip_loss`). Defaults to False.

    Returns:
        dict[str, int]: The concept pool (name → caption frequency).
    """
    files = run.files
    if run.reusable('tiny_clip', files['concepts'], files['clip'],
                    files['emb_base'], files['emb_all']):
        pool = ConceptPool.load(files['concepts'])
        return dict(zip(pool.names, pool.counts))
    with run.stage('concepts'):
        pool = extract_concepts(
            osp.join(run.data_root, 'annotations', 'captions_train.json'),
            files['concepts'], min_freq=concept_min_freq,
            spacy_model=spacy_model)
        run.log(f'[ovd experiment] {len(pool)} concepts: ' + ', '.join(
            f'{n} ({c})' for n, c in zip(pool.names, pool.counts)))
    corpus = 'captions_clip.json' if osp.isfile(
        osp.join(run.data_root, 'annotations', 'captions_clip.json')) \
        else 'captions_train.json'
    with run.stage('tiny_clip'):
        train_tiny_clip(run.data_root, files['clip'],
                        ann_file=osp.join('annotations', corpus),
                        epochs=epochs, batch_size=batch_size, seed=run.seed,
                        positives=object_words(pool.names)
                        if positives else None,
                        log=run.log)
        classes, novel = dataset_classes(run.data_root)
        templates = caption_templates()
        for key, names in (('emb_base', [c for c in classes
                                         if c not in novel]),
                           ('emb_all', classes)):
            extract_text_embeddings(names, 'RN-tiny', files['clip'],
                                    templates, out=files[key])
    return dict(zip(pool.names, pool.counts))


def pretrain_student(run: _Run, iters: int,
                     options: Optional[Dict[str, object]] = None) -> None:
    """RegionCLIP pretraining of a student of the tiny CLIP, exported to
    ``run.files['student']``."""
    work_dir = osp.join(run.work_dir, 'pretrain')
    if run.reusable('pretrain', run.files['student']):
        return
    with run.stage('pretrain'):
        fresh_run_state()
        runner = train(
            PRETRAIN_CONFIG, work_dir=work_dir, cfg_options={
                **_pretrain_options(run),
                **pretrain_schedule(iters),
                **(options or {})
            })
        export_student(
            osp.join(work_dir, f'iter_{runner.iter}.pth'),
            run.files['student'])


def _pretrain_options(run: _Run) -> Dict[str, object]:
    """Pretraining overrides: teacher, concepts, data, seed."""
    return {
        'model.backbone.checkpoint': run.files['clip'],
        'model.text_encoder.checkpoint': run.files['clip'],
        'model.concepts': run.files['concepts'],
        'train_dataloader.dataset.data_root': run.data_root,
        'train_dataloader.num_workers': run.num_workers,
        'train_dataloader.persistent_workers': run.num_workers > 0,
        'randomness': dict(seed=run.seed),
    }


def diagnose(run: _Run, split: str = 'val', limit: Optional[int] = 100,
             options: Optional[Dict[str, object]] = None) -> dict:
    """Region top-1 accuracy on ground-truth boxes of the random tower, the
    teacher and the student, and the teacher's pseudo-label quality on the
    pretraining regions (:mod:`.region_diagnostics`).

    Args:
        run (_Run): A run whose teacher and student exist.
        split (str): Images to measure on. Defaults to ``'val'``.
        limit (int, optional): First images of the split. Defaults to 100.
        options (dict, optional): Pretraining config overrides (as
            ``pretrain_options``, e.g. the threshold).

    Returns:
        dict: ``recognition`` (init → :func:`region_recognition`) and
        ``pseudo_labels`` (:func:`pseudo_label_quality`).
    """
    classes, novel = dataset_classes(run.data_root)
    out = dict(recognition={})
    with run.stage('diagnostics'):
        for name, weights in _initialisations(run).items():
            model = build_region_model(PRETRAIN_CONFIG, weights,
                                       run.files['clip'], classes, options)
            out['recognition'][name] = region_recognition(
                model, gt_batches(model, run.data_root, split, IMAGE_SIZE,
                                  limit=limit),
                model.concept_embeddings, classes, novel)
        model = build_region_model(PRETRAIN_CONFIG, run.files['clip'],
                                   run.files['clip'], run.files['concepts'],
                                   options)
        out['pseudo_labels'] = pseudo_label_quality(
            model, gt_batches(model, run.data_root, split, IMAGE_SIZE,
                              limit=limit), classes, novel)
    return out


def _initialisations(run: _Run) -> Dict[str, Optional[str]]:
    """Initialisation name → backbone weights (None: random)."""
    return dict(random=None, CLIP=run.files['clip'],
                RegionCLIP=run.files['student'])


def evaluate_init(run: _Run, name: str, finetune_epochs: int,
                  options: Optional[Dict[str, object]] = None,
                  recipe: str = 'config') -> dict:
    """Zero-shot AP50 with ground-truth boxes, then fine-tuning on base
    boxes and AP50 on novel, base and all classes, from one
    initialisation.

    Args:
        run (_Run): The run.
        name (str): One of :data:`INITIALISATIONS`.
        finetune_epochs (int): Epochs (lr steps at 75% and 92%).
        options (dict, optional): Extra fine-tuning overrides.
        recipe (str): A key of :data:`FINETUNE_RECIPES`. Defaults to
            ``'config'``.

    Returns:
        dict: ``init`` (weights file or None), ``zero_shot`` and
        ``fine_tuned`` (``novel_ap50``, ``base_ap50``, ``all_ap50``).
    """
    weights = _initialisations(run)[name]
    run_dir = osp.join(run.work_dir, f'finetune_{name.lower()}')
    common = {
        'model.backbone.checkpoint': weights,
        'model.roi_head.bbox_head.train_vocabulary': run.files['emb_base'],
        'model.roi_head.bbox_head.test_vocabulary': run.files['emb_all'],
        'randomness': dict(seed=run.seed),
        **data_options(run.data_root, run.num_workers)
    }
    with run.stage(f'zero_shot_{name.lower()}'):
        zero_shot = zero_shot_gt(common, osp.join(run_dir, 'zero_shot_gt'))
    with run.stage(f'finetune_{name.lower()}'):
        fresh_run_state()
        runner = train(
            FINETUNE_CONFIG, work_dir=run_dir, cfg_options={
                **{k: v for k, v in common.items()
                   if not k.startswith('val_')},
                **finetune_schedule(finetune_epochs),
                **FINETUNE_RECIPES[recipe],
                **(options or {})
            })
        fine_tuned = runner.test()
    return dict(init=weights, zero_shot=ap50_metrics(zero_shot),
                fine_tuned=ap50_metrics(fine_tuned))


def run_ovd_experiment(
        data_root: str = 'data/shapes',
        work_dir: str = 'work_dirs/ovd_experiment',
        clip_epochs: int = 40,
        clip_batch_size: int = 32,
        clip_positives: bool = False,
        pretrain_iters: int = 300,
        finetune_epochs: int = 12,
        concept_min_freq: int = 100,
        spacy_model: str = DEFAULT_SPACY_MODEL,
        num_workers: int = 1,
        threads: Optional[int] = 1,
        seed: int = 0,
        pretrain_options: Optional[Dict[str, object]] = None,
        finetune_options: Optional[Dict[str, object]] = None,
        preset: Optional[str] = None,
        finetune_recipe: str = 'config',
        clip_corpus: Optional[Dict[str, object]] = None,
        pretrain_recipe: str = 'config',
        offline_rpn_epochs: int = 0,
        rpn_regions: int = 20,
        runs: Sequence[str] = ('CLIP', 'RegionCLIP'),
        diagnostics: Optional[str] = None,
        diagnostics_limit: Optional[int] = 100,
        reuse: bool = False,
        log: Callable[[str], None] = print) -> Dict[str, object]:
    """Compare detectors fine-tuned from a tiny CLIP, from its RegionCLIP
    student (and from random weights).

    1. the synthetic shapes (:func:`prepare_data`; captions name every
       shape, novel ones included);
    2. a concept pool parsed from the training captions
       (:func:`extract_concepts`), a tiny CLIP (open_clip ``RN-tiny``,
       ``ClipLoss``) trained on image-caption pairs
       (:func:`train_tiny_clip`) and its text embeddings of the base and of
       all classes;
    3. RegionCLIP pretraining of a student from it
       (``configs/synthetic/region-pretrain_rn-tiny_shapes.py``), exported
       with :func:`export_student`, on grid regions or on the proposals of
       an offline RPN trained on the base boxes (:func:`train_offline_rpn`);
    4. optionally the region diagnostics (:func:`diagnose`);
    5. for each initialisation in ``runs``: zero-shot AP50 with
       ground-truth boxes (region recognition alone), then the
       open-vocabulary RegionCLIP detector
       (``configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py``)
       fine-tuned on base-class boxes only and evaluated on novel, base and
       all classes (:class:`OVDMetric`), on the ``val`` split.

    Args:
        data_root (str): Synthetic dataset root. Defaults to
            ``'data/shapes'``.
        work_dir (str): Outputs (checkpoints, logs, ``results.json``).
        clip_epochs (int): Tiny-CLIP epochs. Defaults to 40.
        clip_batch_size (int): Tiny-CLIP batch size. Defaults to 32.
        clip_positives (bool): Train the tiny CLIP with every pair whose
            captions name the same objects as positives
            (:func:`train_teacher`). Defaults to False.
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
        seed (int): Seed of the data (when generated) and of every stage.
            Defaults to 0.
        pretrain_options (dict, optional): Extra pretraining overrides.
        finetune_options (dict, optional): Extra fine-tuning overrides.
        preset (str, optional): Data preset when the data is generated
            (:func:`prepare_data`). Defaults to None.
        finetune_recipe (str): A key of :data:`FINETUNE_RECIPES`.
            Defaults to ``'config'``.
        clip_corpus (dict, optional): The tiny CLIP's own corpus
            (:func:`prepare_data`). Defaults to None.
        pretrain_recipe (str): A key of :data:`PRETRAIN_RECIPES`, under
            ``pretrain_options``. Defaults to ``'config'``.
        offline_rpn_epochs (int): Epochs of the offline RPN whose
            proposals are the pretraining regions; 0: grid regions.
            Defaults to 0.
        rpn_regions (int): Its proposals per image (NMS 0.5), all used.
            Defaults to 20.
        runs (Sequence[str]): Initialisations to fine-tune, from
            :data:`INITIALISATIONS`. Defaults to ``('CLIP',
            'RegionCLIP')``.
        diagnostics (str, optional): Split for :func:`diagnose`; None
            skips it. Defaults to None.
        diagnostics_limit (int, optional): Images of that split.
        reuse (bool): Skip the stages whose outputs ``work_dir`` holds
            already (the tiny CLIP with its concepts and embeddings, the
            offline RPN, the student), e.g. to fine-tune again with another
            recipe; the zero-shot tests and fine-tuning always run.
            Defaults to False.
        log (Callable): Receives progress lines. Defaults to ``print``.

    Returns:
        dict: ``runs`` (name → ``zero_shot`` and ``fine_tuned`` metrics
        ``novel_ap50``/``base_ap50``/``all_ap50``), ``seconds`` (stage →
        wall time), ``reused`` (the stages skipped), ``concepts``,
        ``diagnostics`` (or None), the written ``files`` and the
        ``settings``; also saved as ``work_dir/results.json``.
    """
    unknown = [r for r in runs if r not in INITIALISATIONS]
    if unknown:
        raise ValueError(f'run_ovd_experiment: unknown runs {unknown}; '
                         f'expected names from {INITIALISATIONS}')
    for kind, recipe, known in (('finetune', finetune_recipe,
                                 FINETUNE_RECIPES),
                                ('pretrain', pretrain_recipe,
                                 PRETRAIN_RECIPES)):
        if recipe not in known:
            raise ValueError(f'run_ovd_experiment: unknown {kind}_recipe '
                             f'{recipe!r}; expected one of {sorted(known)}')
    if offline_rpn_epochs < 0 or rpn_regions < 1:
        raise ValueError(f'run_ovd_experiment: offline_rpn_epochs must be '
                         f'>= 0 (0: grid regions) and rpn_regions >= 1, got '
                         f'{offline_rpn_epochs} and {rpn_regions}')
    settings = {k: v for k, v in locals().items() if k != 'log'}
    start = time.time()
    if threads is not None:
        torch.set_num_threads(threads)
    run = _Run(data_root.rstrip('/') + '/', work_dir, seed, num_workers, log,
               reuse=reuse)
    os.makedirs(work_dir, exist_ok=True)
    run.files = _run_files(work_dir)
    with run.stage('data'):
        prepare_data(run.data_root, seed, preset, clip_corpus)
    concepts = train_teacher(run, clip_epochs, clip_batch_size,
                             concept_min_freq, spacy_model, clip_positives)
    pretrain_options = {
        **PRETRAIN_RECIPES[pretrain_recipe],
        **(pretrain_options or {})
    }
    if offline_rpn_epochs:
        rpn = osp.join(work_dir, 'offline_rpn',
                       f'epoch_{offline_rpn_epochs}.pth')
        if not run.reusable('offline_rpn', rpn):
            with run.stage('offline_rpn'):
                rpn = train_offline_rpn(run.data_root,
                                        osp.join(work_dir, 'offline_rpn'),
                                        offline_rpn_epochs, seed,
                                        num_workers, fresh_run_state)
        pretrain_options = {
            **offline_rpn_options(rpn, rpn_regions),
            **pretrain_options
        }
    pretrain_student(run, pretrain_iters, pretrain_options)
    found = None if diagnostics is None else diagnose(
        run, diagnostics, diagnostics_limit, pretrain_options)
    if found is not None:
        log(format_diagnostics(found))
    evaluated = {}
    for name in runs:
        evaluated[name] = evaluate_init(run, name, finetune_epochs,
                                        finetune_options, finetune_recipe)
        log(f'[ovd experiment] {name}: {evaluated[name]}')
    results = dict(
        runs=evaluated,
        seconds=run.seconds,
        reused=run.reused,
        concepts=concepts,
        diagnostics=found,
        files=run.files,
        settings=settings)
    run.seconds['total'] = round(time.time() - start, 1)
    dump_json_atomic(results, osp.join(work_dir, 'results.json'), indent=2)
    log(format_results(results, runs))
    return results


def _run_files(work_dir: str) -> Dict[str, str]:
    """The files a run writes."""
    return dict(
        concepts=osp.join(work_dir, 'concepts.txt'),
        clip=osp.join(work_dir, 'clip_rn-tiny.pth'),
        emb_base=osp.join(work_dir, 'emb_rn-tiny_base.pth'),
        emb_all=osp.join(work_dir, 'emb_rn-tiny_all.pth'),
        student=osp.join(work_dir, 'student_rn-tiny.pth'))
