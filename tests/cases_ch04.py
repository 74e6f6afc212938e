"""Chapter 4 same-as cases: the layers, model and generation function ch04.ipynb defines inline behave like
`shared`'s.

Each case builds both versions from the same configuration, gives them the same weights (state dict) and
compares outputs in eval mode and, with the same seed, in training mode with dropout. The shared model
has switches the notebook versions do not (`use_sdpa`, `use_cache`, weight tying, separate dropout
rates); the cases compare the behaviour the notebook versions have: explicit attention, no cache.
"""

from __future__ import annotations

import torch
from equivalence import assert_same_outputs, copy_weights, same_as_case

CFG = {"vocab_size": 50, "context_length": 10, "emb_dim": 12, "n_heads": 3, "n_layers": 2,
       "drop_rate": 0.2, "qkv_bias": True}


def _randomize(module: torch.nn.Module) -> None:
    """Move every parameter away from its initial value (LayerNorm starts at scale 1, shift 0)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))


@same_as_case("LayerNorm")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    notebook_ln, shared_ln = notebook_cls(emb_dim=6), shared_cls(emb_dim=6)
    _randomize(notebook_ln)
    copy_weights(notebook_ln, shared_ln)
    x = torch.cat([torch.randn(2, 3, 6) * 5 + 2, torch.full((2, 1, 6), 3.0)], dim=1)  # incl. a constant vector
    assert_same_outputs(notebook_ln, shared_ln, x)


@same_as_case("GELU")
def _(notebook_cls, shared_cls):
    x = torch.linspace(-8, 8, 401)
    torch.testing.assert_close(notebook_cls()(x), shared_cls()(x), rtol=1e-6, atol=1e-6)


@same_as_case("FeedForward")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    notebook_ff, shared_ff = notebook_cls(CFG), shared_cls(CFG)
    copy_weights(notebook_ff, shared_ff)
    assert_same_outputs(notebook_ff, shared_ff, torch.randn(2, 5, CFG["emb_dim"]))


@same_as_case("TransformerBlock")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    notebook_block = notebook_cls(CFG)
    _randomize(notebook_block)
    for use_sdpa in (False, True):
        shared_block = shared_cls(CFG, use_sdpa=use_sdpa)
        copy_weights(notebook_block, shared_block)
        x = torch.randn(2, CFG["context_length"], CFG["emb_dim"])
        if use_sdpa:  # SDPA draws its dropout masks differently: compare without dropout only
            with torch.no_grad():
                torch.testing.assert_close(notebook_block.eval()(x), shared_block.eval()(x), rtol=1e-5, atol=1e-5)
        else:
            assert_same_outputs(notebook_block, shared_block, x)


@same_as_case("GPTModel")
def _(notebook_cls, shared_cls):
    torch.manual_seed(0)
    notebook_model = notebook_cls(CFG)
    _randomize(notebook_model)
    for use_sdpa in (False, True):
        shared_model = shared_cls(CFG, use_sdpa=use_sdpa)
        copy_weights(notebook_model, shared_model)
        ids = torch.randint(0, CFG["vocab_size"], (3, CFG["context_length"]))
        if use_sdpa:
            with torch.no_grad():
                torch.testing.assert_close(notebook_model.eval()(ids), shared_model.eval()(ids), rtol=1e-5, atol=1e-5)
        else:
            assert_same_outputs(notebook_model, shared_model, ids)
            assert_same_outputs(notebook_model, shared_model, ids[:, :1])


@same_as_case("generate_text_simple")
def _(notebook_fn, shared_fn):
    import shared

    torch.manual_seed(0)
    model = shared.GPTModel(CFG).eval()
    _randomize(model)
    for prompt_len, new_tokens, context_size in ((3, 4, 10), (4, 15, 10), (14, 5, 10), (5, 8, 4)):
        idx = torch.randint(0, CFG["vocab_size"], (2, prompt_len))
        expected = notebook_fn(model, idx, max_new_tokens=new_tokens, context_size=context_size)
        assert expected.shape == (2, prompt_len + new_tokens)
        for use_cache in (False, True):
            got = shared_fn(model, idx, max_new_tokens=new_tokens, context_size=context_size, use_cache=use_cache)
            assert torch.equal(expected, got), f"different tokens (use_cache={use_cache}, prompt {prompt_len})"
