"""Chapter 3 same-as cases: the attention classes a notebook defines inline behave like `shared`'s.

Each case is the learner-facing self-check (`shared.selfcheck`): the notebook's class is built with the
book's arguments, given the shared class's weights and compared on seeded inputs in eval mode and, with
the same seed, in training mode with dropout. The cases add what only the tests ask for: a notebook class
also rejects an input longer than its context, and a d_out that num_heads does not divide, with a
ValueError, as the shared classes do.
"""

from __future__ import annotations

import pytest
import torch
from equivalence import same_as_case, same_as_self_check, self_check

same_as_self_check("SelfAttention_v1", "SelfAttention_v2", "MultiHeadAttentionWrapper")


@same_as_case("CausalAttention")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "CausalAttention")
    for cls in (notebook_cls, shared_cls):
        with pytest.raises(ValueError):
            cls(d_in=5, d_out=4, context_length=8, dropout=0.3)(torch.randn(1, 9, 5))


@same_as_case("MultiHeadAttention")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "MultiHeadAttention")
    for cls in (notebook_cls, shared_cls):
        with pytest.raises(ValueError):
            cls(d_in=6, d_out=8, context_length=10, dropout=0.0, num_heads=4)(torch.randn(1, 11, 6))
        with pytest.raises(ValueError, match="divisible"):
            cls(d_in=6, d_out=8, context_length=10, dropout=0.0, num_heads=3)
