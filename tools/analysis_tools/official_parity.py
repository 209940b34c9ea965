"""Run one of our official-checkpoint configs beside the official code.

Example::

    python tools/analysis_tools/official_parity.py \
        --official-dir ../official/yolact --model yolact_resnet50

builds the official model from its own config with seeded random weights
(or reads ``--checkpoint``), saves it as the official code does, converts
it with our converter CLI, runs both on a shared tensor and on raw images
through each side's preprocessing, and prints the per-tensor table and the
final-detections comparison. Exit status: 0 parity, 1 a difference (the
first one is named), 2 a bad request. docs/parity.md has the details.
"""
import argparse
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--official-dir', required=True,
                        help='clone of the official code (see '
                        'docs/parity.md for the commits)')
    parser.add_argument('--model', required=True,
                        help='model name, e.g. yolact_resnet50 '
                        '(--model list prints them)')
    parser.add_argument('--checkpoint',
                        help='a real official checkpoint instead of '
                        'seeded random weights')
    parser.add_argument('--work-dir',
                        help='keep the official and converted checkpoints '
                        'here (default: a temporary folder)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the random weights and images')
    parser.add_argument('--time', action='store_true',
                        help='also time ours against the official model')
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of an error')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    from mmregion.analysis.parity import (
        ParityOptions,
        ParityUserError,
        load_runners,
        run_parity,
    )
    if args.model == 'list':
        print('\n'.join(sorted(load_runners())))
        return 0
    options = ParityOptions(args.official_dir, args.checkpoint,
                            args.work_dir, args.time, args.seed)
    try:
        report = run_parity(args.model, options)
    except ParityUserError as error:
        if args.debug:
            raise
        print(f'error: {error}', file=sys.stderr)
        return 2
    except Exception as error:  # noqa: BLE001 (one line unless --debug)
        if args.debug:
            raise
        print(f'error: {type(error).__name__}: {error} (--debug shows the '
              'traceback)', file=sys.stderr)
        return 1
    print(report.format())
    return 0 if report.passed else 1


if __name__ == '__main__':
    sys.exit(main())
