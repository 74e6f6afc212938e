"""Self-attention, one causal head and many (Chapter 3; the KV cache is used from Chapter 4 on).

Usage:
    from shared import MultiHeadAttention
    mha = MultiHeadAttention(d_in=768, d_out=768, context_length=1024, dropout=0.1, num_heads=12)
    context_vecs = mha(x)  # x: (batch, num_tokens, d_in) -> (batch, num_tokens, d_out)

`MultiHeadAttention` computes attention two ways behind one switch, `use_sdpa`:
- False (the default here, the way Chapter 3 teaches it): scores = Q K^T, a causal mask filled with
  -inf, softmax over scaled scores, dropout on the weights, weighted sum of V.
- True: `torch.nn.functional.scaled_dot_product_attention`, which picks FlashAttention or the
  memory-efficient kernel on CUDA. Dropout is applied only in training mode. Same result.

`SelfAttention_v1` (weights as `nn.Parameter`) and `SelfAttention_v2` (weights as `nn.Linear`) are the
chapter's first trainable versions: no mask, no dropout, every token sees every other token.

`MultiHeadAttention.forward(x, kv_cache=...)` takes one layer's view of a `shared.KVCache`: the new
tokens' keys and values are stored there and the queries attend to every cached token before them, so
generation can feed one new token at a time (see `shared/kv_cache.py` and `generate_text_simple`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from shared.kv_cache import LayerKV


def _check_batched(x: torch.Tensor, layer: str) -> None:
    if x.dim() != 3:
        raise ValueError(f"{layer} expects a batch of token vectors of shape (batch, num_tokens, d_in), got shape "
                         f"{tuple(x.shape)}; for a single sequence of shape (num_tokens, d_in) use x.unsqueeze(0)")


def _check_length(num_tokens: int, context_length: int) -> None:
    if num_tokens > context_length:
        raise ValueError(
            f"got {num_tokens} tokens but this attention layer was built for context_length="
            f"{context_length}; crop the input to its last {context_length} tokens or build a larger model"
        )


class SelfAttention_v1(nn.Module):
    """Scaled dot-product self-attention with the three projections as raw (d_in, d_out) matrices."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.W_query = nn.Parameter(torch.rand(d_in, d_out))
        self.W_key = nn.Parameter(torch.rand(d_in, d_out))
        self.W_value = nn.Parameter(torch.rand(d_in, d_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        queries, keys, values = x @ self.W_query, x @ self.W_key, x @ self.W_value  # (num_tokens, d_out)
        attn_scores = queries @ keys.transpose(-2, -1)  # (num_tokens, num_tokens)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        return attn_weights @ values  # (num_tokens, d_out)


class SelfAttention_v2(nn.Module):
    """The same computation with `nn.Linear` layers (better initialisation, optional bias).

    `nn.Linear` stores its weight as (d_out, d_in) and computes x @ weight.T, so
    `SelfAttention_v1.W_query` corresponds to `SelfAttention_v2.W_query.weight.T`.
    """

    def __init__(self, d_in: int, d_out: int, qkv_bias: bool = False):
        super().__init__()
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        queries, keys, values = self.W_query(x), self.W_key(x), self.W_value(x)  # (num_tokens, d_out)
        attn_scores = queries @ keys.transpose(-2, -1)  # (num_tokens, num_tokens)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        return attn_weights @ values  # (num_tokens, d_out)


class CausalAttention(nn.Module):
    """One causal attention head: each token attends to itself and the tokens before it."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float, qkv_bias: bool = False):
        super().__init__()
        self.context_length = context_length
        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.dropout = nn.Dropout(dropout)
        # 1 above the diagonal = "future token": masked out
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1),
                             persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_batched(x, type(self).__name__)
        b, num_tokens, d_in = x.shape
        _check_length(num_tokens, self.context_length)
        queries, keys, values = self.W_query(x), self.W_key(x), self.W_value(x)  # (b, num_tokens, d_out)

        attn_scores = queries @ keys.transpose(1, 2)  # (b, num_tokens, num_tokens)
        future = self.mask.bool()[:num_tokens, :num_tokens]
        attn_scores = attn_scores.masked_fill(future, -torch.inf)
        attn_weights = torch.softmax(attn_scores / keys.shape[-1] ** 0.5, dim=-1)
        attn_weights = self.dropout(attn_weights)
        return attn_weights @ values  # (b, num_tokens, d_out)


class MultiHeadAttentionWrapper(nn.Module):
    """Several `CausalAttention` heads run side by side; their outputs are concatenated."""

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float, num_heads: int,
                 qkv_bias: bool = False):
        super().__init__()
        self.heads = nn.ModuleList(
            [CausalAttention(d_in, d_out, context_length, dropout, qkv_bias) for _ in range(num_heads)]
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([head(x) for head in self.heads], dim=-1)  # (b, num_tokens, num_heads * d_out)


class MultiHeadAttention(nn.Module):
    """Multi-head causal attention with one weight matrix per Q, K, V split into heads, and an output projection.

    `d_out` is the total width; each of the `num_heads` heads works on `d_out // num_heads` dimensions.
    """

    def __init__(self, d_in: int, d_out: int, context_length: int, dropout: float, num_heads: int,
                 qkv_bias: bool = False, use_sdpa: bool = False):
        super().__init__()
        if num_heads <= 0 or d_out % num_heads != 0:
            raise ValueError(f"d_out ({d_out}) must be divisible by num_heads ({num_heads}): each head gets "
                             f"d_out // num_heads dimensions")
        self.d_out = d_out
        self.num_heads = num_heads
        self.head_dim = d_out // num_heads
        self.context_length = context_length
        self.dropout_p = dropout
        self.use_sdpa = use_sdpa

        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)
        self.out_proj = nn.Linear(d_out, d_out)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("mask", torch.triu(torch.ones(context_length, context_length), diagonal=1),
                             persistent=False)

    def _split_heads(self, t: torch.Tensor) -> torch.Tensor:
        b, num_tokens, _ = t.shape
        # (b, num_tokens, d_out) -> (b, num_heads, num_tokens, head_dim)
        return t.view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, kv_cache: LayerKV | None = None) -> torch.Tensor:
        _check_batched(x, type(self).__name__)
        b, num_tokens, _ = x.shape
        if kv_cache is None:
            _check_length(num_tokens, self.context_length)

        queries = self._split_heads(self.W_query(x))  # (b, num_heads, num_tokens, head_dim)
        keys = self._split_heads(self.W_key(x))
        values = self._split_heads(self.W_value(x))

        causal, allowed = True, None  # plain causal attention, or an explicit "may attend" mask (None: every key)
        if kv_cache is not None:
            keys, values = kv_cache.update(keys, values)  # (b, num_heads, cached + num_tokens, head_dim)
            if not kv_cache.is_prefill:
                causal, allowed = False, kv_cache.mask()  # (b, 1, num_tokens, num_keys) or None

        if self.use_sdpa:
            context = F.scaled_dot_product_attention(
                queries, keys, values, attn_mask=allowed, is_causal=causal,
                dropout_p=self.dropout_p if self.training else 0.0,
            )
        else:
            attn_scores = queries @ keys.transpose(2, 3)  # (b, num_heads, num_tokens, num_keys)
            if causal:
                attn_scores = attn_scores.masked_fill(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)
            elif allowed is not None:
                attn_scores = attn_scores.masked_fill(~allowed, -torch.inf)
            attn_weights = torch.softmax(attn_scores / self.head_dim**0.5, dim=-1)
            context = self.dropout(attn_weights) @ values  # (b, num_heads, num_tokens, head_dim)

        context = context.transpose(1, 2).reshape(b, num_tokens, self.d_out)  # (b, num_tokens, d_out)
        return self.out_proj(context)
