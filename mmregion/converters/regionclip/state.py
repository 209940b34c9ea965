"""The anchor layout defaults and the running state of one RegionCLIP
conversion, shared by the component modules."""
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, List

from ..common import StateDict

NUM_SIZES = 5
"""Anchor sizes of RegionCLIP's C4 offline RPN (32, 64, 128, 256, 512)."""
NUM_SIZES_FPN = 1
"""Anchor sizes per level of RegionCLIP's FPN offline RPN (32 on P2 ... 512
on P6)."""
NUM_RATIOS = 3
"""Anchor aspect ratios (h / w) of RegionCLIP's C4 offline RPN (0.5, 1, 2)."""


@dataclass
class Conversion:
    """What an official → mmregion conversion has produced so far.

    Args:
        out (dict[str, Tensor]): mmregion tensors.
        extras (dict): Text embeddings (``train_embeddings`` /
            ``test_embeddings``, (C, D)) and, at the end, the report.
        converted (Counter): Converted tensors per mmregion group.
        added (Counter): Added ``num_batches_tracked`` per group.
        dropped (Counter): Dropped tensors per official group.
        unknown (dict[str, str]): Official key → why it does not convert.
        notes (list[str]): Warnings for the user.
        has_rpn_head (bool): Whether RPN output convs were converted.
    """
    out: StateDict = field(default_factory=dict)
    extras: Dict[str, Any] = field(default_factory=dict)
    converted: Counter = field(default_factory=Counter)
    added: Counter = field(default_factory=Counter)
    dropped: Counter = field(default_factory=Counter)
    unknown: Dict[str, str] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)
    has_rpn_head: bool = False
