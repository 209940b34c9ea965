"""The small open-vocabulary experiment on the synthetic shapes, one
command: tiny CLIP → RegionCLIP pretraining → fine-tuning on base boxes
(from the CLIP and from the student) → AP50 on novel / base / all.

Example::

    python tools/misc/run_ovd_experiment.py --data-root data/shapes \
        --work-dir work_dirs/ovd_experiment
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Compare open-vocabulary fine-tuning from a tiny CLIP '
        'and from its RegionCLIP-pretrained student on the synthetic shapes')
    parser.add_argument(
        '--data-root', default='data/shapes',
        help='synthetic dataset (generated when missing)')
    parser.add_argument(
        '--work-dir', default='work_dirs/ovd_experiment', help='outputs')
    parser.add_argument(
        '--clip-epochs', type=int, default=40, help='tiny-CLIP epochs')
    parser.add_argument(
        '--pretrain-iters', type=int, default=300,
        help='RegionCLIP pretraining iterations')
    parser.add_argument(
        '--finetune-epochs', type=int, default=12,
        help='detector fine-tuning epochs')
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
    parser.add_argument('--seed', type=int, default=0, help='seed')
    add_cli_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis import run_ovd_experiment
    run_ovd_experiment(
        data_root=args.data_root,
        work_dir=args.work_dir,
        clip_epochs=args.clip_epochs,
        pretrain_iters=args.pretrain_iters,
        finetune_epochs=args.finetune_epochs,
        concept_min_freq=args.min_freq,
        spacy_model=args.spacy_model,
        num_workers=args.num_workers,
        threads=args.threads or None,
        seed=args.seed)


if __name__ == '__main__':
    cli_main(main)
