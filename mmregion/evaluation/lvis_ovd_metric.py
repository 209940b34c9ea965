"""LVIS metric (APr / APc / APf / AP) that runs with numpy >= 1.24."""
import contextlib
from typing import Dict, Iterator

import numpy as np
from mmdet.evaluation.metrics import LVISMetric
from mmdet.registry import METRICS


@contextlib.contextmanager
def numpy_float_alias() -> Iterator[None]:
    """Give numpy back its ``np.float`` alias (``float``) for a while.

    lvis 0.5.3 (the latest release) calls ``astype(dtype=np.float)`` in
    ``LVISEval.accumulate``; numpy removed that alias in 1.24, so every LVIS
    evaluation fails with "module 'numpy' has no attribute 'float'". The
    alias exists only inside this context.
    """
    had_alias = 'float' in np.__dict__
    if not had_alias:
        np.float = float
    try:
        yield
    finally:
        if not had_alias:
            del np.float


@METRICS.register_module()
class LVISOVDMetric(LVISMetric):
    """mmdet's :class:`LVISMetric`, usable with numpy 2.

    It reports what LVIS open-vocabulary detection is judged by: ``APr``
    (rare = the novel classes of the LVIS OVD split), ``APc``, ``APf`` and
    ``AP`` (``lvis/bbox_APr`` ..., and ``lvis/segm_*`` with masks).

    Args:
        **kwargs: Arguments of :class:`mmdet.evaluation.LVISMetric`.
    """

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Evaluate with the lvis package (see :func:`numpy_float_alias`).

        Args:
            results (list): Processed results of each batch.

        Returns:
            dict[str, float]: The LVIS metrics.
        """
        with numpy_float_alias():
            return super().compute_metrics(results)
