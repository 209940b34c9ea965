"""CLIP's ModifiedResNet (built by open_clip) as an mmdet backbone."""
import os.path as osp
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import open_clip
import torch
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.logging import print_log
from mmengine.model import BaseModule
from open_clip.constants import OPENAI_DATASET_MEAN, OPENAI_DATASET_STD
from open_clip.modified_resnet import ModifiedResNet
from open_clip.utils import freeze_batch_norm_2d
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from ..layers.attention_pool import attention_pool_first_token
from ..layers.frozen_bn_folding import (
    fold_frozen_bn as fold_frozen_bn_into_convs,
)
from .clip_checkpoints import (
    load_clip_state_dict,
    missing_file_message,
    resolve_clip_checkpoint,
)

RES_LAYERS = ('layer1', 'layer2', 'layer3', 'layer4')


@MODELS.register_module()
class CLIPResNet(BaseModule):
    """The visual tower of a CLIP ResNet, split for RegionCLIP's C4 layout.

    The network is open_clip's :class:`~open_clip.modified_resnet.
    ModifiedResNet`, built by ``open_clip.create_model(model_name)``; its
    submodules become this module's own, so the state-dict keys are
    open_clip's ``visual.*`` keys without the ``visual.`` prefix
    (``conv1.weight``, ``layer3.0.bn1.running_mean``, ``attnpool.c_proj.
    weight``; BatchNorm's ``num_batches_tracked`` is dropped when
    ``frozen_bn``).

    ``forward`` runs the stem and the stages up to the last one in
    ``out_indices``. RegionCLIP uses res4 only (``out_indices=(2,)``, stride
    16) and runs the remaining res5 stage and the attention pool per region:
    :meth:`pool_regions` on res4 features RoIAligned at
    ``pooler_resolution`` (twice the attention pool's grid, which res5's
    stride 2 brings back to that grid). Its two halves,
    :meth:`res5_regions` and :meth:`embed_res5`, let a mask head read the
    res5 maps the embeddings are pooled from.

    Pretrained weights come from ``checkpoint``: a local file, read by
    :func:`load_clip_visual_state_dict` (an OpenAI TorchScript archive such
    as ``RN50.pt``, a CLIP or visual-tower state dict, or an open_clip
    training checkpoint), or one of open_clip's pretrained tags of the
    model (``'openai'``, ``'yfcc15m'``, ``'cc12m'`` for RN50), which
    open_clip's loader finds in its cache or downloads when the module is
    built (offline and not cached: one line naming what to download). The
    file is loaded strictly by :meth:`init_weights`.
    Without it the weights keep open_clip's random initialisation;
    ``init_cfg=dict(type='Pretrained', checkpoint=...)`` still loads an
    mmengine checkpoint of this module (keys as above), by mmengine's
    non-strict rules.

    The input is an RGB image normalised with CLIP's pixel statistics
    (``CLIP_RESNET_VARIANTS[model_name].mean`` / ``.std``, 0-255 scale).

    Args:
        model_name (str): One of ``CLIP_RESNET_VARIANTS``: 'RN50', 'RN101',
            'RN50x4', 'RN50x16', 'RN50x64' or mmregion's 'RN-tiny'.
            Defaults to 'RN50'.
        out_indices (Sequence[int]): Stages whose outputs ``forward``
            returns, 0..3 for res2..res5. Defaults to (2,) (res4).
        frozen_stages (int): -1 freezes nothing, 0 the stem, i the stem and
            the first i stages (requires_grad False, eval mode), as in
            mmdet's ResNet. The attention pool is never frozen by it.
            Defaults to -1.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.
            Only matters when ``frozen_bn`` is False. Defaults to True.
        frozen_bn (bool): Replace every BatchNorm2d by a
            ``FrozenBatchNorm2d`` (fixed statistics and affine parameters,
            RegionCLIP's FrozenBN). Defaults to True.
        fold_frozen_bn (bool): With ``frozen_bn``, fold each frozen BN
            into the convolution before it in eval mode without autograd
            (:func:`~mmregion.models.layers.frozen_bn_folding.
            fold_frozen_bn`: same weights and state dict, one convolution
            instead of a convolution, a multiply and an add; inputs then
            run channels-last). Defaults to True.
        checkpoint (str, optional): A local CLIP weight file or an
            open_clip pretrained tag, loaded by :meth:`init_weights`.
            Defaults to None.
        init_cfg (dict or list[dict], optional): mmengine initialisation
            config; not together with ``checkpoint``. Defaults to None.
    """

    # open_clip's stem (three 3x3 convs and an avgpool, stride 4), run on
    # this module's stem layers, which carry open_clip's names.
    stem = ModifiedResNet.stem

    def __init__(self,
                 model_name: str = 'RN50',
                 out_indices: Sequence[int] = (2, ),
                 frozen_stages: int = -1,
                 norm_eval: bool = True,
                 frozen_bn: bool = True,
                 checkpoint: Optional[str] = None,
                 init_cfg: OptMultiConfig = None,
                 fold_frozen_bn: bool = True) -> None:
        if model_name not in CLIP_RESNET_VARIANTS:
            raise ValueError(
                f'CLIPResNet: unknown model_name {model_name!r}; supported: '
                f'{sorted(CLIP_RESNET_VARIANTS)}')
        out_indices = tuple(out_indices)
        if not out_indices or not set(out_indices) <= set(range(4)):
            raise ValueError(f'CLIPResNet: out_indices must be a non-empty '
                             f'subset of (0, 1, 2, 3) (res2..res5), got '
                             f'{out_indices}')
        if frozen_stages not in range(-1, 5):
            raise ValueError(f'CLIPResNet: frozen_stages must be -1..4, got '
                             f'{frozen_stages}')
        if checkpoint is not None and init_cfg is not None:
            raise ValueError(
                f'CLIPResNet: give either checkpoint ({checkpoint!r}) or '
                f'init_cfg ({init_cfg}), not both')
        checkpoint, _ = resolve_clip_checkpoint(
            model_name, checkpoint, f'CLIPResNet({model_name!r})')
        super().__init__(init_cfg=init_cfg)
        visual = open_clip.create_model(model_name, pretrained=None).visual
        self.fold_frozen_bn = frozen_bn and fold_frozen_bn
        if frozen_bn:
            visual = freeze_batch_norm_2d(visual)
            if self.fold_frozen_bn:
                fold_frozen_bn_into_convs(visual)
        for name, module in visual.named_children():
            self.add_module(name, module)

        self.model_name = model_name
        self.variant = CLIP_RESNET_VARIANTS[model_name]
        self.embed_dim = self.variant.embed_dim
        self.res4_channels = self.variant.res4_channels
        self.pooler_resolution = self.variant.pooler_resolution
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.checkpoint = checkpoint
        self._freeze_stages()

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        """Run the stem and the stages up to ``max(out_indices)``.

        Args:
            x (Tensor): Normalised RGB images, (B, 3, H, W).

        Returns:
            tuple[Tensor]: The maps of the ``out_indices`` stages in stage
            order; stage i is (B, 4 * width * 2**i, H / 2**(i + 2),
            W / 2**(i + 2)), e.g. res4 of RN50 is (B, 1024, H / 16, W / 16).
            Contiguous (NCHW) also when the stages ran channels-last: mmcv's
            CPU ``RoIAlign`` (and ``DCNv2``) read a channels-last map as
            NCHW and return wrong values.
        """
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f'CLIPResNet: expected images (B, 3, H, W), got '
                             f'{list(x.shape)}')
        x = self.stem(self._inference_layout(x))
        outs = []
        for i, name in enumerate(RES_LAYERS[:max(self.out_indices) + 1]):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x.contiguous())
        return tuple(outs)

    def pool_regions(self, roi_feats: Tensor) -> Tensor:
        """Embed regions: res5 (``layer4``) then the attention pool.

        On a whole image's res4 map this is CLIP's image embedding
        (``encode_image`` without normalisation).

        Args:
            roi_feats (Tensor): res4 features of N regions, RoIAligned to
                (N, res4_channels, pooler_resolution, pooler_resolution).

        Returns:
            Tensor: Region embeddings (N, embed_dim), not normalised.
        """
        self._check_roi_feats(roi_feats, 'pool_regions')
        res5 = self.layer4(self._inference_layout(roi_feats))
        return self.embed_res5(res5)

    def res5_regions(self, roi_feats: Tensor) -> Tensor:
        """Run res5 (``layer4``) on RoI features: the first half of
        :meth:`pool_regions`, whose output a mask head also reads.

        Args:
            roi_feats (Tensor): res4 features of N regions, (N,
                res4_channels, pooler_resolution, pooler_resolution).

        Returns:
            Tensor: res5 maps (N, res5_channels, attnpool_grid,
            attnpool_grid), e.g. (N, 2048, 7, 7) for RN50.
        """
        self._check_roi_feats(roi_feats, 'res5_regions')
        return self.layer4(self._inference_layout(roi_feats))

    def _inference_layout(self, x: Tensor) -> Tensor:
        """``x`` channels-last when the folded convolutions run (eval mode
        without autograd, ``fold_frozen_bn``), else ``x``."""
        if self.fold_frozen_bn and not self.training and \
                not torch.is_grad_enabled():
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def embed_res5(self, res5_feats: Tensor) -> Tensor:
        """Attention-pool res5 maps of regions: the second half of
        :meth:`pool_regions`.

        Args:
            res5_feats (Tensor): (N, res5_channels, attnpool_grid,
                attnpool_grid), as :meth:`res5_regions` returns.

        Returns:
            Tensor: Region embeddings (N, embed_dim), not normalised:
            ``attnpool(res5_feats)``, computed for the pooled token only
            (:func:`~mmregion.models.layers.attention_pool.
            attention_pool_first_token`, 15x fewer operations).
        """
        return attention_pool_first_token(self.attnpool, res5_feats)

    def _check_roi_feats(self, roi_feats: Tensor, where: str) -> None:
        """Raise a ValueError naming ``where`` and both shapes unless
        ``roi_feats`` is (N, res4_channels, P, P), P = pooler_resolution."""
        size = self.pooler_resolution
        expected = [self.res4_channels, size, size]
        if roi_feats.dim() != 4 or list(roi_feats.shape[1:]) != expected:
            raise ValueError(
                f"CLIPResNet('{self.model_name}').{where}: expected "
                f'res4 RoI features [N, {self.res4_channels}, {size}, '
                f'{size}] (pooler_resolution={size}), got '
                f'{list(roi_feats.shape)}')

    def init_weights(self) -> None:
        """Initialise, then load ``checkpoint`` if given.

        open_clip initialises the network at construction, so without
        ``checkpoint`` or ``init_cfg`` the weights stay as they are. The
        checkpoint is loaded on the first call only, so a later call does
        not overwrite trained weights.
        """
        load = self.checkpoint is not None and not self.is_init
        super().init_weights()
        if load:
            self.load_clip_weights(self.checkpoint)

    def load_clip_weights(self, path: str) -> None:
        """Load a CLIP weight file into this visual tower, strictly.

        Args:
            path (str): A file :func:`load_clip_visual_state_dict` reads.

        Raises:
            ValueError: When a tensor's shape differs (naming the file, the
                key and both shapes) or keys are missing or unexpected.
        """
        target = f"CLIPResNet('{self.model_name}')"
        if not osp.isfile(path):
            raise FileNotFoundError(
                missing_file_message(target, self.model_name, path))
        state = load_clip_visual_state_dict(path)
        hint = _variant_hint(state, self.model_name)
        own = self.state_dict()
        for key, value in own.items():
            if key in state and state[key].shape != value.shape:
                raise ValueError(
                    f'{path}: {key} (visual tower) has shape '
                    f'{list(state[key].shape)} in the checkpoint but '
                    f'{list(value.shape)} in {target}{hint}')
        missing = _without_bn_counters(own.keys() - state.keys())
        unexpected = _without_bn_counters(state.keys() - own.keys())
        if missing or unexpected:
            raise ValueError(
                f'{path} does not fit {target}: {len(missing)} missing keys '
                f'{missing[:5]}, {len(unexpected)} unexpected keys '
                f'{unexpected[:5]}{hint}')
        self.load_state_dict(state)
        print_log(f'{target}: loaded {path}', logger='current')

    def train(self, mode: bool = True) -> 'CLIPResNet':
        """Set the mode; frozen stages and (``norm_eval``) BN stay in eval.

        Args:
            mode (bool): Training mode. Defaults to True.

        Returns:
            CLIPResNet: self.
        """
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self

    def _freeze_stages(self) -> None:
        """Freeze the stem and the first ``frozen_stages`` stages."""
        if self.frozen_stages < 0:
            return
        stem = [
            module for name, module in self.named_children()
            if name not in RES_LAYERS + ('attnpool', )
        ]
        stages = [getattr(self, n) for n in RES_LAYERS[:self.frozen_stages]]
        for module in stem + stages:
            module.eval()
            module.requires_grad_(False)


