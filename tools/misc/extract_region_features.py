"""Region embeddings of a RegionCLIP detector, one file per image.

Examples::

    # the regions of given boxes ({"img.png": [[x1, y1, x2, y2], ...]} or a
    # COCO instances json), scored against your words
    python tools/misc/extract_region_features.py data/shapes/val \
        configs/synthetic/regionclip_rn-tiny_c4_shapes-ovd.py \
        --boxes data/shapes/annotations/instances_val.json \
        --texts 'star . heart' --out-dir work_dirs/region_features
    # the detector's own proposals, as .npz
    python tools/misc/extract_region_features.py images/ \
        configs/regionclip/regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py \
        --proposals --max-proposals 50 --format npz

Each file holds image, boxes (n, 4, original pixels), embeddings (n, D,
L2-normalised), objectness (proposals) and, with --texts, scores (n, C)
and class_names.
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Extract normalised region embeddings (RegionCLIP)')
    parser.add_argument('images', help='an image or a folder of images')
    parser.add_argument('config', help='a RegionCLIP config')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--boxes', help='boxes json: {"img.png": [[x1, y1, '
                        'x2, y2], ...]} or a COCO instances file')
    source.add_argument('--proposals', action='store_true',
                        help="the detector's proposals (RPN or offline RPN)")
    parser.add_argument('--weights', help='detector checkpoint (default: '
                        'the weights the config names)')
    parser.add_argument('--texts', help="score regions against these words "
                        "('cat . dog', a names file or a vocabulary .pth)")
    parser.add_argument('--clip-checkpoint', help='CLIP weights of the text '
                        "encoder (default: the backbone's)")
    parser.add_argument('--templates', default='regionclip',
                        help='prompt templates for --texts')
    parser.add_argument('--cache-dir', help='text-embedding cache folder')
    parser.add_argument('--out-dir', default='work_dirs/region_features',
                        help='output folder')
    parser.add_argument('--format', default='pth', choices=('pth', 'npz'))
    parser.add_argument('--batch-size', type=int, default=8,
                        help='images per forward pass')
    parser.add_argument('--max-proposals', type=int, default=100,
                        help='proposals per image (--proposals)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis.region_features import extract_region_features
    written = extract_region_features(
        args.images, args.config, args.out_dir, boxes=args.boxes,
        weights=args.weights, texts=args.texts, fmt=args.format,
        batch_size=args.batch_size, max_proposals=args.max_proposals,
        device=args.device, clip_checkpoint=args.clip_checkpoint,
        templates=args.templates, cache_dir=args.cache_dir)
    print(f'\n{len(written)} file(s) in {args.out_dir}')


if __name__ == '__main__':
    cli_main(main)
