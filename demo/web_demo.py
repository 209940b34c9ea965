"""Try a detector in the browser: upload an image, type words, see boxes.

Examples::

    python demo/web_demo.py configs/synthetic/yolact_r50-tiny_shapes.py \
        --weights work_dirs/yolact_shapes/epoch_12.pth \
        --examples data/shapes/val
    python demo/web_demo.py CONFIG --weights CKPT --port 7860

Serves on http://127.0.0.1:7860 (this machine only; ``--host 0.0.0.0``
to share it on the network). Needs the ``web`` extra (gradio). See
docs/web_demo.md.
"""
import argparse
import os
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Web demo: upload an image, type words (open-vocabulary '
        "models) or keep the model's classes, see boxes and masks")
    parser.add_argument('config', help='detector config')
    parser.add_argument('--weights', help='detector checkpoint (random '
                        'weights without one: use a score threshold of 0)')
    parser.add_argument('--port', type=int, default=7860, help='port')
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to listen on (default: this machine '
                        'only)')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument('--examples', nargs='*', default=[],
                        help='example images or folders of them')
    parser.add_argument('--score-thr', type=float, default=0.3,
                        help="the score slider's start value")
    parser.add_argument('--max-dets', type=int, default=100,
                        help='start value of the detection count slider')
    parser.add_argument(
        '--clip-checkpoint',
        help="CLIP weights to embed typed words (default: the backbone's)")
    parser.add_argument(
        '--clip-model', help="that CLIP's open_clip name (default: the "
        "backbone's model_name), e.g. RN-tiny for the synthetic YOLACT-OVD")
    parser.add_argument(
        '--templates', default='regionclip',
        help='prompt templates: regionclip, openai_imagenet, simple or a file')
    parser.add_argument('--cache-dir', help='text-embedding cache folder')
    parser.add_argument('--out-dir', help='folder for the json files '
                        '(default: a temporary folder)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='load a checkpoint that needs full unpickling')
    parser.add_argument('--debug', action='store_true',
                        help='show the traceback of a start-up error')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    if args.trust_checkpoint:
        os.environ['MMREGION_TRUST_CHECKPOINTS'] = '1'
    try:
        from mmregion.apis.web_demo import WebDemo
        from mmregion.apis.web_demo_page import (
            build_blocks,
            example_images,
            launch,
        )
        examples = example_images(args.examples)
        demo = WebDemo(
            args.config, args.weights, device=args.device,
            clip_checkpoint=args.clip_checkpoint, clip_model=args.clip_model,
            templates=args.templates, cache_dir=args.cache_dir,
            out_dir=args.out_dir)
        blocks = build_blocks(demo, examples, args.score_thr, args.max_dets)
    except Exception as error:  # one line for the user, exit 2
        if args.debug:
            raise
        print(f'error: {type(error).__name__}: {error}', file=sys.stderr)
        sys.exit(2)
    print(f'{demo.name} with {len(demo.classes)} classes '
          f'({"open vocabulary" if demo.open_vocabulary else "fixed"}); '
          f'serving on http://{args.host}:{args.port}', flush=True)
    launch(blocks, args.host, args.port)


if __name__ == '__main__':
    main()