def load_clip_visual_state_dict(path: str) -> Dict[str, Tensor]:
    """Read the visual tower's weights from a CLIP checkpoint file.

    Accepted files (read by ``open_clip.factory.load_state_dict``):

    * an OpenAI CLIP TorchScript archive (``RN50.pt``, ``RN50x4.pt`` ...);
    * a state dict of a whole CLIP (``visual.*``, ``transformer.*`` ...) or
      of its visual tower only (``conv1.weight``, ``layer1.*`` ...);
    * an open_clip training checkpoint (``{'state_dict':
      {'module.visual.*': ...}}``).

    The file is read by :func:`load_clip_state_dict` (no arbitrary
    unpickling).

    Args:
        path (str): The local file.

    Returns:
        dict[str, Tensor]: The visual tower's tensors under open_clip's
        ``visual.*`` names without the prefix (``attnpool.c_proj.weight``
        ...), in the file's dtype.

    Raises:
        FileNotFoundError: When ``path`` is not a file.
        ValueError: When the file holds no CLIP visual tower.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'CLIP checkpoint {path} does not exist')
    try:
        state = load_clip_state_dict(path)
    except (AttributeError, StopIteration, TypeError) as error:
        raise ValueError(f'{path}: not a CLIP checkpoint (expected a state '
                         f'dict or a TorchScript archive)') from error
    visual = {
        key[len('visual.'):]: value
        for key, value in state.items() if key.startswith('visual.')
    }
    if not visual and 'conv1.weight' in state:
        visual = dict(state)
    if not visual:
        raise ValueError(
            f"{path}: no CLIP visual tower in it (expected 'visual.*' keys "
            f"of a whole CLIP or a visual tower's 'conv1.weight', "
            f"'layer1.*', 'attnpool.*'); its first keys: {list(state)[:5]}")
    return visual


def _without_bn_counters(keys: Iterable[str]) -> List[str]:
    """Sorted ``keys`` without BatchNorm's ``num_batches_tracked``."""
    return sorted(k for k in keys if not k.endswith('num_batches_tracked'))


