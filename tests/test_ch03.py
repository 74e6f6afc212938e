"""Chapter 3: the attention classes of shared/attention.py, previous_chapters.py and the chapter's notebooks.

The notebook-vs-shared equality cases live in cases_ch03.py; the notebook tests run them.
"""

from __future__ import annotations

import importlib.util

import pytest
import torch
from equivalence import CASES, load_cases
from notebook_checks import chapter_notebooks, execute_notebook
from notebook_runner import REPO_ROOT

import shared
from shared import (
    CausalAttention,
    KVCache,
    MultiHeadAttention,
    MultiHeadAttentionWrapper,
    SelfAttention_v1,
    SelfAttention_v2,
)

D_IN = 12
CONTEXT = 16


def make_attention(kind: str, dropout: float = 0.0, d_in: int = D_IN, context_length: int = CONTEXT):
    """One attention module of each kind, with d_in -> 8 output dimensions."""
    torch.manual_seed(123)
    if kind == "causal":
        return CausalAttention(d_in, 8, context_length, dropout, qkv_bias=True)
    if kind == "wrapper":
        return MultiHeadAttentionWrapper(d_in, 4, context_length, dropout, num_heads=2, qkv_bias=True)
    if kind in ("mha", "mha_sdpa"):
        return MultiHeadAttention(d_in, 8, context_length, dropout, num_heads=4, qkv_bias=True,
                                  use_sdpa=kind == "mha_sdpa")
    raise ValueError(kind)


def run_chunks(module: MultiHeadAttention, x: torch.Tensor, chunks: list[int],
               cache: KVCache | None = None) -> torch.Tensor:
    """Feed `x` to one attention module chunk by chunk through a one-layer KV cache; the outputs, concatenated."""
    cache = cache or KVCache(1, x.shape[0], module.num_heads, module.head_dim, module.context_length)
    pieces, start, already = [], 0, cache.max_length()
    with torch.no_grad():
        for size in chunks:
            cache.begin(size)
            pieces.append(module(x[:, start:start + size], kv_cache=cache.layer(0)))
            cache.end()
            start += size
            assert cache.max_length() == already + start
    return torch.cat(pieces, dim=1)


CAUSAL_KINDS = ["causal", "wrapper", "mha", "mha_sdpa"]


# --- shapes -------------------------------------------------------------------------------------------


def test_self_attention_shapes():
    torch.manual_seed(0)
    x = torch.rand(6, 3)
    assert SelfAttention_v1(3, 2)(x).shape == (6, 2)
    assert SelfAttention_v2(3, 2)(x).shape == (6, 2)
    assert SelfAttention_v2(3, 5, qkv_bias=True)(x.expand(4, 6, 3)).shape == (4, 6, 5)


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
@pytest.mark.parametrize("batch, num_tokens", [(1, 1), (2, 7), (3, CONTEXT)])
def test_causal_shapes(kind, batch, num_tokens):
    module = make_attention(kind)
    assert module(torch.randn(batch, num_tokens, D_IN)).shape == (batch, num_tokens, 8)


def test_wrapper_width_is_num_heads_times_d_out():
    wrapper = MultiHeadAttentionWrapper(3, d_out=1, context_length=6, dropout=0.0, num_heads=2)
    assert wrapper(torch.rand(2, 6, 3)).shape == (2, 6, 2)  # exercise 3.2


# --- causality ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
def test_future_tokens_do_not_change_earlier_outputs(kind):
    module = make_attention(kind).eval()
    torch.manual_seed(1)
    x = torch.randn(2, 10, D_IN)
    for t in range(9):
        changed = x.clone()
        changed[:, t + 1:] = torch.randn_like(changed[:, t + 1:])
        with torch.no_grad():
            before, after = module(x), module(changed)
        torch.testing.assert_close(before[:, :t + 1], after[:, :t + 1], rtol=0, atol=1e-6)
        assert not torch.allclose(before[:, t + 1:], after[:, t + 1:])


@pytest.mark.parametrize("use_sdpa", [False, True])
def test_future_tokens_do_not_change_earlier_outputs_with_cache(use_sdpa):
    module = make_attention("mha_sdpa" if use_sdpa else "mha").eval()
    torch.manual_seed(1)
    x = torch.randn(1, 10, D_IN)
    changed = x.clone()
    changed[:, 6:] = torch.randn_like(changed[:, 6:])

    before, after = run_chunks(module, x, [1] * 10), run_chunks(module, changed, [1] * 10)
    torch.testing.assert_close(before[:, :6], after[:, :6], rtol=0, atol=1e-6)
    assert not torch.allclose(before[:, 6:], after[:, 6:])


