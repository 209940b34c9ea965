"""Write a tiny random RegionCLIP with masks to try the demos offline.

Example::

    python tools/misc/make_tiny_demo_model.py work_dirs/tiny_demo
    python demo/web_demo.py work_dirs/tiny_demo/config.py \
        --weights work_dirs/tiny_demo/detector.pth --score-thr 0

Its weights are random: scores mean nothing (use a threshold of 0), but it
takes typed words and draws labelled boxes and masks.
"""
import argparse
import sys
import time


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Write a tiny random RegionCLIP (RN-tiny CLIP, mask '
        'head) with its config, for the demos: no downloads')
    parser.add_argument('out_dir', help='folder to write')
    parser.add_argument('--seed', type=int, default=0, help='weights seed')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    start = time.time()
    from mmregion.apis.tiny_demo_model import make_tiny_regionclip
    try:
        files = make_tiny_regionclip(args.out_dir, args.seed)
    except OSError as error:
        sys.exit(f'error: {error}')
    print(f'wrote {files["config"]} and {files["weights"]} in '
          f'{time.time() - start:.1f}s; try:\n  python demo/web_demo.py '
          f'{files["config"]} --weights {files["weights"]} --score-thr 0')


if __name__ == '__main__':
    main()