def _variant_hint(state: Dict[str, Tensor], model_name: str) -> str:
    """Name the variant a visual state dict looks like, if another one.

    Args:
        state (dict[str, Tensor]): Visual tower tensors.
        model_name (str): The variant it is being loaded into.

    Returns:
        str: ``"; the checkpoint looks like model_name='RN50x4'"`` or ''.
    """
    pos = state.get('attnpool.positional_embedding')
    proj = state.get('attnpool.c_proj.weight')
    if pos is None or proj is None or pos.dim() != 2 or proj.dim() != 2:
        return ''
    found = (round((pos.shape[0] - 1)**0.5), pos.shape[1], proj.shape[0])
    names = [
        name for name, v in CLIP_RESNET_VARIANTS.items()
        if (v.attnpool_grid, v.res5_channels, v.embed_dim) == found
    ]
    if not names or model_name in names:
        return ''
    return f'; the checkpoint looks like model_name={names[0]!r}'


CLIP_PIXEL_MEAN = tuple(255 * v for v in OPENAI_DATASET_MEAN)
CLIP_PIXEL_STD = tuple(255 * v for v in OPENAI_DATASET_STD)


@dataclass(frozen=True)
class CLIPResNetVariant:
    """What RegionCLIP needs to know about one CLIP ResNet.

    The network itself is open_clip's model config of the same name.

    Args:
        embed_dim (int): Attention-pool output, the joint image-text space.
        res4_channels (int): Channels of res4 (``layer3``), what RoIAlign
            pools.
        res5_channels (int): Channels of res5 (``layer4``), the attention
            pool's input.
        attnpool_grid (int): Side of the attention pool's positional grid
            (image_size / 32).
        heads (int): Attention-pool heads.
        pooler_resolution (int): RegionCLIP's RoIAlign output side on res4,
            2 * ``attnpool_grid``: res5 (stride 2) brings it to the grid.
        mean (tuple[float]): RGB pixel mean, 0-255 scale.
        std (tuple[float]): RGB pixel std, 0-255 scale.
    """
    embed_dim: int
    res4_channels: int
    res5_channels: int
    attnpool_grid: int
    heads: int
    pooler_resolution: int
    mean: Tuple[float, float, float] = CLIP_PIXEL_MEAN
    std: Tuple[float, float, float] = CLIP_PIXEL_STD


