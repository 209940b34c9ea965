"""Parity harness: our official-checkpoint configs against the official code.

* :mod:`.report`: tensor and detection comparisons, the table and the
  pass/fail decision, the documented differences (``documented.yaml``,
  mirrored by ``docs/parity.md``);
* :mod:`.official`: imports an official clone from a folder the user names,
  with the run-time patches it needs (numpy 2, Pillow 10, CPU, compiled
  extensions replaced by mmcv ops);
* :mod:`.registry`: ``MODELS`` (name -> runner) and :func:`run_parity`;
* one module per model family (e.g. :mod:`.yolact`) registering runners.

Tooling only: the core never imports this package.
"""
from .detections import add_detection_rows, match_detections, pair_ranked
from .official import OfficialCodeError, official_code
from .registry import (
                       CLONES,
                       MODELS,
                       ParityOptions,
                       ParityUserError,
                       load_runners,
                       register,
                       run_parity,
)
from .report import (
                       TOLERANCE,
                       Documented,
                       ParityReport,
                       Row,
                       load_documented_differences,
                       relative_error,
)

__all__ = [
    'OfficialCodeError', 'official_code', 'CLONES', 'MODELS',
    'ParityOptions', 'ParityUserError', 'load_runners', 'register',
    'run_parity',
    'TOLERANCE', 'Documented', 'ParityReport', 'Row', 'add_detection_rows',
    'load_documented_differences', 'relative_error', 'match_detections',
    'pair_ranked'
]
