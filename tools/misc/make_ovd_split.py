"""Write the open-vocabulary (base/novel) annotation files of COCO or LVIS.

Examples::

    python tools/misc/make_ovd_split.py coco \
        data/coco/annotations/instances_train2017.json data/coco/annotations \
        --outputs train_base
    python tools/misc/make_ovd_split.py coco \
        data/coco/annotations/instances_val2017.json data/coco/annotations \
        --outputs val_all
    python tools/misc/make_ovd_split.py lvis \
        data/lvis/annotations/lvis_v1_train.json data/lvis/annotations
"""
import argparse
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write the OVD split of an annotation file: COCO 48 '
        'base / 17 novel classes (OVR-CNN), LVIS 866 base (frequent + '
        'common) / 337 novel (rare) categories')
    parser.add_argument(
        'benchmark', choices=['coco', 'lvis'], help='annotation format')
    parser.add_argument('ann_file', help='input annotation json')
    parser.add_argument('out_dir', help='folder for the written files')
    parser.add_argument(
        '--outputs',
        nargs='+',
        choices=['train_base', 'val_all'],
        default=['train_base', 'val_all'],
        help='coco only: which files to write (train_base: base-class '
        'annotations; val_all: all 65 classes)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.datasets.ovd_split import (make_coco_ovd_split,
                                             make_lvis_ovd_split)
    start = time.time()
    if args.benchmark == 'coco':
        paths = make_coco_ovd_split(args.ann_file, args.out_dir, args.outputs)
    else:
        paths = make_lvis_ovd_split(args.ann_file, args.out_dir)
    print(f'wrote {len(paths)} file(s) in {time.time() - start:.1f}s: ' +
          ', '.join(f'{k}={v}' for k, v in paths.items()))


if __name__ == '__main__':
    main()
