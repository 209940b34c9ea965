"""The synthetic open-vocabulary experiment over several seeds."""
import json
import os.path as osp
from typing import Callable, Dict, Sequence

from ..fileio import dump_json_atomic
from .ovd_experiment import run_ovd_experiment
from .ovd_summary import format_summary, summarise


def run_ovd_seeds(seeds: Sequence[int] = (0, 1, 2),
                  data_root: str = 'data/shapes_ovd',
                  work_dir: str = 'work_dirs/ovd_seeds',
                  log: Callable[[str], None] = print,
                  **kwargs) -> Dict[str, object]:
    """:func:`run_ovd_experiment` once per seed, each on its own data
    (``{data_root}_seed{seed}``, generated when missing) and with its own
    training randomness, then the mean and standard deviation of every
    cell (:func:`summarise`).

    Args:
        seeds (Sequence[int]): The seeds. Defaults to (0, 1, 2).
        data_root (str): Prefix of the per-seed dataset roots.
        work_dir (str): Outputs; seed ``s`` in ``work_dir/seed{s}`` (a
            seed whose ``results.json`` exists there is read, not run
            again, unless ``reuse`` is among ``kwargs``: then it runs again,
            reusing its finished stages), the summary in
            ``work_dir/summary.json``.
        log (Callable): Receives progress lines and the tables.
        **kwargs: Further :func:`run_ovd_experiment` arguments; ``runs``
            must include ``'CLIP'`` and ``'RegionCLIP'``.

    Returns:
        dict: ``seeds`` (the per-seed results) and ``summary``.
    """
    if not seeds:
        raise ValueError('run_ovd_seeds: give at least one seed')
    results = []
    for seed in seeds:
        seed_dir = osp.join(work_dir, f'seed{seed}')
        done = osp.join(seed_dir, 'results.json')
        if osp.isfile(done) and not kwargs.get('reuse'):
            # finished before (e.g. by a parallel run of that seed alone)
            log(f'[ovd seeds] seed {seed}: reusing {done}')
            with open(done) as f:
                results.append(json.load(f))
            continue
        results.append(
            run_ovd_experiment(
                data_root=f'{data_root.rstrip("/")}_seed{seed}',
                work_dir=seed_dir,
                seed=seed,
                log=log,
                **kwargs))
        dump_json_atomic(dict(seeds=list(seeds[:len(results)]),
                              results=results),
                         osp.join(work_dir, 'partial.json'), indent=2)
    summary = summarise(results)
    out = dict(seeds=list(seeds), results=results, summary=summary)
    dump_json_atomic(out, osp.join(work_dir, 'summary.json'), indent=2)
    log(format_summary(summary, [r['seconds'] for r in results]))
    return out
