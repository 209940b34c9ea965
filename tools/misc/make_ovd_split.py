"""Write the open-vocabulary (base/novel) annotation files of a dataset.

Examples::

    # any COCO-format dataset: name the novel (or the base) classes
    python tools/misc/make_ovd_split.py custom \
        data/mine/annotations/instances_train.json data/mine/annotations \
        --novel 'zebra,giraffe'
    python tools/misc/make_ovd_split.py custom \
        data/mine/annotations/instances_val.json data/mine/annotations \
        --novel-file data/mine/novel.txt
    # COCO (OVR-CNN 48 base / 17 novel) and LVIS (rare = novel)
    python tools/misc/make_ovd_split.py coco \
        data/coco/annotations/instances_train2017.json data/coco/annotations \
        --outputs train_base
    python tools/misc/make_ovd_split.py lvis \
        data/lvis/annotations/lvis_v1_train.json data/lvis/annotations
"""
import argparse
import time

from mmregion.apis.cli import add_cli_arguments, cli_main


def _names(text: str) -> list:
    names = [n.strip() for n in text.split(',') if n.strip()]
    if not names:
        raise argparse.ArgumentTypeError(
            f'expected comma-separated class names, got {text!r}')
    return names


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the OVD split of an annotation file: any '
        'COCO-format file with the novel or base classes you name '
        '(custom), COCO 48 base / 17 novel classes (OVR-CNN), LVIS 866 '
        'base (frequent + common) / 337 novel (rare) categories')
    parser.add_argument(
        'benchmark',
        choices=['custom', 'coco', 'lvis'],
        help='custom: any COCO-format file (needs --novel, --novel-file '
        'or --base); coco; lvis')
    parser.add_argument('ann_file', help='input annotation json')
    parser.add_argument('out_dir', help='folder for the written files')
    split = parser.add_mutually_exclusive_group()
    split.add_argument(
        '--novel', type=_names, help="custom: novel classes, 'a,b,c'")
    split.add_argument(
        '--novel-file',
        help='custom: novel classes, one a line (or a *_ovd_categories.json)')
    split.add_argument(
        '--base', type=_names,
        help="custom: base classes, 'a,b,c' (the others are novel)")
    parser.add_argument(
        '--outputs',
        nargs='+',
        choices=['train_base', 'val_all'],
        default=['train_base', 'val_all'],
        help='coco only: which files to write (train_base: base-class '
        'annotations; val_all: all 65 classes)')
    add_cli_arguments(parser)
    args = parser.parse_args()
    given = args.novel or args.novel_file or args.base
    if args.benchmark == 'custom' and not given:
        parser.error('custom needs --novel, --novel-file or --base')
    if args.benchmark != 'custom' and given:
        parser.error(f'{args.benchmark} has a fixed split; --novel, '
                     f'--novel-file and --base are for custom')
    return args


def main() -> None:
    args = parse_args()
    from mmregion.data.ovd_splits import read_names_file
    from mmregion.datasets.ovd_split import (
        make_coco_ovd_split,
        make_custom_ovd_split,
        make_lvis_ovd_split,
    )
    start = time.time()
    if args.benchmark == 'custom':
        novel = args.novel
        if args.novel_file:
            novel = read_names_file(args.novel_file)
        paths = make_custom_ovd_split(
            args.ann_file, args.out_dir, novel_classes=novel,
            base_classes=args.base)
    elif args.benchmark == 'coco':
        paths = make_coco_ovd_split(args.ann_file, args.out_dir, args.outputs)
    else:
        paths = make_lvis_ovd_split(args.ann_file, args.out_dir)
    print(f'wrote {len(paths)} file(s) in {time.time() - start:.1f}s: ' +
          ', '.join(f'{k}={v}' for k, v in paths.items()))


if __name__ == '__main__':
    cli_main(main)