# --- explicit attention vs SDPA -----------------------------------------------------------------------


@pytest.mark.parametrize("batch, num_tokens, d_out, num_heads",
                         [(1, 1, 8, 2), (1, 16, 8, 1), (3, 1, 12, 3), (2, 9, 24, 4), (4, 16, 16, 8)])
def test_explicit_and_sdpa_paths_agree(batch, num_tokens, d_out, num_heads):
    torch.manual_seed(0)
    explicit = MultiHeadAttention(D_IN, d_out, CONTEXT, dropout=0.0, num_heads=num_heads, qkv_bias=True)
    fused = MultiHeadAttention(D_IN, d_out, CONTEXT, dropout=0.0, num_heads=num_heads, qkv_bias=True,
                               use_sdpa=True)
    fused.load_state_dict(explicit.state_dict())
    x = torch.randn(batch, num_tokens, D_IN)
    torch.testing.assert_close(explicit(x), fused(x), rtol=1e-5, atol=1e-5)


# --- KV cache -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("use_sdpa", [False, True])
@pytest.mark.parametrize("chunks", [[1] * 12, [3, 1, 4, 2, 2], [12], [5, 7]], ids=str)
def test_cached_matches_uncached(use_sdpa, chunks):
    module = make_attention("mha_sdpa" if use_sdpa else "mha").eval()
    torch.manual_seed(2)
    x = torch.randn(2, sum(chunks), D_IN)
    with torch.no_grad():
        full = module(x)
    torch.testing.assert_close(run_chunks(module, x, chunks), full, rtol=1e-5, atol=1e-5)


def test_a_cache_is_only_used_when_passed():
    module = make_attention("mha").eval()
    x = torch.randn(1, 5, D_IN)
    cache = KVCache(1, 1, module.num_heads, module.head_dim, CONTEXT)
    run_chunks(module, x[:, :3], [3], cache)
    module(x)  # a call without kv_cache neither reads nor extends it
    assert cache.max_length() == 3


# --- wrapper vs multi-head attention ------------------------------------------------------------------


def test_wrapper_equals_multihead_attention_with_copied_weights():
    torch.manual_seed(0)
    num_heads, head_dim = 3, 4
    wrapper = MultiHeadAttentionWrapper(D_IN, head_dim, CONTEXT, dropout=0.0, num_heads=num_heads, qkv_bias=True)
    mha = MultiHeadAttention(D_IN, num_heads * head_dim, CONTEXT, dropout=0.0, num_heads=num_heads, qkv_bias=True)
    with torch.no_grad():
        for h, head in enumerate(wrapper.heads):
            rows = slice(h * head_dim, (h + 1) * head_dim)
            for role in ("W_query", "W_key", "W_value"):
                getattr(mha, role).weight[rows] = getattr(head, role).weight
                getattr(mha, role).bias[rows] = getattr(head, role).bias
        mha.out_proj.weight.copy_(torch.eye(num_heads * head_dim))
        mha.out_proj.bias.zero_()
    x = torch.randn(2, 11, D_IN)
    torch.testing.assert_close(mha(x), wrapper(x), rtol=1e-5, atol=1e-6)


def test_self_attention_v1_takes_transposed_v2_weights():
    torch.manual_seed(0)
    v1, v2 = SelfAttention_v1(3, 2), SelfAttention_v2(3, 2)
    with torch.no_grad():
        for role in ("W_query", "W_key", "W_value"):
            getattr(v1, role).copy_(getattr(v2, role).weight.T)
    x = torch.rand(6, 3)
    torch.testing.assert_close(v1(x), v2(x))


