"""Benchmark RegionCLIP's region features against R-CNN-style crops, and
text-embedding time (first run vs cache), in one run on this machine.

Example::

    python tools/analysis_tools/benchmark_region_features.py --model RN50 \
        --boxes 100 --lvis-texts --templates simple
"""
import argparse
import os.path as osp
import tempfile

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', default='RN50', help='CLIP ResNet name')
    parser.add_argument('--boxes', type=int, default=100, help='boxes')
    parser.add_argument(
        '--size', type=int, nargs=2, default=(800, 1333), metavar=('H', 'W'))
    parser.add_argument('--repeats', type=int, default=3, help='timed runs')
    parser.add_argument(
        '--no-regions', action='store_true',
        help='skip the region-classification timing')
    parser.add_argument(
        '--lvis-texts', action='store_true',
        help="also time embedding LVIS's 1203 class names, first vs cached")
    parser.add_argument(
        '--templates', default='simple',
        help='templates for the text timing (regionclip = 81 per name)')
    parser.add_argument(
        '--clip-checkpoint',
        help='CLIP weights for the text timing (default: random weights '
        'saved to a temporary file)')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import torch
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
          f'model {args.model}, image {args.size[0]}x{args.size[1]}, '
          f'{args.boxes} boxes')
    if not args.no_regions:
        print_region_timing(args)
    if args.lvis_texts:
        print_text_timing(args)


def print_region_timing(args: argparse.Namespace) -> None:
    from mmregion.analysis.region_benchmark import time_region_classification
    r = time_region_classification(args.model, args.boxes, args.size,
                                   args.repeats)
    print(f'| path | median seconds |\n| --- | --- |\n'
          f'| RoIAlign + res5 + attnpool | {r["roialign_s"]:.3f} |\n'
          f'| crop + resize + CLIP image encoder per box | '
          f'{r["crops_s"]:.3f} |\n'
          f'speed-up (crops / RoIAlign): {r["speedup"]:.2f}x')


def print_text_timing(args: argparse.Namespace) -> None:
    import open_clip
    import torch
    from mmdet.datasets import LVISV1Dataset

    from mmregion.analysis.region_benchmark import time_text_embeddings
    names = list(LVISV1Dataset.METAINFO['classes'])
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.clip_checkpoint
        if checkpoint is None:
            checkpoint = osp.join(tmp, 'clip.pth')
            torch.save(
                open_clip.create_model(args.model).state_dict(), checkpoint)
        t = time_text_embeddings(names, args.model, checkpoint,
                                 args.templates, osp.join(tmp, 'cache'))
    print(f'text embeddings, {len(names)} LVIS names x templates '
          f'{args.templates!r} = {t["prompts"]} prompts: first run '
          f'{t["first_s"]:.1f}s, cached {t["cached_s"]:.3f}s '
          f'({t["first_s"] / t["cached_s"]:.0f}x)')


if __name__ == '__main__':
    cli_main(main)
