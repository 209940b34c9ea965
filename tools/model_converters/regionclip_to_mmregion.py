"""Convert an official RegionCLIP (detectron2) checkpoint to mmregion.

Example::

    python tools/model_converters/regionclip_to_mmregion.py \
        checkpoints/regionclip/regionclip_finetuned-coco_rn50.pth \
        checkpoints/regionclip/regionclip_finetuned-coco_rn50_mmregion.pth

writes the mmregion checkpoint and, when the checkpoint has text
embeddings, ``<prefix>_train_vocab.pth`` / ``<prefix>_test_vocab.pth``
(prefix: ``--vocab-prefix``, else the output path without ``.pth``). The
offline RPN's own checkpoint (``rpn_coco_48.pth``) converts the same way.
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Official RegionCLIP checkpoint (detectron2) -> mmregion '
        'checkpoint + vocabulary files')
    parser.add_argument(
        'src', help='official checkpoint (.pth): RegionCLIP or its RPN')
    parser.add_argument('dst', help='mmregion checkpoint to write')
    parser.add_argument(
        '--vocab-prefix',
        help='prefix of the vocabulary files written from the text '
        'embeddings (cls_score -> <prefix>_train_vocab.pth, test_cls_score '
        '-> <prefix>_test_vocab.pth); default: dst without its extension')
    parser.add_argument(
        '--no-strict',
        action='store_true',
        help='skip the keys that cannot be converted (they are listed) '
        'instead of failing')
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.converters import (
        convert_regionclip_checkpoint,
        format_report,
    )
    report = convert_regionclip_checkpoint(
        args.src,
        args.dst,
        vocab_prefix=args.vocab_prefix,
        strict=not args.no_strict)
    print(format_report(report))


if __name__ == '__main__':
    cli_main(main)
