"""Instance segmentation of a webcam stream or a folder of images, drawn
with an FPS figure.

Examples::

    # camera 0 until q (with an OpenCV GUI) or Ctrl+C, frames saved
    python demo/webcam_demo.py configs/yolact/official/yolact_resnet50.py \
        --weights checkpoints/yolact_resnet50_mmregion.pth --show --out-dir vis
    # a folder of images (e.g. the frames of a camera without a GUI)
    python demo/webcam_demo.py configs/synthetic/yolact_r50-tiny_shapes.py \
        --weights work_dirs/yolact_shapes/epoch_12.pth \
        --folder data/shapes/val \
        --out-dir work_dirs/webcam_demo

Prints the FPS of every frame (inference + drawing) and the mean.
``--batch-size N`` runs N frames per forward pass; a camera's frames are
then drawn N-1 frames late.
"""
import argparse

from mmregion.apis.cli import cli_main
from mmregion.apis.realtime import add_realtime_arguments, run_realtime_cli


def main() -> None:
    parser = argparse.ArgumentParser(
        description='Segment a webcam stream or a folder of images with a '
        'detector (e.g. YOLACT), with an FPS overlay')
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--camera-id', type=int, default=0, help='camera index (default 0)')
    source.add_argument('--folder', help='read the images of this folder '
                        'instead of a camera')
    add_realtime_arguments(parser)
    args = parser.parse_args()
    run_realtime_cli(args, args.folder if args.folder else args.camera_id)


if __name__ == '__main__':
    cli_main(main)
