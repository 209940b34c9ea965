"""Checkpoint converters: official weights → mmregion and back."""
from .regionclip import (
    anchor_permutation,
    convert_regionclip_checkpoint,
    format_report,
    load_regionclip_checkpoint,
    mmregion_to_regionclip,
    regionclip_to_mmregion,
)
from .yolact import (
    convert_yolact_checkpoint,
    format_yolact_report,
    mmregion_to_yolact,
    yolact_to_mmregion,
)

__all__ = [
    'anchor_permutation', 'convert_regionclip_checkpoint', 'format_report',
    'load_regionclip_checkpoint', 'mmregion_to_regionclip',
    'regionclip_to_mmregion', 'convert_yolact_checkpoint',
    'format_yolact_report', 'mmregion_to_yolact', 'yolact_to_mmregion'
]
