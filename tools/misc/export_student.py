"""Export the student of a RegionCLIP pretraining checkpoint as a CLIP
visual-tower file that fine-tuning configs load as their backbone.

Example::

    python tools/misc/export_student.py \
        work_dirs/regionclip-pretrain_rn50_c4_600k_cc3m/iter_600000.pth \
        checkpoints/regionclip/student_rn50_cc3m.pth
    python tools/train.py \
        configs/regionclip/regionclip_rn50_c4_1x_coco-ovd.py --cfg-options \
        model.backbone.checkpoint=checkpoints/regionclip/student_rn50_cc3m.pth
"""
import argparse

from mmregion.apis.cli import add_cli_arguments, cli_main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='RegionPretrainer checkpoint -> the student backbone '
        '(CLIPResNet keys, loadable with model.backbone.checkpoint=OUT)')
    parser.add_argument('checkpoint', help='pretraining checkpoint')
    parser.add_argument('out', help='output .pth file')
    parser.add_argument(
        '--prefix', default='backbone.',
        help="prefix of the student's keys (default 'backbone.')")
    add_cli_arguments(parser, trust_checkpoint=True)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    from mmregion.apis import export_student
    state = export_student(args.checkpoint, args.out, args.prefix)
    params = sum(v.numel() for v in state.values())
    print(f'wrote {args.out}: {len(state)} tensors, {params} values')


if __name__ == '__main__':
    cli_main(main)
