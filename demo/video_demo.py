"""Instance segmentation of a video file, drawn with an FPS figure.

Examples::

    python demo/video_demo.py demo.mp4 configs/yolact/official/yolact_base.py \
        --weights checkpoints/yolact_base_mmregion.pth --out work_dirs/demo.mp4
    python demo/video_demo.py demo.mp4 \
        configs/synthetic/yolact_r50-tiny_shapes.py \
        --weights work_dirs/yolact_shapes/epoch_12.pth --out out.mp4 \
        --max-frames 50 --batch-size 4

Prints the FPS of every frame (inference + drawing) and the mean.
``--batch-size N`` runs N frames per forward pass (docs/demos.md).
"""
import argparse

from mmregion.apis.cli import cli_main
from mmregion.apis.realtime import add_realtime_arguments, run_realtime_cli


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Segment a video with a detector (e.g. YOLACT), write '
        'the drawn frames with an FPS overlay')
    parser.add_argument('video', help='input video file')
    add_realtime_arguments(parser)
    args = parser.parse_args()
    run_realtime_cli(args, args.video)


if __name__ == '__main__':
    cli_main(main)
