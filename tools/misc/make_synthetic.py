"""Write the built-in synthetic shapes dataset (COCO format, with captions).

Example::

    python tools/misc/make_synthetic.py data/shapes --train 600 --val 100
"""
import argparse
import time

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Generate the synthetic shapes dataset (COCO instances, '
        'COCO captions, base/novel split in meta.json)')
    parser.add_argument('out_dir', help='dataset root to write')
    parser.add_argument(
        '--train', type=int, default=600, help='number of train images')
    parser.add_argument(
        '--val', type=int, default=100, help='number of val images')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    parser.add_argument(
        '--size',
        type=int,
        nargs=2,
        default=(256, 256),
        metavar=('H', 'W'),
        help='image height and width')
    parser.add_argument(
        '--max-objects', type=int, default=5, help='most shapes per image')
    parser.add_argument(
        '--captions-per-image', type=int, default=2, help='captions per image')
    add_cli_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.synthetic import ShapesConfig, generate_shapes_dataset
    start = time.time()
    cfg = ShapesConfig(
        img_size=tuple(args.size),
        max_objects=args.max_objects,
        captions_per_image=args.captions_per_image)
    meta = generate_shapes_dataset(
        args.out_dir, dict(train=args.train, val=args.val), args.seed, cfg)
    print(f'wrote {args.out_dir} in {time.time() - start:.1f}s: '
          f'{len(meta["classes"])} classes (base {meta["base_classes"]}, '
          f'novel {meta["novel_classes"]}), splits ' + ', '.join(
              f'{k}={v["num_images"]}' for k, v in meta['splits'].items()))


if __name__ == '__main__':
    cli_main(main)
