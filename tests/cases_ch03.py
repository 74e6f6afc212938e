"""Chapter 3 same-as cases: the attention classes a notebook defines inline behave like `shared`'s.

Each case receives the notebook's class and the shared class, builds both with the same arguments, gives
them the same weights (state dict), and compares outputs in eval mode and, with the same seed, in
training mode with dropout. The shared `MultiHeadAttention` has two extra switches used later
(`use_sdpa`, `use_cache`); the cases compare the behaviour the notebook version has: the default path.
"""

from __future__ import annotations

import pytest
import torch
from equivalence import assert_same_outputs, copy_weights, same_as_case


@same_as_case("SelfAttention_v1")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    notebook_sa, shared_sa = notebook_cls(3, 2), shared_cls(3, 2)
    copy_weights(notebook_sa, shared_sa)
    x = torch.rand(6, 3)  # (num_tokens, d_in)
    assert_same_outputs(notebook_sa, shared_sa, x)


@same_as_case("SelfAttention_v2")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    for qkv_bias in (False, True):
        notebook_sa, shared_sa = notebook_cls(5, 4, qkv_bias=qkv_bias), shared_cls(5, 4, qkv_bias=qkv_bias)
        copy_weights(notebook_sa, shared_sa)
        assert_same_outputs(notebook_sa, shared_sa, torch.randn(7, 5))


@same_as_case("CausalAttention")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    args = dict(d_in=5, d_out=4, context_length=8, dropout=0.3, qkv_bias=True)
    notebook_ca, shared_ca = notebook_cls(**args), shared_cls(**args)
    copy_weights(notebook_ca, shared_ca)
    for num_tokens in (1, 6, 8):
        assert_same_outputs(notebook_ca, shared_ca, torch.randn(2, num_tokens, 5))
    for module in (notebook_ca, shared_ca):
        with pytest.raises(ValueError):
            module(torch.randn(1, 9, 5))


@same_as_case("MultiHeadAttentionWrapper")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    args = dict(d_in=5, d_out=3, context_length=8, dropout=0.2, num_heads=3, qkv_bias=True)
    notebook_mha, shared_mha = notebook_cls(**args), shared_cls(**args)
    copy_weights(notebook_mha, shared_mha)
    for num_tokens in (1, 8):
        assert_same_outputs(notebook_mha, shared_mha, torch.randn(2, num_tokens, 5))


@same_as_case("MultiHeadAttention")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    for qkv_bias in (False, True):
        args = dict(d_in=6, d_out=8, context_length=10, dropout=0.25, num_heads=4, qkv_bias=qkv_bias)
        notebook_mha, shared_mha = notebook_cls(**args), shared_cls(**args)
        copy_weights(notebook_mha, shared_mha)
        for num_tokens in (1, 7, 10):
            assert_same_outputs(notebook_mha, shared_mha, torch.randn(3, num_tokens, 6))
        for module in (notebook_mha, shared_mha):
            with pytest.raises(ValueError):
                module(torch.randn(1, 11, 6))
    for cls in (notebook_cls, shared_cls):
        with pytest.raises(ValueError, match="divisible"):
            cls(d_in=6, d_out=8, context_length=10, dropout=0.0, num_heads=3)
