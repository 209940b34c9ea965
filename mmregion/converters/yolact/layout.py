"""What an official YOLACT state dict holds, read off its keys and shapes."""
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Set, Tuple

from torch import Tensor

from .anchors import OFFICIAL_ASPECT_RATIOS
from .backbone import RESNET_DEPTHS, expected_backbone_keys, official_blocks
from .heads import (
    HEAD,
    SEGM,
    expected_head_convs,
    official_head_convs,
    official_maskiou_convs,
    official_outputs,
)
from .neck import expected_neck_convs, official_num_levels

OFFICIAL_CONFIGS = {
    (101, False): 'configs/yolact/official/yolact_base.py',
    (50, False): 'configs/yolact/official/yolact_resnet50.py',
    (101, True): 'configs/yolact/official/yolact_plus_base.py',
    (50, True): 'configs/yolact/official/yolact_plus_resnet50.py',
}
"""(ResNet depth, YOLACT++) → the mmregion config that the converted weights
reproduce the official model with."""


@dataclass
class YOLACTLayout:
    """What an official YOLACT state dict holds.

    Args:
        blocks (tuple[int]): Bottlenecks per ResNet stage.
        dcn_blocks (dict[int, list[int]]): Stage → indices of its blocks with
            a deformable conv2.
        num_levels (int): FPN input levels (C3-C5: 3).
        num_anchors (int): Anchors per location.
        num_classes (int): Foreground classes.
        num_protos (int): Prototypes (mask coefficients per anchor).
        head_convs (int): Shared convs before the output convs (official
            ``extra_head_net``: one).
        maskiou_convs (int): Convs of the re-scoring net (the last is the
            1x1 class conv); 0 without re-scoring.
    """
    blocks: Tuple[int, ...]
    dcn_blocks: Dict[int, List[int]]
    num_levels: int
    num_anchors: int
    num_classes: int
    num_protos: int
    head_convs: int
    maskiou_convs: int

    @property
    def depth(self) -> int:
        """ResNet depth (50 or 101)."""
        if self.blocks not in RESNET_DEPTHS:
            known = ', '.join(f'ResNet-{d} {b}'
                              for b, d in RESNET_DEPTHS.items())
            raise ValueError(f'the backbone has {self.blocks} bottlenecks per '
                             f'stage; known layouts: {known}')
        return RESNET_DEPTHS[self.blocks]

    @property
    def num_scales(self) -> int:
        """Anchor scales per level (1: YOLACT, 3: YOLACT++)."""
        return self.num_anchors // len(OFFICIAL_ASPECT_RATIOS)

    @property
    def dcn_interval(self) -> Optional[int]:
        """The interval n such that exactly blocks 0, n, 2n... of every DCN
        stage have DCN (None without DCN, 0 if no interval fits)."""
        if not self.dcn_blocks:
            return None
        for n in range(1, max(self.blocks) + 1):
            if all(blocks == list(range(0, self.blocks[s], n))
                   for s, blocks in self.dcn_blocks.items()):
                return n
        return 0

    @property
    def config(self) -> str:
        """The ``configs/yolact/official`` config of this layout."""
        return OFFICIAL_CONFIGS[(self.depth, bool(self.dcn_blocks))]


def inspect_official(state_dict: Mapping[str, Tensor]) -> YOLACTLayout:
    """Read the model layout off an official state dict.

    Args:
        state_dict (Mapping[str, Tensor]): Official ``Yolact`` weights.

    Returns:
        YOLACTLayout: Backbone blocks and DCN blocks, FPN levels, anchors,
        classes, prototypes, head convs and re-scoring convs.

    Raises:
        ValueError: If the prediction head is missing or its output
            channels do not split into anchors.
    """
    num_anchors, num_classes, num_protos = official_outputs(state_dict)
    blocks, dcn_blocks = official_blocks(state_dict)
    # counted up to the highest index seen, so that a gap is a missing key
    return YOLACTLayout(
        blocks=blocks,
        dcn_blocks=dcn_blocks,
        num_levels=official_num_levels(state_dict),
        num_anchors=num_anchors,
        num_classes=num_classes,
        num_protos=num_protos,
        head_convs=official_head_convs(state_dict),
        maskiou_convs=official_maskiou_convs(state_dict))


def expected_official_keys(layout: YOLACTLayout) -> Set[str]:
    """The keys an official state dict of this layout must have.

    ``num_batches_tracked`` counters are optional (old checkpoints lack
    them) and not listed.

    Args:
        layout (YOLACTLayout): The layout.

    Returns:
        set[str]: Official keys.
    """
    keys = expected_backbone_keys(layout.blocks, layout.dcn_blocks)
    convs = expected_neck_convs(layout.num_levels)
    convs += expected_head_convs(layout.head_convs, layout.maskiou_convs)
    keys |= {f'{conv}.{p}' for conv in convs for p in ('weight', 'bias')}
    return keys


def check_classes(layout: YOLACTLayout, state_dict: Mapping[str, Tensor],
                  num_classes: Optional[int]) -> None:
    """Check the class count of the conf, semantic and re-scoring convs.

    Args:
        layout (YOLACTLayout): The checkpoint's layout.
        state_dict (Mapping[str, Tensor]): Its weights.
        num_classes (int, optional): The expected foreground classes.

    Raises:
        ValueError: If the convs disagree, or differ from ``num_classes``.
    """
    counts = {
        f'{HEAD}conf_layer ({layout.num_anchors} anchors x (C + 1))':
        layout.num_classes
    }
    if f'{SEGM[0]}weight' in state_dict:
        counts[f'{SEGM[0]}weight'] = state_dict[f'{SEGM[0]}weight'].shape[0]
    last = f'maskiou_net.maskiou_net.{2 * layout.maskiou_convs - 2}.weight'
    if layout.maskiou_convs and last in state_dict:
        counts[last] = state_dict[last].shape[0]
    if len(set(counts.values())) > 1:
        raise ValueError(
            'the checkpoint disagrees on its number of classes: ' +
            ', '.join(f'{k}: {v}' for k, v in counts.items()))
    if num_classes is not None and layout.num_classes != num_classes:
        raise ValueError(
            f'the checkpoint has {layout.num_classes} classes '
            f'({HEAD}conf_layer: {layout.num_anchors} anchors x '
            f'({layout.num_classes} + background)), but num_classes='
            f'{num_classes} was asked for')


def depth_or_unknown(layout: YOLACTLayout) -> str:
    """'50' / '101', or the block counts when they match no depth.

    Args:
        layout (YOLACTLayout): A layout.

    Returns:
        str: The depth, or ``'? (blocks)'``.
    """
    depth = RESNET_DEPTHS.get(layout.blocks)
    return str(depth) if depth else f'? {layout.blocks}'
