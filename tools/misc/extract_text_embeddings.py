"""Embed class names with a CLIP text encoder (prompt ensemble) into a
vocabulary file for RegionCLIP heads and the demos.

Example::

    python tools/misc/extract_text_embeddings.py --model RN50 \
        --checkpoint checkpoints/RN50.pt --names 'cat . dog . tv|television' \
        --templates regionclip --out work_dirs/emb/pets.pth \
        --cache-dir work_dirs/emb_cache
"""
import argparse
import os.path as osp
import time

from mmregion.apis.cli import add_cli_arguments, cli_main


def existing_file(path: str) -> str:
    """argparse type: a path that must exist."""
    if not osp.isfile(path):
        raise argparse.ArgumentTypeError(f'no such file: {path}')
    return path


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Class names -> prompt-ensembled, L2-normalised CLIP '
        'text embeddings (.pth with {"embeddings": (C, D), "meta": {...}})')
    names = parser.add_mutually_exclusive_group(required=True)
    names.add_argument(
        '--names',
        help="class names separated by '.' or ',', '|' between synonyms: "
        "'cat . dog . tv|television'")
    names.add_argument(
        '--names-file',
        type=existing_file,
        help="text file, one class per line, '|' between synonyms")
    names.add_argument(
        '--dataset-config',
        type=existing_file,
        help="mmdet config; its test dataset's metainfo['classes'] (or the "
        "dataset class's METAINFO)")
    parser.add_argument(
        '--model',
        default='RN50',
        help='open_clip model name (RN50, RN50x4, RN-tiny, ...)')
    parser.add_argument(
        '--checkpoint',
        type=existing_file,
        help='local CLIP weights: OpenAI RN50.pt (TorchScript), an open_clip '
        'checkpoint or a state dict; omitted: random weights')
    parser.add_argument(
        '--templates',
        default='regionclip',
        help="'regionclip' (81), 'openai_imagenet' (80), 'simple' (1), or a "
        "text file with one template per line, each with one '{}'")
    parser.add_argument('--out', required=True, help='output .pth file')
    parser.add_argument(
        '--cache-dir', help='reuse embeddings cached in this folder')
    parser.add_argument(
        '--device', default='cpu', help='device of the text encoder')
    parser.add_argument(
        '--batch-size', type=int, default=256, help='prompts per forward')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis.class_names import extract_text_embeddings
    start = time.time()
    vocab = extract_text_embeddings(
        args.names or args.names_file or args.dataset_config,
        model_name=args.model,
        checkpoint=args.checkpoint,
        templates=args.templates,
        out=args.out,
        cache_dir=args.cache_dir,
        batch_size=args.batch_size,
        device=args.device)
    cache = {None: 'off', True: 'hit', False: 'miss'}[vocab.cache_hit]
    print(f'wrote {args.out} in {time.time() - start:.2f}s: '
          f'{vocab.num_classes} classes, dim {vocab.dim}, '
          f"{len(vocab.meta['templates'])} templates "
          f"({vocab.meta['template_set']}), model {args.model}, "
          f'cache {cache}')


if __name__ == '__main__':
    cli_main(main)
