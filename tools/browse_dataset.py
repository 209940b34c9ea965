"""Draw dataset samples with their ground truth, after the data pipeline.

Example::

    python tools/browse_dataset.py CONFIG --output-dir work_dirs/browse -n 8
"""
import argparse

from mmengine.config import DictAction

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Browse a dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument(
        '--output-dir',
        default='work_dirs/browse_dataset',
        help='folder for the drawn images')
    parser.add_argument(
        '-n', '--num-images', type=int, default=10, help='images to draw')
    parser.add_argument(
        '--phase',
        default='train',
        choices=['train', 'val', 'test'],
        help='which dataloader to browse')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, key=value pairs')
    add_cli_arguments(parser)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis.browse import browse
    files = browse(args.config, args.output_dir, args.num_images, args.phase,
                   args.cfg_options)
    print(f'wrote {len(files)} images to {args.output_dir}')


if __name__ == '__main__':
    cli_main(main)