CLIP_RESNET_VARIANTS: Dict[str, CLIPResNetVariant] = {
    'RN50': CLIPResNetVariant(
        embed_dim=1024, res4_channels=1024, res5_channels=2048,
        attnpool_grid=7, heads=32, pooler_resolution=14),
    'RN101': CLIPResNetVariant(
        embed_dim=512, res4_channels=1024, res5_channels=2048,
        attnpool_grid=7, heads=32, pooler_resolution=14),
    'RN50x4': CLIPResNetVariant(
        embed_dim=640, res4_channels=1280, res5_channels=2560,
        attnpool_grid=9, heads=40, pooler_resolution=18),
    'RN50x16': CLIPResNetVariant(
        embed_dim=768, res4_channels=1536, res5_channels=3072,
        attnpool_grid=12, heads=48, pooler_resolution=24),
    'RN50x64': CLIPResNetVariant(
        embed_dim=1024, res4_channels=2048, res5_channels=4096,
        attnpool_grid=14, heads=64, pooler_resolution=28),
    # mmregion/data/clip_configs/RN-tiny.json, for tests and the synthetic
    # experiments.
    'RN-tiny': CLIPResNetVariant(
        embed_dim=64, res4_channels=128, res5_channels=256,
        attnpool_grid=2, heads=4, pooler_resolution=4),
}
