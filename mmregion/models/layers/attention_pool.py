"""CLIP's attention pool computed for its one output token.

open_clip's ``AttentionPool2d`` runs multi-head attention with every token
(the mean token and the H x W positions) as a query and keeps the output of
the first (mean) token only. For that token the result is, per head h with
query ``q_h`` (scaled by ``d^-0.5``), keys ``W_k,h x_t + b_k,h`` and values
``W_v,h x_t + b_v,h``::

    a_t = softmax_t((W_k,h^T q_h) . x_t)      (q_h . b_k,h is the same for
                                               every t: softmax ignores it)
    out_h = W_v,h (sum_t a_t x_t) + b_v,h     (the a_t sum to 1)

so the keys and values of the T tokens are never projected: the cost per
region drops from about 3 T C^2 to 4 C^2 multiply-adds (T = 50, C = 2048 for
RN50's region pool). The result is the same up to float rounding.
"""
import torch
from open_clip.modified_resnet import AttentionPool2d
from torch import Tensor


def attention_pool_first_token(pool: AttentionPool2d, x: Tensor) -> Tensor:
    """``pool(x)`` (open_clip's ``AttentionPool2d``), computed directly.

    Args:
        pool (AttentionPool2d): The attention pool (its ``q_proj``,
            ``k_proj``, ``v_proj``, ``c_proj``, ``positional_embedding``,
            ``num_heads``).
        x (Tensor): (N, C, H, W) maps, H * W + 1 positional embeddings.

    Returns:
        Tensor: (N, output_dim), as ``pool(x)``.
    """
    n, c = x.shape[:2]
    heads = pool.num_heads
    dim = c // heads
    tokens = x.flatten(2).transpose(1, 2)  # (N, HW, C)
    tokens = torch.cat([tokens.mean(1, keepdim=True), tokens], 1)
    tokens = tokens + pool.positional_embedding.to(x.dtype)
    query = pool.q_proj(tokens[:, 0]).view(n, heads, dim) * dim**-0.5
    key_w = pool.k_proj.weight.view(heads, dim, c)
    value_w = pool.v_proj.weight.view(heads, dim, c)
    query_keys = torch.einsum('nhd,hdc->nhc', query, key_w)
    attn = torch.einsum('nhc,ntc->nht', query_keys, tokens).softmax(-1)
    mixed = torch.einsum('nht,ntc->nhc', attn, tokens)
    out = torch.einsum('nhc,hdc->nhd', mixed, value_w).reshape(n, c)
    return pool.c_proj(out + pool.v_proj.bias)
