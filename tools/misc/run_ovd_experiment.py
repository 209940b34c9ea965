"""The small open-vocabulary experiment on the synthetic shapes, one
command: tiny CLIP → RegionCLIP pretraining → fine-tuning on base boxes
(from random weights, the CLIP and the student) → AP50 on novel / base /
all; with ``--seeds``, over several seeds with mean and std per cell.

Example::

    # one seed on the demo data (8 classes, 2 novel)
    python tools/misc/run_ovd_experiment.py --data-root data/shapes \
        --work-dir work_dirs/ovd_experiment
    # the testbed of docs/ovd_experiment.md: 3 seeds, each its own data
    python tools/misc/run_ovd_experiment.py --preset ovd --seeds 0 1 2 \
        --data-root data/shapes_ovd --work-dir work_dirs/ovd_seeds
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Compare open-vocabulary fine-tuning from a tiny CLIP '
        'and from its RegionCLIP-pretrained student on the synthetic shapes')
    parser.add_argument(
        '--data-root', default='data/shapes',
        help='synthetic dataset (generated when missing); with --seeds, '
        'the prefix of the per-seed roots')
    parser.add_argument(
        '--work-dir', default='work_dirs/ovd_experiment', help='outputs')
    parser.add_argument(
        '--preset', choices=('demo', 'ovd'), default=None,
        help='data preset when the data is generated (default: demo)')
    parser.add_argument(
        '--seeds', type=int, nargs='+', default=None,
        help='run once per seed (own data and randomness) and report mean '
        'and std; default: one run with --seed')
    parser.add_argument('--seed', type=int, default=0, help='seed')
    parser.add_argument(
        '--runs', nargs='+', default=['CLIP', 'RegionCLIP'],
        choices=('random', 'CLIP', 'RegionCLIP'),
        help='initialisations to fine-tune')
    parser.add_argument(
        '--clip-epochs', type=int, default=40, help='tiny-CLIP epochs')
    parser.add_argument(
        '--clip-positives', action='store_true',
        help='tiny CLIP: pairs whose captions name the same objects are '
        'positives of each other (not ClipLoss negatives)')
    parser.add_argument(
        '--clip-corpus', nargs='+', action=DictAction, default=None,
        help='a separate tiny-CLIP caption corpus: images=N and generator '
        'fields, e.g. images=4000 object_centric=0.5 colour_words=False '
        '(default: the CLIP trains on the train captions)')
    parser.add_argument(
        '--pretrain-iters', type=int, default=300,
        help='RegionCLIP pretraining iterations')
    parser.add_argument(
        '--finetune-epochs', type=int, default=12,
        help='detector fine-tuning epochs')
    parser.add_argument(
        '--finetune-recipe',
        choices=('config', 'quality', 'frozen', 'regionclip', 'trained'),
        default='config',
        help='fine-tuning settings (mmregion.apis.ovd_settings.'
        'FINETUNE_RECIPES); default: the config as it is (= frozen)')
    parser.add_argument(
        '--pretrain-recipe', choices=('config', 'regionclip', 'grounded'),
        default='config',
        help='pretraining settings (mmregion.apis.ovd_settings.'
        'PRETRAIN_RECIPES); default: the config as it is')
    parser.add_argument(
        '--offline-rpn-epochs', type=int, default=0,
        help='train an offline RPN on the base boxes for this many epochs '
        'and pretrain on its proposals (default 0: grid regions)')
    parser.add_argument(
        '--rpn-regions', type=int, default=20,
        help='offline-RPN proposals per image (NMS 0.5)')
    parser.add_argument(
        '--pretrain-cfg-options', nargs='+', action=DictAction,
        default=None, help='pretraining config overrides, key=value')
    parser.add_argument(
        '--finetune-cfg-options', nargs='+', action=DictAction,
        default=None, help='fine-tuning config overrides, key=value')
    parser.add_argument(
        '--diagnostics', default=None, metavar='SPLIT',
        help='measure region top-1 accuracy and pseudo-label quality on '
        'this split (e.g. heldout, val)')
    parser.add_argument(
        '--reuse', action='store_true',
        help='skip the stages whose outputs the work dir holds already '
        '(tiny CLIP, offline RPN, student) and fine-tune again; a seed\'s '
        'results.json is then run again, not read')
    parser.add_argument(
        '--min-freq', type=int, default=100,
        help='concept-pool frequency threshold')
    parser.add_argument(
        '--spacy-model', default='en_core_web_sm', help='spaCy model')
    parser.add_argument(
        '--num-workers', type=int, default=1, help='data-loading workers')
    parser.add_argument(
        '--threads', type=int, default=1,
        help='PyTorch threads (default 1; 0 keeps torch\'s default)')
    add_cli_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis import run_ovd_experiment, run_ovd_seeds
    kwargs = dict(
        data_root=args.data_root,
        work_dir=args.work_dir,
        preset=args.preset,
        clip_epochs=args.clip_epochs,
        clip_corpus=args.clip_corpus,
        clip_positives=args.clip_positives,
        pretrain_iters=args.pretrain_iters,
        finetune_epochs=args.finetune_epochs,
        pretrain_options=args.pretrain_cfg_options,
        pretrain_recipe=args.pretrain_recipe,
        offline_rpn_epochs=args.offline_rpn_epochs,
        rpn_regions=args.rpn_regions,
        finetune_options=args.finetune_cfg_options,
        finetune_recipe=args.finetune_recipe,
        runs=args.runs,
        diagnostics=args.diagnostics,
        reuse=args.reuse,
        concept_min_freq=args.min_freq,
        spacy_model=args.spacy_model,
        num_workers=args.num_workers,
        threads=args.threads or None)
    if args.seeds is None:
        run_ovd_experiment(seed=args.seed, **kwargs)
    else:
        run_ovd_seeds(seeds=args.seeds, **kwargs)


if __name__ == '__main__':
    cli_main(main)
