"""Chapter 4 same-as cases: the layers, model and generation function ch04.ipynb defines inline behave like
`shared`'s.

Each case is the learner-facing self-check (`shared.selfcheck`): the notebook's version is built from a
small configuration, given the same weights and compared on seeded inputs in eval mode and, with the same
seed, in training mode with dropout (explicit attention, no cache). The cases add what only the tests ask
for: the shared defaults the notebook versions do not have, fused SDPA attention and the KV cache, give
the notebook versions' results too.
"""

from __future__ import annotations

import torch
from equivalence import copy_weights, same_as_case, same_as_self_check, self_check

CFG = {"vocab_size": 50, "context_length": 10, "emb_dim": 12, "n_heads": 3, "n_layers": 2,
       "drop_rate": 0.2, "qkv_bias": True}

same_as_self_check("LayerNorm", "GELU", "FeedForward")


def _randomize(module: torch.nn.Module) -> torch.nn.Module:
    """Move every parameter away from its initial value (LayerNorm starts at scale 1, shift 0)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module


def _assert_same_with_sdpa(notebook_module, shared_module, x) -> None:
    """Eval mode only: SDPA draws its dropout masks differently from the explicit attention."""
    copy_weights(notebook_module, shared_module)
    with torch.no_grad():
        torch.testing.assert_close(notebook_module.eval()(x), shared_module.eval()(x), rtol=1e-5, atol=1e-5)


@same_as_case("TransformerBlock")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "TransformerBlock")
    torch.manual_seed(0)
    _assert_same_with_sdpa(_randomize(notebook_cls(CFG)), shared_cls(CFG, use_sdpa=True),
                           torch.randn(2, CFG["context_length"], CFG["emb_dim"]))


@same_as_case("GPTModel")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "GPTModel")
    torch.manual_seed(0)
    _assert_same_with_sdpa(_randomize(notebook_cls(CFG)), shared_cls(CFG, use_sdpa=True),
                           torch.randint(0, CFG["vocab_size"], (3, CFG["context_length"])))


@same_as_case("generate_text_simple")
def _(notebook_fn, shared_fn):
    import shared

    self_check(notebook_fn, "generate_text_simple")
    torch.manual_seed(0)
    model = _randomize(shared.GPTModel(CFG)).eval()
    for prompt_len, new_tokens, context_size in ((3, 4, 10), (4, 15, 10), (14, 5, 10), (5, 8, 4)):
        idx = torch.randint(0, CFG["vocab_size"], (2, prompt_len))
        expected = notebook_fn(model, idx, max_new_tokens=new_tokens, context_size=context_size)
        got = shared_fn(model, idx, max_new_tokens=new_tokens, context_size=context_size, use_cache=True)
        assert torch.equal(expected, got), f"different tokens with the KV cache (prompt {prompt_len})"
