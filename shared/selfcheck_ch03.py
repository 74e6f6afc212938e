"""Self-checks for the attention classes (Chapter 3), used through `shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(SelfAttention_v1); check(SelfAttention_v2); check(CausalAttention)
    check(MultiHeadAttentionWrapper); check(MultiHeadAttention)

Each check builds your class with the book's arguments, copies the reference's weights into it and
compares outputs on seeded inputs. A wrong output is compared with `attention_variant` and friends: the
reference computation with one usual mistake (a key of MISTAKES) put in; a match names the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from shared.attention import (
    CausalAttention,
    MultiHeadAttention,
    MultiHeadAttentionWrapper,
    SelfAttention_v1,
    SelfAttention_v2,
)
from shared.selfcheck import Checker, register_check
from shared.selfcheck_modules import build_like, compare_outputs

MISTAKES = {
    "no_scale": "the scores are not scaled: divide them by √d_k (keys.shape[-1] ** 0.5) before the softmax",
    "no_sqrt": "the scores are divided by d_k instead of √d_k: use keys.shape[-1] ** 0.5",
    "scale_by_d_out": "the scores are scaled by √d_out instead of √head_dim: each head's keys have "
                      "head_dim = d_out // num_heads dimensions (take keys.shape[-1] after splitting the heads)",
    "scale_by_tokens": "the scores are scaled by √num_tokens instead of √d_k: use keys.shape[-1] ** 0.5, "
                       "the size of the last dimension",
    "softmax_dim": "the softmax runs over the queries (dim=-2) instead of the keys: use dim=-1, so that each "
                   "query's weights over the keys sum to 1",
    "softmax_batch": "the softmax runs over the batch (dim=0) instead of the keys: use dim=-1",
    "softmax_heads": "the softmax runs over the heads (dim=1) instead of the keys: use dim=-1",
    "no_mask": "the causal mask is not applied: fill the scores above the diagonal with -inf before the softmax",
    "mask_diagonal": "the mask is off by one and also hides the diagonal (a token must see itself): "
                     "torch.triu(torch.ones(n, n), diagonal=1)",
    "mask_one_late": "the mask is off by one and lets each token see the next one: "
                     "torch.triu(torch.ones(n, n), diagonal=1)",
    "mask_transposed": "the mask hides the past instead of the future: torch.triu(torch.ones(n, n), diagonal=1) "
                       "marks the future tokens (above the diagonal)",
    "mask_zero": "the masked scores are set to 0 instead of -inf, so future tokens still get weight: "
                 "masked_fill(mask, -torch.inf)",
    "mask_after_softmax": "the weights of future tokens are zeroed after the softmax without renormalizing, "
                          "so each row sums to less than 1: mask the scores with -inf before the softmax",
    "unwanted_mask": "a causal mask is applied, but this class lets every token attend to every token "
                     "(the mask comes with CausalAttention)",
    "weight_not_transposed": "an nn.Linear weight is used untransposed (x @ layer.weight): nn.Linear stores "
                             "(d_out, d_in) and computes x @ weight.T; call the layer: layer(x)",
    "split_heads": "the heads are split in the wrong order: view as (b, num_tokens, num_heads, head_dim), "
                   "then .transpose(1, 2)",
    "merge_heads": "the heads are merged in the wrong order: .transpose(1, 2) back to (b, num_tokens, "
                   "num_heads, head_dim) before reshaping to (b, num_tokens, d_out)",
    "merge_heads_interleaved": "the heads are merged in the wrong order, interleaving their dimensions: "
                               ".transpose(1, 2) to (b, num_tokens, num_heads, head_dim), then reshape to "
                               "(b, num_tokens, d_out)",
    "no_out_proj": "the output projection is missing: return self.out_proj(context_vec)",
    "concat_dim": "the heads' outputs are concatenated along the wrong dimension: torch.cat(..., dim=-1)",
}


def _project(layer: nn.Linear, x: torch.Tensor, mistake: str) -> torch.Tensor:
    if mistake == "weight_not_transposed":
        return x @ layer.weight + (0 if layer.bias is None else layer.bias)
    return layer(x)


def attention_variant(queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor, *, causal: bool,
                      mistake: str = "", dropout: float = 0.0, train: bool = False,
                      d_k: int | None = None) -> torch.Tensor:
    """softmax(Q K^T / √d_k) V over (..., num_tokens, d) tensors, with `mistake` (a key of MISTAKES) put in."""
    d_k = d_k or keys.shape[-1]
    scores = queries @ keys.transpose(-2, -1)  # (..., num_tokens, num_tokens)
    n = scores.shape[-1]
    future = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal={"mask_diagonal": 0, "mask_one_late": 2}
                        .get(mistake, 1))
    if mistake == "mask_transposed":
        future = future.T  # the past
    masked = (causal and mistake != "no_mask") or mistake == "unwanted_mask"
    if masked and mistake != "mask_after_softmax":
        scores = scores.masked_fill(future, 0.0 if mistake == "mask_zero" else -torch.inf)
    divisor = {"no_scale": 1.0, "no_sqrt": float(d_k), "scale_by_tokens": n**0.5}.get(mistake, d_k**0.5)
    weights = torch.softmax(scores / divisor, dim={"softmax_dim": -2, "softmax_batch": 0, "softmax_heads": 1}
                            .get(mistake, -1))
    if mistake == "mask_after_softmax":
        weights = weights.masked_fill(future, 0.0)
    return F.dropout(weights, dropout, training=train) @ values


def self_attention_v1_variant(module: SelfAttention_v1, x: torch.Tensor, train: bool,
                              mistake: str = "") -> torch.Tensor:
    queries, keys, values = x @ module.W_query, x @ module.W_key, x @ module.W_value  # (num_tokens, d_out)
    return attention_variant(queries, keys, values, causal=False, mistake=mistake)


def linear_attention_variant(module: nn.Module, x: torch.Tensor, train: bool, mistake: str = "", *,
                             causal: bool, dropout: float = 0.0) -> torch.Tensor:
    """SelfAttention_v2 (causal=False) or CausalAttention (causal=True): nn.Linear projections."""
    queries, keys, values = (_project(layer, x, mistake) for layer in (module.W_query, module.W_key, module.W_value))
    return attention_variant(queries, keys, values, causal=causal, mistake=mistake, dropout=dropout, train=train)


def multihead_variant(module: MultiHeadAttention, x: torch.Tensor, train: bool, mistake: str = "", *,
                      num_heads: int, dropout: float) -> torch.Tensor:
    b, num_tokens, _ = x.shape
    d_out = module.out_proj.out_features
    head_dim = d_out // num_heads

    def split(t: torch.Tensor) -> torch.Tensor:  # (b, num_tokens, d_out) -> (b, num_heads, num_tokens, head_dim)
        if mistake == "split_heads":
            return t.reshape(b, num_heads, num_tokens, head_dim)
        return t.view(b, num_tokens, num_heads, head_dim).transpose(1, 2)

    queries, keys, values = (split(_project(layer, x, mistake))
                             for layer in (module.W_query, module.W_key, module.W_value))
    context = attention_variant(queries, keys, values, causal=True, mistake=mistake, dropout=dropout, train=train,
                                d_k=d_out if mistake == "scale_by_d_out" else head_dim)
    if mistake == "merge_heads":
        context = context.reshape(b, num_tokens, d_out)
    elif mistake == "merge_heads_interleaved":
        context = context.permute(0, 2, 3, 1).reshape(b, num_tokens, d_out)  # (b, num_tokens, head_dim, num_heads)
    else:
        context = context.transpose(1, 2).reshape(b, num_tokens, d_out)  # (b, num_tokens, d_out)
    return context if mistake == "no_out_proj" else module.out_proj(context)


def _variants(fn: Callable[..., torch.Tensor], reference: nn.Module, keys: list[str],
              **kwargs: Any) -> dict[str, Callable[[torch.Tensor, bool], torch.Tensor]]:
    """{hint: (x, train) -> the reference's output with that mistake} for the given MISTAKES keys."""
    return {MISTAKES[key]: lambda x, train, key=key: fn(reference, x, train, key, **kwargs) for key in keys}


def _signature(name: str, kwargs: dict[str, Any]) -> str:
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


def _compare_runs(checker: Checker, learner: nn.Module, reference: nn.Module, d_in: int, context_length: int,
                  runs: tuple[tuple[int, bool], ...], variants: dict) -> None:
    """One line per (num_tokens, train) run on a seeded (2, num_tokens, d_in) batch."""
    for num_tokens, train in runs:
        mode = "training mode, same dropout seed" if train else "eval mode"
        compare_outputs(checker, f"{mode}, {num_tokens} tokens (context_length {context_length})", learner,
                        reference, torch.randn(2, num_tokens, d_in), train=train, variants=variants)


SCALING = ["no_scale", "no_sqrt", "scale_by_tokens", "softmax_dim"]
MASKING = ["no_mask", "mask_diagonal", "mask_one_late", "mask_transposed", "mask_zero", "mask_after_softmax"]
NAMING = "W_query, W_key, W_value (nn.Linear(d_in, d_out, bias=qkv_bias))"


@register_check("SelfAttention_v1", chapter=3)
def check_self_attention_v1(candidate: type, checker: Checker) -> None:
    torch.manual_seed(0)
    reference = SelfAttention_v1(3, 2)
    learner = build_like(checker, candidate, reference, "SelfAttention_v1(d_in=3, d_out=2)", (3, 2),
                         naming="W_query, W_key, W_value as nn.Parameter(torch.rand(d_in, d_out))")
    variants = _variants(self_attention_v1_variant, reference, [*SCALING, "unwanted_mask"])
    compare_outputs(checker, "output for 6 tokens (num_tokens, d_in)", learner, reference, torch.rand(6, 3),
                    variants=variants)


@register_check("SelfAttention_v2", chapter=3)
def check_self_attention_v2(candidate: type, checker: Checker) -> None:
    keys = ["weight_not_transposed", *SCALING, "unwanted_mask"]
    for kwargs, num_tokens in (({"d_in": 4, "d_out": 4}, 6), ({"d_in": 3, "d_out": 2, "qkv_bias": True}, 5)):
        torch.manual_seed(0)
        reference = SelfAttention_v2(**kwargs)
        learner = build_like(checker, candidate, reference, _signature("SelfAttention_v2", kwargs), (), kwargs,
                             naming=NAMING)
        compare_outputs(checker, f"output for {num_tokens} tokens (num_tokens, d_in)", learner, reference,
                        torch.randn(num_tokens, kwargs["d_in"]),
                        variants=_variants(linear_attention_variant, reference, keys, causal=False))


@register_check("CausalAttention", chapter=3)
def check_causal_attention(candidate: type, checker: Checker) -> None:
    keys = ["weight_not_transposed", *SCALING, "softmax_batch", *MASKING]
    square = {"d_in": 4, "d_out": 4, "context_length": 6, "dropout": 0.5}  # x @ W.weight runs, and is recognised
    for kwargs, runs in ((square, ((6, False), (4, False), (6, True))),
                         ({**square, "d_in": 3, "d_out": 2, "qkv_bias": True}, ((5, False),))):
        torch.manual_seed(0)
        reference = CausalAttention(**kwargs)
        learner = build_like(checker, candidate, reference, _signature("CausalAttention", kwargs), (), kwargs,
                             naming=NAMING + "; self.dropout = nn.Dropout(dropout)")
        variants = _variants(linear_attention_variant, reference, keys, causal=True, dropout=kwargs["dropout"])
        _compare_runs(checker, learner, reference, kwargs["d_in"], kwargs["context_length"], runs, variants)


@register_check("MultiHeadAttentionWrapper", chapter=3)
def check_multihead_attention_wrapper(candidate: type, checker: Checker) -> None:
    kwargs = {"d_in": 4, "d_out": 3, "context_length": 6, "dropout": 0.5, "num_heads": 2}
    torch.manual_seed(0)
    reference = MultiHeadAttentionWrapper(**kwargs)
    learner = build_like(checker, candidate, reference, _signature("MultiHeadAttentionWrapper", kwargs), (), kwargs,
                         naming="self.heads = nn.ModuleList([CausalAttention(...) for _ in range(num_heads)])")

    def concat_over_tokens(x: torch.Tensor, train: bool) -> torch.Tensor:
        return torch.cat([head.train(train)(x) for head in reference.heads], dim=1)

    _compare_runs(checker, learner, reference, kwargs["d_in"], kwargs["context_length"], ((6, False), (6, True)),
                  {MISTAKES["concat_dim"]: concat_over_tokens})


@register_check("MultiHeadAttention", chapter=3)
def check_multihead_attention(candidate: type, checker: Checker) -> None:
    keys = ["weight_not_transposed", *SCALING, "scale_by_d_out", "softmax_batch", "softmax_heads", *MASKING,
            "split_heads", "merge_heads", "merge_heads_interleaved", "no_out_proj"]
    square = {"d_in": 6, "d_out": 6, "context_length": 8, "dropout": 0.5, "num_heads": 2}
    for kwargs, runs in ((square, ((8, False), (3, False), (8, True))),
                         ({**square, "d_in": 5, "num_heads": 3, "qkv_bias": True}, ((5, False),))):
        torch.manual_seed(0)
        reference = MultiHeadAttention(**kwargs, use_sdpa=False)
        learner = build_like(checker, candidate, reference, _signature("MultiHeadAttention", kwargs), (), kwargs,
                             naming=NAMING + " and out_proj (nn.Linear(d_out, d_out))")
        variants = _variants(multihead_variant, reference, keys, num_heads=kwargs["num_heads"],
                             dropout=kwargs["dropout"])
        _compare_runs(checker, learner, reference, kwargs["d_in"], kwargs["context_length"], runs, variants)
