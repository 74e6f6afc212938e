"""Greedy text generation: repeatedly append the most likely next token (Chapter 4).

Usage:
    from shared import GPTModel, generate_text_simple, get_config, get_tokenizer
    tokenizer = get_tokenizer()
    model = GPTModel(get_config("small-cpu")).eval()
    idx = torch.tensor([tokenizer.encode("The lighthouse")])           # (1, num_tokens)
    out = generate_text_simple(model, idx, max_new_tokens=20, context_size=256, use_cache=True)
    print(tokenizer.decode(out[0].tolist()))

Chapter 5 adds sampling (temperature, top-k); this function always takes the argmax, so the same
model and prompt give the same tokens every time.
"""

from __future__ import annotations

import torch
from torch import nn


def _next_token(logits: torch.Tensor) -> torch.Tensor:
    return torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)  # (b, 1): the top id at the last position


@torch.no_grad()
def generate_text_simple(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                         use_cache: bool = False) -> torch.Tensor:
    """Append `max_new_tokens` greedy tokens to `idx` (batch, num_tokens) and return the whole sequence.

    The model only ever sees the last `context_size` tokens: a longer prompt is cropped to its last
    `context_size` tokens for the forward pass (the returned tensor still starts with the full prompt),
    and once the sequence is longer than `context_size` the window slides forward one token per step.

    `use_cache=True` (needs a model with `reset_kv_cache()` and `forward(ids, use_cache=...)`, like
    `GPTModel`) gives exactly the tokens of `use_cache=False`, faster: the prompt window is run once
    (prefill), then each step feeds only the newest token and reuses the cached keys and values.
    The cache is only valid while the window still starts at the same token: with learned absolute
    position embeddings every cached key and value depends on its token's position, and sliding the
    window moves every token to a new position. So once the window is full, each further step resets
    the cache and re-runs the last `context_size` tokens, costing what the uncached step costs; the
    speed-up applies until then. The cache is emptied again before returning.

    Runs without gradients, on the device of the model's parameters; the model's train/eval mode is
    left as it is (call `model.eval()` first to switch dropout off).
    """
    if max_new_tokens < 0 or context_size <= 0:
        raise ValueError(f"need max_new_tokens >= 0 and context_size > 0, got {max_new_tokens} and {context_size}")
    if use_cache and not hasattr(model, "reset_kv_cache"):
        raise TypeError(f"{type(model).__name__} has no KV cache (reset_kv_cache); use use_cache=False")
    idx = idx.to(next(model.parameters()).device)
    if not use_cache:
        for _ in range(max_new_tokens):
            logits = model(idx[:, -context_size:])  # (b, min(num_tokens, context_size), vocab_size)
            idx = torch.cat([idx, _next_token(logits)], dim=1)  # (b, num_tokens + 1)
        return idx

    try:
        model.reset_kv_cache()
        cached = 0  # how many tokens of the current window the cache holds
        for _ in range(max_new_tokens):
            if cached == 0 or cached >= context_size:  # first step, or the window had to slide
                model.reset_kv_cache()
                window = idx[:, -context_size:]
                logits = model(window, use_cache=True)  # prefill: (b, window length, vocab_size)
                cached = window.shape[1]
            else:
                logits = model(idx[:, -1:], use_cache=True)  # only the newest token: (b, 1, vocab_size)
                cached += 1
            idx = torch.cat([idx, _next_token(logits)], dim=1)
    finally:
        model.reset_kv_cache()
    return idx
