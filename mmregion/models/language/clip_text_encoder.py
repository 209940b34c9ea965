"""Frozen CLIP text tower (open_clip) that embeds prompts."""
import hashlib
import os.path as osp
from typing import Dict, Optional, Sequence, Union

import open_clip
import torch
from mmdet.registry import MODELS
from torch import Tensor, nn

from ...fileio import is_torchscript_archive
from ..backbones.clip_checkpoints import (
    missing_file_message,
    resolve_clip_checkpoint,
)

_HASH_CHUNK = 1 << 20


def checkpoint_fingerprint(path: str) -> str:
    """Content identity of a checkpoint file, cheap to compute.

    SHA-256 of the file size, its first MiB and its last MiB: independent of
    the file's path and modification time (a copied or moved checkpoint keeps
    its identity) and fast for multi-GB files.

    Args:
        path (str): A checkpoint file.

    Returns:
        str: ``'sha256-head-tail:<64 hex digits>'``.
    """
    size = osp.getsize(path)
    digest = hashlib.sha256(str(size).encode())
    with open(path, 'rb') as f:
        digest.update(f.read(_HASH_CHUNK))
        f.seek(max(size - _HASH_CHUNK, 0))
        digest.update(f.read(_HASH_CHUNK))
    return f'sha256-head-tail:{digest.hexdigest()}'


def clip_identity(
        model_name: str,
        checkpoint: Optional[str] = None,
        quick_gelu: Optional[bool] = None) -> Dict[str, Union[str, bool]]:
    """What decides a CLIP text tower's output, read from files only.

    Validates the arguments without building the model, so a cache lookup
    (:meth:`Vocabulary.build`) can skip loading weights.

    Args:
        model_name (str): An open_clip model name (``'RN50'``, ``'RN50x4'``,
            ``'RN-tiny'``, ...).
        checkpoint (str, optional): Path of a local weight file, or an
            open_clip pretrained tag (``'openai'``), resolved to open_clip's
            cached file (downloaded when possible). None gives random
            weights.
        quick_gelu (bool, optional): Use QuickGELU activations. None: True
            for TorchScript archives (OpenAI's releases were trained with
            QuickGELU), else the tag's or the model config's setting.

    Returns:
        dict: ``model`` (str), ``checkpoint`` (str, the local file, '' for
        none),
        ``checkpoint_id`` (str, :func:`checkpoint_fingerprint`, '' for none),
        ``torchscript`` (bool) and ``quick_gelu`` (bool, resolved).

    Raises:
        ValueError: If open_clip does not know ``model_name`` or
            ``checkpoint`` is neither a path nor a tag.
        FileNotFoundError: If ``checkpoint`` is not an existing file or a
            tag open_clip can fetch (the message names the download).
    """
    model_cfg = open_clip.get_model_config(model_name)
    if model_cfg is None:
        raise ValueError(
            f'CLIPTextEncoder: {model_name!r} is not an open_clip model name '
            f'(e.g. RN50, RN50x4, RN-tiny; see open_clip.list_models())')
    checkpoint, pretrained = resolve_clip_checkpoint(
        model_name, checkpoint, 'CLIPTextEncoder')
    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(
            missing_file_message('CLIPTextEncoder', model_name, checkpoint))
    torchscript = checkpoint is not None and is_torchscript_archive(checkpoint)
    if quick_gelu is None:
        quick_gelu = torchscript or pretrained.get(
            'quick_gelu', model_cfg.get('quick_gelu', False))
    return dict(
        model=model_name,
        checkpoint=checkpoint or '',
        checkpoint_id=checkpoint_fingerprint(checkpoint) if checkpoint else '',
        torchscript=torchscript,
        quick_gelu=bool(quick_gelu))


@MODELS.register_module()
class CLIPTextEncoder(nn.Module):
    """A frozen open_clip text tower with its tokenizer.

    The model comes from ``open_clip.create_model(model_name)`` with the
    checkpoint's weights loaded, and its visual tower is dropped.
    Checkpoints are open_clip pretrained tags (``'openai'``: open_clip's
    cached download, see :func:`~mmregion.models.backbones.
    clip_checkpoints.resolve_clip_checkpoint`) or local files: OpenAI
    TorchScript archives (``RN50.pt``; opened with ``torch.jit.load``),
    open_clip checkpoints and plain state dicts (``weights_only=True``),
    all read through :func:`~mmregion.models.backbones.clip_resnet.
    load_clip_state_dict`. All parameters have ``requires_grad=False``
    and the model stays in eval mode when the module is put in train mode.

    Args:
        model_name (str): An open_clip model name (``'RN50'``, ``'RN50x4'``,
            ``'RN-tiny'``, ...).
        checkpoint (str, optional): A local weight file or an open_clip
            pretrained tag. None gives random weights (tests only).
        quick_gelu (bool, optional): Use QuickGELU. None: True for
            TorchScript (OpenAI) archives, else the model config's setting.
        batch_size (int): Prompts per forward pass in :meth:`encode`.
            Defaults to 256.
    """

    def __init__(self,
                 model_name: str,
                 checkpoint: Optional[str] = None,
                 quick_gelu: Optional[bool] = None,
                 batch_size: int = 256) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(
                f'CLIPTextEncoder: batch_size must be >= 1, got {batch_size}')
        self.identity = clip_identity(model_name, checkpoint, quick_gelu)
        self.model_name = model_name
        self.batch_size = batch_size
        self.embed_dim: int = open_clip.get_model_config(
            model_name)['embed_dim']
        self.clip = open_clip.create_model(
            model_name, quick_gelu=self.identity['quick_gelu'])
        if self.identity['checkpoint']:
            from ..backbones.clip_resnet import load_clip_state_dict
            self.clip.load_state_dict(
                load_clip_state_dict(self.identity['checkpoint']))
        del self.clip.visual
        self.clip.requires_grad_(False)
        self.clip.eval()
        self.tokenizer = open_clip.get_tokenizer(model_name)

    def train(self, mode: bool = True) -> 'CLIPTextEncoder':
        """Set the module's mode; the frozen CLIP model stays in eval.

        Args:
            mode (bool): Train mode if True. Defaults to True.

        Returns:
            CLIPTextEncoder: self.
        """
        super().train(mode)
        self.clip.eval()
        return self

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> Tensor:
        """Embed texts, ``batch_size`` at a time.

        Args:
            texts (Sequence[str]): N texts (prompts).

        Returns:
            Tensor: L2-normalised float embeddings, shape (N, embed_dim), on
            the module's device.
        """
        if isinstance(texts, str):
            raise TypeError('CLIPTextEncoder.encode takes a list of texts, '
                            f'got the string {texts!r}')
        device = self.clip.logit_scale.device
        chunks = [
            self.clip.encode_text(
                self.tokenizer(list(texts[i:i + self.batch_size])).to(device),
                normalize=True).float()
            for i in range(0, len(texts), self.batch_size)
        ]
        if not chunks:
            return torch.zeros(0, self.embed_dim, device=device)
        return torch.cat(chunks)

    def forward(self, texts: Sequence[str]) -> Tensor:
        """Same as :meth:`encode`.

        Args:
            texts (Sequence[str]): N texts.

        Returns:
            Tensor: Shape (N, embed_dim), L2-normalised.
        """
        return self.encode(texts)

    def extra_repr(self) -> str:
        """Model name and checkpoint, shown by ``print(module)``."""
        return (f"model_name={self.model_name!r}, "
                f"checkpoint={self.identity['checkpoint']!r}, "
                f"embed_dim={self.embed_dim}")
