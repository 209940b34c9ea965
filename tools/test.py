"""Evaluate a checkpoint: ``python tools/test.py CONFIG [CHECKPOINT] ...``."""
import argparse
import os

from mmengine.config import DictAction

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and eval) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint',
        nargs='?',
        help='checkpoint file; omitted: the weights the config names for '
        'its modules (init_weights), e.g. the CLIP backbone of a zero-shot '
        'open-vocabulary config')
    parser.add_argument(
        '--work-dir', help='the dir to save the file containing metrics')
    parser.add_argument(
        '--out', help='dump predictions to a pickle file (.pkl)')
    parser.add_argument(
        '--show', action='store_true', help='show prediction results')
    parser.add_argument(
        '--show-dir',
        help='folder (inside the run folder of the work dir) where '
        'visualised predictions are written')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds between shows')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    add_cli_arguments(parser, trust_checkpoint=True)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    from mmregion.apis import test
    test(
        args.config,
        args.checkpoint,
        work_dir=args.work_dir,
        cfg_options=args.cfg_options,
        out=args.out,
        show_dir=args.show_dir,
        show=args.show,
        wait_time=args.wait_time,
        launcher=args.launcher)


if __name__ == '__main__':
    cli_main(main)
