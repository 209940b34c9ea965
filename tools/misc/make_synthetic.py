"""Write the built-in synthetic shapes dataset (COCO format, with captions).

Example::

    python tools/misc/make_synthetic.py data/shapes --train 600 --val 100
    # the open-vocabulary testbed: 12 classes (4 novel), train / heldout /
    # val splits of 1000 / 200 / 500 images
    python tools/misc/make_synthetic.py data/shapes_ovd --preset ovd
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
        '--preset', choices=('demo', 'ovd'), default=None,
        help='named settings and splits (mmregion.synthetic.PRESETS); the '
        'options below, when given, change them')
    parser.add_argument(
        '--train', type=int, default=None,
        help='number of train images (default 600)')
    parser.add_argument(
        '--val', type=int, default=None,
        help='number of val images (default 100)')
    parser.add_argument(
        '--heldout', type=int, default=None,
        help='number of held-out images for choices (preset ovd: 200)')
    parser.add_argument('--seed', type=int, default=0, help='base seed')
    parser.add_argument(
        '--size', type=int, nargs=2, default=None, metavar=('H', 'W'),
        help='image height and width (default 256 256)')
    parser.add_argument(
        '--max-objects', type=int, default=None,
        help='most shapes per image (default 5)')
    parser.add_argument(
        '--captions-per-image', type=int, default=None,
        help='captions per image (default 2)')
    add_cli_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.synthetic import generate_shapes_dataset, shapes_preset
    start = time.time()
    cfg, splits = shapes_preset(args.preset or 'demo')
    for key, value in (('train', args.train), ('heldout', args.heldout),
                       ('val', args.val)):
        if value is not None:
            splits[key] = value
    if args.size is not None:
        cfg.img_size = tuple(args.size)
    if args.max_objects is not None:
        cfg.max_objects = args.max_objects
    if args.captions_per_image is not None:
        cfg.captions_per_image = args.captions_per_image
    meta = generate_shapes_dataset(args.out_dir, splits, args.seed, cfg)
    print(f'wrote {args.out_dir} in {time.time() - start:.1f}s: '
          f'{len(meta["classes"])} classes (base {meta["base_classes"]}, '
          f'novel {meta["novel_classes"]}), splits ' + ', '.join(
              f'{k}={v["num_images"]}' for k, v in meta['splits'].items()))


if __name__ == '__main__':
    cli_main(main)
