"""Detect your own words in your own images with RegionCLIP.

Examples::

    python demo/image_demo.py demo.jpg configs/regionclip/regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py \
        --texts 'cat . dog . tv|television' --out-dir work_dirs/demo_vis
    python demo/image_demo.py images/ CONFIG --weights CKPT --texts classes.txt

Writes the visualised detections to OUT_DIR/vis and the predictions (json)
to OUT_DIR/preds.
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, check_image_inputs, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Open-vocabulary detection on images (RegionCLIP)')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='a RegionCLIP config (RPN proposals)')
    parser.add_argument('--weights', help='detector checkpoint (optional '
                        'for zero-shot configs)')
    parser.add_argument(
        '--texts',
        help="class names ('cat . dog', '|' for synonyms), a names file, or "
        'a vocabulary .pth; default: the config\'s test vocabulary')
    parser.add_argument(
        '--clip-checkpoint',
        help='CLIP weights for the text encoder (default: the backbone\'s)')
    parser.add_argument(
        '--templates', default='regionclip',
        help='prompt templates: regionclip, openai_imagenet, simple or a file')
    parser.add_argument('--cache-dir', help='text-embedding cache folder')
    parser.add_argument(
        '--out-dir', default='work_dirs/image_demo', help='output folder')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='score threshold')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    check_image_inputs(args.inputs)
    from mmregion.apis.inference import init_open_vocab_inferencer
    inferencer = init_open_vocab_inferencer(
        args.config, args.weights, args.texts, args.clip_checkpoint,
        args.templates, args.cache_dir, args.device)
    results = inferencer(
        args.inputs, out_dir=args.out_dir, pred_score_thr=args.score_thr,
        no_save_pred=False)
    n = len(results['predictions'])
    classes = inferencer.model.dataset_meta['classes']
    print(f'{n} image(s), vocabulary of {len(classes)}: {", ".join(classes)}'
          f'; results in {args.out_dir}/vis and {args.out_dir}/preds')


if __name__ == '__main__':
    cli_main(main)
