"""Instance segmentation of a webcam stream or a folder of images, drawn
with an FPS figure.

Examples::

    # camera 0 until q (with an OpenCV GUI) or Ctrl+C, frames saved
    python demo/webcam_demo.py configs/yolact/official/yolact_resnet50.py \
        --weights checkpoints/yolact_resnet50_mmregion.pth --show --out-dir vis
    # a folder of images (e.g. the frames of a camera without a GUI)
    python demo/webcam_demo.py configs/synthetic/yolact_r50-tiny_shapes.py \
        --weights work_dirs/yolact_shapes/epoch_12.pth --folder data/shapes/val \
        --out-dir work_dirs/webcam_demo

Prints the FPS of every frame (inference + drawing) and the mean.
"""
import argparse
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Segment a webcam stream or a folder of images with a '
        'detector (e.g. YOLACT), with an FPS overlay')
    parser.add_argument('config', help='detector config')
    parser.add_argument('--weights', help='detector checkpoint (random '
                        'weights without one)')
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        '--camera-id', type=int, default=0, help='camera index (default 0)')
    source.add_argument('--folder', help='read the images of this folder '
                        'instead of a camera')
    parser.add_argument(
        '--out-dir', help='write the drawn frames here (folder mode: one '
        'image per input, same file names)')
    parser.add_argument('--out', help='also write the frames to a video')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='score threshold')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument(
        '--texts',
        help='vocabulary of an open-vocabulary model: a vocabulary .pth '
        '(tools/misc/extract_text_embeddings.py) for OpenVocabYOLACTHead or '
        "RegionCLIP, or class names ('cat . dog') for RegionCLIP (embedded "
        "with its backbone's CLIP)")
    parser.add_argument(
        '--clip-checkpoint',
        help="CLIP weights to embed --texts names (default: the config's)")
    parser.add_argument(
        '--max-frames', type=int, help='stop after this many frames')
    parser.add_argument(
        '--show', action='store_true',
        help='show the frames (needs OpenCV with a GUI; q quits)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not (args.out or args.out_dir or args.show):
        sys.exit('error: give --out-dir, --out or --show')
    from mmregion.apis.realtime import run_realtime
    try:
        run_realtime(
            args.config,
            args.folder if args.folder else args.camera_id,
            weights=args.weights,
            out_video=args.out,
            out_dir=args.out_dir,
            score_thr=args.score_thr,
            device=args.device,
            texts=args.texts,
            clip_checkpoint=args.clip_checkpoint,
            max_frames=args.max_frames,
            show=args.show)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        sys.exit(f'error: {error}')
    except KeyboardInterrupt:
        print('stopped')


if __name__ == '__main__':
    main()