# --- dropout ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
def test_dropout_only_in_training_mode(kind):
    module = make_attention(kind, dropout=0.5)
    x = torch.randn(2, 10, D_IN)
    module.eval()
    with torch.no_grad():
        first, second = module(x), module(x)
        torch.testing.assert_close(first, second, rtol=0, atol=0)
        module.train()
        torch.manual_seed(3)
        dropped_a = module(x)
        dropped_b = module(x)
    assert not torch.allclose(dropped_a, first)
    assert not torch.allclose(dropped_a, dropped_b)


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("d_out, num_heads", [(10, 3), (8, 0)])
def test_d_out_must_be_divisible_by_num_heads(d_out, num_heads):
    with pytest.raises(ValueError, match=r"d_out \(\d+\) must be divisible by num_heads"):
        MultiHeadAttention(D_IN, d_out, CONTEXT, dropout=0.0, num_heads=num_heads)


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
def test_inputs_longer_than_context_are_rejected(kind):
    module = make_attention(kind)
    with pytest.raises(ValueError, match="context_length=16"):
        module(torch.randn(1, CONTEXT + 1, D_IN))


@pytest.mark.parametrize("use_sdpa", [False, True])
def test_cache_plus_new_tokens_longer_than_context_is_rejected(use_sdpa):
    module = make_attention("mha_sdpa" if use_sdpa else "mha").eval()
    cache = KVCache(1, 1, module.num_heads, module.head_dim, CONTEXT)
    run_chunks(module, torch.randn(1, CONTEXT - 2, D_IN), [CONTEXT - 2], cache)
    with pytest.raises(ValueError, match=f"holds {CONTEXT - 2} tokens.*room for {CONTEXT}.*reset"):
        cache.begin(3)
    assert cache.max_length() == CONTEXT - 2  # the failed call did not touch the cache
    run_chunks(module, torch.randn(1, CONTEXT, D_IN)[:, CONTEXT - 2:], [2], cache)
    assert cache.max_length() == CONTEXT


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
def test_unbatched_input_gets_a_clear_message(kind):
    module = make_attention(kind)
    with pytest.raises(ValueError, match=r"\(batch, num_tokens, d_in\).*unsqueeze\(0\)"):
        module(torch.randn(5, D_IN))


# --- sizes and state ----------------------------------------------------------------------------------


def test_gpt2_small_attention_parameter_count():
    mha = MultiHeadAttention(768, 768, context_length=1024, dropout=0.0, num_heads=12)
    assert sum(p.numel() for p in mha.parameters()) == 2_360_064
    assert mha.head_dim == 64


@pytest.mark.parametrize("kind", CAUSAL_KINDS)
def test_mask_is_not_saved_in_the_state_dict(kind):
    assert not any("mask" in name for name in make_attention(kind).state_dict())


def test_modules_move_with_their_mask():
    module = make_attention("mha").to(torch.float64)
    assert module(torch.randn(1, 4, D_IN, dtype=torch.float64)).dtype == torch.float64


# --- previous_chapters.py -----------------------------------------------------------------------------


def test_previous_chapters_reexports_chapter_2_from_shared():
    path = REPO_ROOT / "ch03" / "previous_chapters.py"
    spec = importlib.util.spec_from_file_location("ch03_previous_chapters", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = {"SimpleTokenizerV1", "SimpleTokenizerV2", "CharTokenizer", "build_vocab", "BPETokenizer",
                "get_tokenizer", "load_corpus", "GPTDatasetV1", "create_dataloader_v1"}
    assert set(module.__all__) == expected
    for name in expected:
        assert getattr(module, name) is getattr(shared, name), f"{name} is not shared's object"


# --- the same-as cases themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["SelfAttention_v1", "SelfAttention_v2", "CausalAttention",
                                  "MultiHeadAttentionWrapper", "MultiHeadAttention"])
def test_same_as_case_accepts_the_shared_class_itself(name):
    load_cases()
    CASES[name](getattr(shared, name), getattr(shared, name))


def test_same_as_case_catches_a_missing_scale():
    class UnscaledMHA(MultiHeadAttention):
        def forward(self, x):  # no 1/sqrt(head_dim): must be caught
            b, t, _ = x.shape
            q, k, v = (self._split_heads(layer(x)) for layer in (self.W_query, self.W_key, self.W_value))
            scores = (q @ k.transpose(2, 3)).masked_fill(self.mask.bool()[:t, :t], -torch.inf)
            context = self.dropout(torch.softmax(scores, dim=-1)) @ v
            return self.out_proj(context.transpose(1, 2).reshape(b, t, self.d_out))

    load_cases()
    with pytest.raises(AssertionError):
        CASES["MultiHeadAttention"](UnscaledMHA, MultiHeadAttention)


# --- the notebooks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", chapter_notebooks("ch03"), ids=lambda p: p.name)
def test_notebook_runs(path):
    execute_notebook(path)
