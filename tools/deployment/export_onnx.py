"""Export a YOLACT / YOLACT++ / open-vocabulary YOLACT / RegionCLIP model
to ONNX, with the vocabulary folded into the graph and the input contract
in its metadata.

Examples::

    python tools/deployment/export_onnx.py \
        configs/yolact/yolact_r50_1xb8-55e_coco.py yolact_r50.pth \
        --out work_dirs/onnx/yolact_r50.onnx --batch-size 8
    python tools/deployment/export_onnx.py \
        configs/regionclip/regionclip_rn50_c4_zeroshot-gt_coco-ovd.py \
        regionclip_rn50.pth --out work_dirs/onnx/regionclip_gt.onnx \
        --texts 'cat . dog . tv|television' --dynamic-batch

Then ``demo/image_demo.py IMAGES MODEL.onnx --backend onnxruntime``, or
``mmregion.deploy.runner.ONNXDetector(MODEL.onnx)`` in Python.
"""
import argparse
import sys

from mmengine.config import DictAction


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Export a model to ONNX (onnxruntime-ready)')
    parser.add_argument('config', help='model config')
    parser.add_argument(
        'checkpoint', nargs='?',
        help="checkpoint (omit for a zero-shot RegionCLIP config's own "
        'CLIP weights)')
    parser.add_argument('--out', required=True, help='output .onnx file')
    parser.add_argument(
        '--texts', nargs='+',
        help="vocabulary of an open-vocabulary model, folded into the "
        "graph: class names ('cat . dog', '|' for synonyms), a names file "
        'or a vocabulary .pth; default: the config\'s test vocabulary')
    parser.add_argument(
        '--clip-checkpoint',
        help="CLIP weights of the text encoder (default: the backbone's)")
    parser.add_argument(
        '--templates', default='regionclip',
        help='prompt templates for --texts: regionclip, openai_imagenet, '
        'simple or a file')
    batch = parser.add_mutually_exclusive_group()
    batch.add_argument(
        '--batch-size', type=int, default=1,
        help='fixed batch size of the graph (default 1)')
    batch.add_argument(
        '--dynamic-batch', action='store_true',
        help='a dynamic batch axis instead of a fixed batch size')
    parser.add_argument(
        '--opset', type=int,
        help='ONNX opset (default 17; 19 for YOLACT++ deformable convs)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value pairs')
    parser.add_argument(
        '--debug', action='store_true', help='show the full traceback')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        from mmregion.deploy import export_onnx
        texts = ' . '.join(args.texts) if args.texts else None
        if args.texts and len(args.texts) == 1:
            texts = args.texts[0]
        files = export_onnx(
            args.config, args.checkpoint, args.out, texts=texts,
            batch_size=args.batch_size, dynamic_batch=args.dynamic_batch,
            opset=args.opset, clip_checkpoint=args.clip_checkpoint,
            templates=args.templates, cfg_options=args.cfg_options)
    except Exception as error:  # one line for the user, exit 2
        if args.debug:
            raise
        print(f'export_onnx.py: error: {type(error).__name__}: {error}',
              file=sys.stderr)
        sys.exit(2)
    print(f'wrote {", ".join(files)}')


if __name__ == '__main__':
    main()
