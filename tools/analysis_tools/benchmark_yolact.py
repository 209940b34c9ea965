"""Benchmark mmregion's YOLACT against mmdet's YOLACT (same config, same
weights, one run): per-image latency at several batch sizes, split into
network and post-processing, with the ratios; then what fused conv-bn,
channels_last and torch.compile each buy on top of mmregion's model.

Example::

    python tools/analysis_tools/benchmark_yolact.py --batch-sizes 1 8 \
        --iters 5 --variants fuse channels_last compile
"""
import argparse
import copy

from mmregion.apis.cli import add_cli_arguments, cli_main

DEFAULT_CONFIG = 'configs/yolact/yolact_r50_1xb8-55e_coco.py'
VARIANTS = ('fuse', 'channels_last', 'compile')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG,
                        help='an mmregion YOLACT config')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--iters', type=int, default=5,
                        help='timed batches per model')
    parser.add_argument('--warmup', type=int, default=1,
                        help='untimed batches first')
    parser.add_argument('--input-size', type=int, default=550)
    parser.add_argument('--device', default='cpu', help='cpu or cuda')
    parser.add_argument('--threads', type=int,
                        help='torch CPU threads (default: torch decides)')
    parser.add_argument(
        '--cls-scale', type=float, default=0.5,
        help='factor on the random class logits (see build_models)')
    parser.add_argument(
        '--bg-bias', type=float, default=9.0,
        help='added to the random background logit; 0 with --cls-scale 1 '
        'is the dense worst case (every class above the threshold)')
    parser.add_argument(
        '--variants', nargs='*', default=[], choices=VARIANTS,
        help='speed-ups to measure one by one on mmregion\'s model')
    add_cli_arguments(parser)
    return parser.parse_args()


def _row(name, s, with_ratios=True):
    cells = [f"{s[k]['median'] * 1e3:8.1f} ±{s[k]['iqr'] * 1e3:6.1f}"
             for k in ('net', 'post', 'total')]
    ratios = [f"{s[k]:.2f}" if with_ratios else ''
              for k in ('post_ratio', 'total_ratio')]
    return (f'| {name:<22} | ' + ' | '.join(cells) +
            f" | {s['detections']:5.1f} | {s['mask_mismatch']:.2e} | " +
            ' | '.join(f'{r:>10}' for r in ratios) + ' |')


def main() -> None:
    args = parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    from mmcv.cnn import fuse_conv_bn
    from mmengine.registry import init_default_scope

    import mmregion  # noqa: F401
    from mmregion.analysis.yolact_benchmark import benchmark, build_models
    init_default_scope('mmdet')
    print(f'torch {torch.__version__}, device {args.device}, '
          f'{torch.get_num_threads()} CPU threads, config {args.config}')
    models = {k: m.to(args.device) for k, m in
              build_models(args.config, cls_logit_scale=args.cls_scale,
                           bg_logit_bias=args.bg_bias).items()}
    prepare = {}
    for variant in args.variants:
        model = copy.deepcopy(models['mmregion'])
        name = f'mmregion+{variant}'
        if variant == 'fuse':
            model = fuse_conv_bn(model)
        elif variant == 'channels_last':
            model = model.to(memory_format=torch.channels_last)
            prepare[name] = lambda x: x.to(memory_format=torch.channels_last)
        else:
            model.backbone = torch.compile(model.backbone)
            model.neck = torch.compile(model.neck)
        models[name] = model
    header = ('| model                  | net ms/img      | post ms/img     '
              '| total ms/img    | dets  | mask diff | post/mmdet | '
              'total/mmdet |')
    for bs in args.batch_sizes:
        print(f'\nbatch {bs}: median ± IQR over {args.iters} batches, per '
              'image; ratios: median over batches of time / mmdet time on '
              'the same turn')
        print(header)
        print('|' + '|'.join('-' * len(c) for c in header.split('|')[1:-1]) +
              '|')
        stats = benchmark(models, bs, args.iters, args.warmup,
                          args.input_size, prepare, args.device)
        for name, s in stats.items():
            if 'error' in s:
                print(f'| {name:<22} | failed: {s["error"][:100]} |')
            else:
                print(_row(name, s, name != 'mmdet'))

if __name__ == '__main__':
    cli_main(main)
