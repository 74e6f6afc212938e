"""The small layers inside a transformer block: layer normalization, GELU, feed-forward (Chapter 4).

Usage:
    from shared import LayerNorm, GELU, FeedForward, get_config
    norm = LayerNorm(emb_dim=768)       # (..., 768) -> (..., 768), each vector: mean 0, variance 1
    act = GELU()                        # smooth ReLU-like activation, elementwise
    ff = FeedForward(get_config("small-cpu"))  # (b, num_tokens, 256) -> (b, num_tokens, 256)
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class LayerNorm(nn.Module):
    """Normalize each vector over its last dimension to mean 0 and variance 1, then scale and shift.

    The variance is the biased one (divide by n, not n - 1), as GPT-2 and `torch.nn.LayerNorm` use;
    `eps` keeps the division finite for a constant vector. `scale` starts at 1 and `shift` at 0, and
    both are trained. `forward` computes exactly that with PyTorch's fused kernel (`F.layer_norm`):

        mean = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return scale * (x - mean) / sqrt(var + eps) + shift

    one pass over the data instead of five; tests/test_ch04.py proves the two agree.
    """

    def __init__(self, emb_dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(emb_dim))
        self.shift = nn.Parameter(torch.zeros(emb_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.scale.shape, self.scale, self.shift, self.eps)  # (..., emb_dim)


class GELU(nn.Module):
    """Gaussian error linear unit, in the tanh approximation GPT-2 was trained with.

    GELU(x) = x * Phi(x), where Phi is the standard normal CDF; the approximation is
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))),
    which `F.gelu(x, approximate="tanh")` computes in one fused kernel (tests/test_ch04.py proves they agree).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate="tanh")


class FeedForward(nn.Module):
    """Two linear layers with a GELU between them: emb_dim -> 4 * emb_dim -> emb_dim, per token.

    `layers[0]` and `layers[2]` are the two `nn.Linear` layers (names the weight loaders rely on).
    """

    def __init__(self, cfg: dict[str, Any]):
        super().__init__()
        emb_dim = cfg["emb_dim"]
        self.layers = nn.Sequential(
            nn.Linear(emb_dim, 4 * emb_dim),  # expand: (b, num_tokens, 4 * emb_dim)
            GELU(),
            nn.Linear(4 * emb_dim, emb_dim),  # project back: (b, num_tokens, emb_dim)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)
