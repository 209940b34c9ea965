"""Benchmark exported models under onnxruntime against PyTorch eager on the
CPU, end to end (preprocessed batch -> final DetDataSample results), same
random weights, one run, interleaved, medians and ratios: YOLACT-R50-550
at batch 1 and 8, zero-shot RegionCLIP RN50 with 100 given boxes.

Example (on a shared machine, at low priority)::

    nice -n 10 python tools/analysis_tools/benchmark_onnx.py --threads 1
"""
import argparse


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--yolact-batches', type=int, nargs='+',
                        default=[1, 8])
    parser.add_argument('--num-boxes', type=int, default=100,
                        help='boxes of the RegionCLIP image')
    parser.add_argument('--iters', type=int, default=5,
                        help='timed calls per backend and case')
    parser.add_argument(
        '--threads', type=int, default=1,
        help='CPU threads of torch and onnxruntime alike (default 1)')
    parser.add_argument('--work-dir', help='keep the ONNX files here')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    import os

    import torch
    torch.set_num_threads(args.threads)
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    from mmregion.analysis.onnx_benchmark import run_benchmark
    load = os.getloadavg()[0]
    rows = run_benchmark(args.yolact_batches, args.num_boxes, args.iters,
                         args.work_dir)
    print(f'threads {args.threads}, {args.iters} interleaved calls per '
          f'backend, medians per image; load average at the start '
          f'{load:.1f}, at the end {os.getloadavg()[0]:.1f}')
    print('| case | batch | PyTorch eager (ms/img) | onnxruntime (ms/img) '
          '| ratio ORT/PT | detections/img PT, ORT |')
    print('| --- | --- | --- | --- | --- | --- |')
    for r in rows:
        print(f"| {r['case']} | {r['batch']} | {r['pytorch'] * 1e3:.0f} | "
              f"{r['onnxruntime'] * 1e3:.0f} | {r['ratio']:.2f} | "
              f"{r['detections'][0]:.1f}, {r['detections'][1]:.1f} |")


if __name__ == '__main__':
    main()
