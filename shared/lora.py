"""LoRA, low-rank adaptation: train two thin matrices next to each frozen linear layer (Chapter 6, appendix E).

Usage:
    from shared.lora import LinearWithLoRA, LoRALayer, merge_lora, replace_linear_with_lora
    model.requires_grad_(False)                        # the pretrained (classifier) weights stay as they are
    replace_linear_with_lora(model, rank=16, alpha=16) # every nn.Linear becomes a LinearWithLoRA
    ...train: only the A and B matrices have requires_grad...
    merge_lora(model)                                  # back to plain nn.Linear layers, W + alpha * (A @ B).T

A linear layer computes x @ W.T + b with W of shape (out_dim, in_dim). LoRA adds alpha * (x @ A @ B) with
A (in_dim, rank) and B (rank, out_dim): rank * (in_dim + out_dim) new parameters instead of in_dim * out_dim.
B starts at zero, so at initialisation the model computes exactly what it computed before; A starts with
PyTorch's default linear initialisation (Kaiming uniform), so the gradient of B is not zero. As in the book,
the update is scaled by alpha itself (not alpha / rank). Merging folds the update into W once training is
done: the same outputs (up to float rounding) without the extra matrix products.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class LoRALayer(nn.Module):
    """The low-rank update alone: x (..., in_dim) -> alpha * x @ A @ B (..., out_dim); zero at initialisation."""

    def __init__(self, in_dim: int, out_dim: int, rank: int, alpha: float):
        super().__init__()
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer (typically 4 to 64), got {rank!r}")
        self.A = nn.Parameter(torch.empty(in_dim, rank))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))  # nn.Linear's own default initialisation
        self.B = nn.Parameter(torch.zeros(rank, out_dim))
        self.alpha = alpha

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.alpha * (x @ self.A @ self.B)  # (..., in_dim) -> (..., rank) -> (..., out_dim)

    def delta_weight(self) -> torch.Tensor:
        """The update as a weight matrix in nn.Linear's layout: (out_dim, in_dim)."""
        return self.alpha * (self.A @ self.B).T


class LinearWithLoRA(nn.Module):
    """A linear layer plus its LoRA update: linear(x) + lora(x)."""

    def __init__(self, linear: nn.Linear, rank: int, alpha: float):
        super().__init__()
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"LinearWithLoRA wraps an nn.Linear, got {type(linear).__name__}")
        self.linear = linear
        self.lora = LoRALayer(linear.in_features, linear.out_features, rank, alpha).to(
            linear.weight.device, linear.weight.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) + self.lora(x)  # (..., out_dim)

    def merged(self) -> nn.Linear:
        """A plain nn.Linear with weight W + alpha * (A @ B).T and the same bias (frozen like the original)."""
        linear = self.linear
        merged = nn.Linear(linear.in_features, linear.out_features, bias=linear.bias is not None,
                           device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            merged.weight.copy_(linear.weight + self.lora.delta_weight())
            if linear.bias is not None:
                merged.bias.copy_(linear.bias)
        merged.requires_grad_(linear.weight.requires_grad)
        return merged


def replace_linear_with_lora(model: nn.Module, rank: int, alpha: float) -> nn.Module:
    """Wrap every nn.Linear inside `model` (in place, recursively) in a LinearWithLoRA; returns `model`.

    Freeze the model first (`model.requires_grad_(False)`): the new A and B matrices are then its only
    trainable parameters. Layers that are already LinearWithLoRA are left alone.
    """
    for name, module in model.named_children():
        if isinstance(module, nn.Linear):
            setattr(model, name, LinearWithLoRA(module, rank, alpha))
        elif not isinstance(module, LinearWithLoRA):
            replace_linear_with_lora(module, rank, alpha)
    return model


def merge_lora(model: nn.Module) -> nn.Module:
    """Replace every LinearWithLoRA inside `model` (in place) by its merged nn.Linear; returns `model`."""
    for name, module in model.named_children():
        if isinstance(module, LinearWithLoRA):
            setattr(model, name, module.merged())
        else:
            merge_lora(module)
    return model
