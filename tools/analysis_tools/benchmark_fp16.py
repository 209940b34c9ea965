"""Mixed precision at inference: float32 vs autocast (bfloat16 on the CPU,
float16 on CUDA), interleaved turns, medians.

Example::

    python tools/analysis_tools/benchmark_fp16.py \
        configs/regionclip/regionclip_rn50_c4_zeroshot-rpn_coco-ovd.py \
        --batch-size 2 --iters 3 --threads 2

Random weights (no files needed): the figures are times, and how far the
mixed-precision scores and boxes move from float32 ones.
"""
import argparse


def main() -> None:
    parser = argparse.ArgumentParser(description='float32 vs autocast '
                                     'inference time of a detector')
    parser.add_argument('config', help='detector config')
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--iters', type=int, default=3,
                        help='interleaved turns per precision')
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640),
                        metavar=('H', 'W'), help='image size')
    parser.add_argument('--threads', type=int, default=0,
                        help='torch threads (0: torch default)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    from mmregion.analysis.fp16_benchmark import (
        benchmark_fp16,
        format_fp16_results,
    )
    print(format_fp16_results(benchmark_fp16(
        args.config, args.batch_size, args.iters, tuple(args.size),
        args.threads, args.device)))


if __name__ == '__main__':
    main()
