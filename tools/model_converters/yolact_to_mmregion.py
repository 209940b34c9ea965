"""Convert an official YOLACT / YOLACT++ checkpoint (dbolya/yolact) to
mmregion.

Example::

    python tools/model_converters/yolact_to_mmregion.py \
        weights/yolact_plus_base_54_800000.pth \
        checkpoints/yolact_plus_base_mmregion.pth

prints the detected model and the ``configs/yolact/official`` config that
reproduces it; docs/converters.md has the key mapping.
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Official YOLACT / YOLACT++ checkpoint (dbolya/yolact) '
        '-> mmregion checkpoint')
    parser.add_argument(
        'src', help='official checkpoint (.pth), e.g. '
        'yolact_base_54_800000.pth')
    parser.add_argument('dst', help='mmregion checkpoint to write')
    parser.add_argument(
        '--strict',
        action=argparse.BooleanOptionalAction,
        default=True,
        help='fail on keys that cannot be converted and on missing keys '
        '(default); --no-strict skips the former and lists both')
    parser.add_argument(
        '--num-classes',
        type=int,
        help='expected number of classes without background (80 for COCO); '
        'checked when given')
    parser.add_argument(
        '--square-anchors',
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the official config's use_square_anchors (default: on for "
        'YOLACT, one anchor scale per level; off for YOLACT++)')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.converters import (
        convert_yolact_checkpoint,
        format_yolact_report,
    )
    report = convert_yolact_checkpoint(
        args.src,
        args.dst,
        strict=args.strict,
        num_classes=args.num_classes,
        square_anchors=args.square_anchors)
    print(format_yolact_report(report))


if __name__ == '__main__':
    cli_main(main)
