"""Detect your own words in your own images (RegionCLIP, open-vocabulary
YOLACT).

Examples::

    python demo/image_demo.py demo.jpg \
        configs/regionclip/regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py \
        --texts 'cat . dog . tv|television' --out-dir work_dirs/demo_vis
    python demo/image_demo.py images/ CONFIG --weights CKPT \
        --texts classes.txt --batch-size 8 --fp16 --out-json dets.json
    python demo/image_demo.py images/ CONFIG --image-prompts prompts.json \
        --texts 'cat . dog'

Writes the visualised detections to OUT_DIR/vis and the predictions (json)
to OUT_DIR/preds; ``--out-json`` writes all detections as one COCO file.
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, check_image_inputs, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Open-vocabulary detection on images (RegionCLIP, '
        'open-vocabulary YOLACT)')
    parser.add_argument('inputs', help='an image file or a folder of images')
    parser.add_argument('config', help='an open-vocabulary config (RPN '
                        'proposals for RegionCLIP)')
    parser.add_argument('--weights', help='detector checkpoint (optional '
                        'for zero-shot configs)')
    parser.add_argument(
        '--texts',
        help="class names ('cat . dog', '|' for synonyms), a names file, or "
        'a vocabulary .pth; default: the config\'s test vocabulary')
    parser.add_argument(
        '--image-prompts',
        help='json list of {"image", "box": [x1, y1, x2, y2], "name"}: '
        "classes from exemplar regions through the detector's CLIP (boxes "
        'of a name averaged); with --texts, the classes of both')
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
        '--out-json', help='also write all detections as one COCO-format '
        'file (images/categories header from the vocabulary)')
    parser.add_argument(
        '--score-thr', type=float, default=0.3, help='score threshold')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--fp16', action='store_true', help='mixed precision: float16 '
        'autocast on CUDA, bfloat16 on the CPU')
    parser.add_argument('--device', default='cpu', help='cpu or cuda:0')
    parser.add_argument(
        '--backend', choices=['pytorch', 'onnxruntime'], default='pytorch',
        help='onnxruntime: CONFIG is a .onnx file of '
        'tools/deployment/export_onnx.py (its vocabulary is fixed)')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.backend == 'onnxruntime':
        from mmregion.deploy.image_demo import onnx_image_demo
        n, classes = onnx_image_demo(args.config, args.inputs, args.out_dir,
                                     args.score_thr)
        print(f'{n} image(s), vocabulary of {len(classes)}: '
              f'{", ".join(classes)}; results in {args.out_dir}/vis and '
              f'{args.out_dir}/preds')
        return
    check_image_inputs(args.inputs)
    from mmregion.apis.inference import init_open_vocab_inferencer
    inferencer = init_open_vocab_inferencer(
        args.config, args.weights, args.texts, args.clip_checkpoint,
        args.templates, args.cache_dir, args.device,
        batch_size=args.batch_size, fp16=args.fp16,
        image_prompts=args.image_prompts)
    results = inferencer(
        args.inputs, out_dir=args.out_dir, pred_score_thr=args.score_thr,
        no_save_pred=False)
    n = len(results['predictions'])
    classes = inferencer.model.dataset_meta['classes']
    print(f'{n} image(s), vocabulary of {len(classes)}: {", ".join(classes)}'
          f'; results in {args.out_dir}/vis and {args.out_dir}/preds')
    if args.out_json:
        from mmregion.apis.coco_results import write_coco_results
        coco = write_coco_results(
            args.out_json, inferencer._inputs_to_list(args.inputs),
            results['predictions'], classes)
        print(f"{len(coco['annotations'])} detections in {args.out_json}")


if __name__ == '__main__':
    cli_main(main)
