"""Parse image captions into a concept pool (concepts.txt with counts) and,
optionally, embed the concepts with a CLIP text encoder.

Example::

    python tools/misc/extract_concepts.py \
        data/coco/annotations/captions_train2017.json --min-freq 100 \
        --out work_dirs/concepts/coco_concepts.txt \
        --model RN50 --checkpoint checkpoints/clip/RN50.pt \
        --emb-out work_dirs/concepts/coco_concepts_rn50.pth \
        --cache-dir work_dirs/emb_cache

Needs spaCy and an English model: pip install "mmregion[concepts]".
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
        description='Captions (COCO Captions .json, image_path<TAB>caption '
        '.tsv) -> spaCy noun chunks -> lemmatised, lower-case concepts with '
        'counts -> concepts.txt (concept<TAB>count)')
    parser.add_argument(
        'captions', nargs='+', type=existing_file,
        help='caption files (.json or .tsv)')
    parser.add_argument('--out', required=True, help='concepts.txt to write')
    parser.add_argument(
        '--min-freq', type=int, default=100,
        help='keep concepts occurring at least this often (default 100)')
    parser.add_argument(
        '--kind', choices=('root', 'phrase'), default='root',
        help="'root': head noun of each noun chunk (default); 'phrase': the "
        'whole chunk without determiners and numbers')
    parser.add_argument(
        '--spacy-model', default='en_core_web_sm',
        help='spaCy model name or path (default en_core_web_sm)')
    parser.add_argument(
        '--batch-size', type=int, default=256, help='captions per batch')
    parser.add_argument(
        '--n-process', type=int, default=1, help='parser processes')
    parser.add_argument(
        '--emb-out',
        help='also embed the concepts into this vocabulary .pth (needs '
        '--model)')
    parser.add_argument(
        '--model', help='open_clip model name (RN50, RN50x4, RN-tiny, ...)')
    parser.add_argument(
        '--checkpoint', type=existing_file, help='local CLIP weights')
    parser.add_argument(
        '--templates', default='regionclip',
        help="prompt templates: 'regionclip' (81), 'simple', or a file")
    parser.add_argument('--cache-dir', help='text-embedding cache folder')
    add_cli_arguments(parser, trust_checkpoint=True)
    args = parser.parse_args()
    if args.emb_out and not args.model:
        parser.error('--emb-out needs --model (and usually --checkpoint)')
    return args


def main() -> None:
    args = parse_args()
    from mmregion.datasets import extract_concepts
    start = time.time()
    pool = extract_concepts(
        args.captions,
        args.out,
        min_freq=args.min_freq,
        kind=args.kind,
        spacy_model=args.spacy_model,
        batch_size=args.batch_size,
        n_process=args.n_process)
    top = ', '.join(f'{n} ({c})' for n, c in zip(pool.names[:10],
                                                  pool.counts[:10]))
    print(f'wrote {args.out} in {time.time() - start:.1f}s: {len(pool)} '
          f'{args.kind} concepts with >= {args.min_freq} occurrences in '
          f'{pool.num_captions} captions; most frequent: {top}')
    if args.emb_out:
        from mmregion.apis.class_names import extract_text_embeddings
        vocab = extract_text_embeddings(
            pool.names, args.model, args.checkpoint, args.templates,
            out=args.emb_out, cache_dir=args.cache_dir)
        print(f'wrote {args.emb_out}: {vocab.num_classes} concepts, dim '
              f'{vocab.dim}, {len(vocab.meta["templates"])} templates')


if __name__ == '__main__':
    cli_main(main)
