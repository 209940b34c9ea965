"""Instance segmentation of a video file, drawn with an FPS figure.

Examples::

    python demo/video_demo.py demo.mp4 configs/yolact/official/yolact_base.py \
        --weights checkpoints/yolact_base_mmregion.pth --out work_dirs/demo.mp4
    python demo/video_demo.py demo.mp4 configs/synthetic/yolact_r50-tiny_shapes.py \
        --weights work_dirs/yolact_shapes/epoch_12.pth --out out.mp4 --max-frames 50

Prints the FPS of every frame (inference + drawing) and the mean.
"""
import argparse
import sys


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Segment a video with a detector (e.g. YOLACT), write '
        'the drawn frames with an FPS overlay')
    parser.add_argument('video', help='input video file')
    parser.add_argument('config', help='detector config')
    parser.add_argument('--weights', help='detector checkpoint (random '
                        'weights without one)')
    parser.add_argument('--out', help='output video (.mp4)')
    parser.add_argument('--out-dir', help='also write each frame here')
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
        help='also show the frames (needs OpenCV with a GUI; q quits)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if not (args.out or args.out_dir or args.show):
        sys.exit('error: give --out, --out-dir or --show')
    from mmregion.apis.realtime import run_realtime
    try:
        run_realtime(
            args.config,
            args.video,
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


if __name__ == '__main__':
    main()
