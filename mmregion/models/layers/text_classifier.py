"""Cosine classifier against text embeddings, with a fixed background logit."""
from typing import Any, Optional

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class TextClassifier(nn.Module):
    """Score features against a vocabulary of text embeddings.

    ``logits = [cos(f, t_1), ..., cos(f, t_C), 0] / T``: features and text
    embeddings are L2-normalised, the cosine similarities are divided by the
    temperature ``T``, and a fixed all-zero background embedding gives a
    background logit of exactly 0 (RegionCLIP's ``cls_bg_score``). The text
    embeddings are a frozen buffer; :meth:`set_vocabulary` swaps them (e.g.
    base classes for training, base + novel for testing) without touching
    ``num_classes`` anywhere else.

    Args:
        embed_dim (int): Dimension D of features and text embeddings.
        embeddings (Tensor, optional): Text embeddings, shape (C, D).
        temperature (float): Temperature T. Defaults to 0.01 (RegionCLIP).
        with_background (bool): Append the zero background logit.
            Defaults to True.
    """

    def __init__(self,
                 embed_dim: int,
                 embeddings: Optional[Tensor] = None,
                 temperature: float = 0.01,
                 with_background: bool = True) -> None:
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be > 0, got {temperature}')
        self.embed_dim = embed_dim
        self.temperature = temperature
        self.with_background = with_background
        self.register_buffer(
            'embeddings', torch.zeros(0, embed_dim), persistent=False)
        if embeddings is not None:
            self.set_vocabulary(embeddings)

    @property
    def num_classes(self) -> int:
        """Number of classes C of the current vocabulary."""
        return self.embeddings.shape[0]

    def set_vocabulary(self,
                       embeddings: Any,
                       where: str = 'TextClassifier') -> None:
        """Replace the text embeddings.

        Args:
            embeddings (Tensor | Vocabulary): (C, D) embeddings, or an object
                with an ``embeddings`` tensor attribute (a ``Vocabulary``).
                They are L2-normalised here.
            where (str): Named in error messages (e.g. the config key).

        Raises:
            ValueError: If the vocabulary is empty or its dimension is not
                ``embed_dim``.
        """
        if not isinstance(embeddings, Tensor):
            embeddings = embeddings.embeddings
        if embeddings.dim() != 2 or embeddings.shape[0] == 0:
            raise ValueError(
                f'{where}: the vocabulary is empty or not a (C, D) matrix '
                f'(got shape {list(embeddings.shape)})')
        if embeddings.shape[1] != self.embed_dim:
            raise ValueError(
                f'{where}: text embeddings have dim {embeddings.shape[1]} but '
                f'the visual features have dim {self.embed_dim} '
                f'({embeddings.shape[1]} vs {self.embed_dim}); use the text '
                f'encoder of the same CLIP model as the backbone')
        device = self.embeddings.device
        self.embeddings = F.normalize(
            embeddings.detach().float(), dim=-1).to(device)

    def forward(self, features: Tensor) -> Tensor:
        """Classify features.

        Args:
            features (Tensor): Shape (N, D).

        Returns:
            Tensor: Logits, shape (N, C + 1) with the background logit last
            (or (N, C) without background).
        """
        if self.num_classes == 0:
            raise RuntimeError('TextClassifier has no vocabulary; call '
                               'set_vocabulary(embeddings) first')
        logits = F.normalize(features, dim=-1) @ self.embeddings.to(
            features.dtype).t()
        if self.with_background:
            logits = torch.cat([logits, logits.new_zeros(len(logits), 1)], 1)
        return logits / self.temperature
