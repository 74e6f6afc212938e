"""Greedy text generation: repeatedly append the most likely next token (Chapter 4).

Usage:
    from shared import GPTModel, generate_text_simple, get_config, get_tokenizer
    tokenizer = get_tokenizer()
    model = GPTModel(get_config("small-cpu")).eval()
    idx = torch.tensor([tokenizer.encode("The lighthouse")])           # (1, num_tokens)
    out = generate_text_simple(model, idx, max_new_tokens=20, context_size=256, use_cache=True)
    print(tokenizer.decode(out[0].tolist()))

Chapter 5 adds sampling (temperature, top-k, top-p) in `shared.decoding.generate`, on the same loop
(`next_tokens`); this function always takes the argmax, so the same model and prompt give the same tokens.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator

import torch
from torch import nn

from shared.kv_cache import KVCache


def greedy(logits: torch.Tensor) -> torch.Tensor:
    """The id with the highest score in each row: logits (b, vocab_size) -> ids (b, 1)."""
    return torch.argmax(logits, dim=-1, keepdim=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain model inside a DistributedDataParallel or torch.compile wrapper."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def model_context_length(model: nn.Module) -> int | None:
    """The longest input `model` accepts, if it says (a GPTModel's cfg or position-embedding table), else None."""
    model = unwrap(model)
    cfg = getattr(model, "cfg", None)
    if isinstance(cfg, dict) and "context_length" in cfg:
        return cfg["context_length"]
    pos_emb = getattr(model, "pos_emb", None)
    return pos_emb.num_embeddings if isinstance(pos_emb, nn.Embedding) else None


def check_prompt(model: nn.Module, idx: object, max_new_tokens: int, context_size: int) -> torch.Tensor:
    """Validate the arguments every generation function shares; return `idx` on the model's device."""
    if not isinstance(idx, torch.Tensor) or idx.dim() != 2:
        got = f"a {type(idx).__name__}" if not isinstance(idx, torch.Tensor) else f"a tensor of shape {tuple(idx.shape)}"
        raise ValueError(f"the prompt must be a tensor of token ids of shape (batch, num_tokens), got {got}; for one "
                         f"text use torch.tensor([tokenizer.encode(text)]) (note the brackets: a batch of one)")
    if idx.dtype.is_floating_point or idx.shape[1] == 0:
        raise ValueError(f"the prompt must hold at least one integer token id per row, got dtype {idx.dtype} and "
                         f"shape {tuple(idx.shape)}")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be an integer >= 0, got {max_new_tokens!r}")
    if not isinstance(context_size, int) or context_size <= 0:
        raise ValueError(f"context_size must be a positive integer, got {context_size!r}")
    limit = model_context_length(model)
    if limit is not None and context_size > limit:
        raise ValueError(f"context_size={context_size} is larger than the model's context_length={limit}: the model "
                         f"has no position embeddings beyond that; pass context_size={limit} (or smaller)")
    return idx.to(next(model.parameters()).device)


def next_tokens(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                choose: Callable[[torch.Tensor], torch.Tensor] = greedy,
                use_cache: bool = True) -> Iterator[torch.Tensor]:
    """Yield the next token ids, shape (b, 1), one step at a time; `choose` turns logits (b, vocab) into ids.

    The model only ever sees the last `context_size` tokens. With `use_cache` the window is run once
    (prefill) and each further step feeds only the newest token, reusing the cached keys and values. The
    cache is only valid while the window starts at the same token: with learned absolute position
    embeddings every cached key depends on its token's position, and sliding the window moves every
    token. So once the window is full, each step prefills the last `context_size` tokens again (costing
    what an uncached step costs).
    """
    if not use_cache:
        for _ in range(max_new_tokens):
            logits = model(idx[:, -context_size:])  # (b, min(num_tokens, context_size), vocab_size)
            next_id = choose(logits[:, -1])  # (b, 1)
            yield next_id
            idx = torch.cat([idx, next_id], dim=1)
        return

    plain = unwrap(model)
    if "kv_cache" not in inspect.signature(plain.forward).parameters:
        raise TypeError(f"{type(plain).__name__}.forward takes no kv_cache argument; use use_cache=False")
    cache = KVCache.for_model(plain, batch_size=idx.shape[0], max_len=min(context_size, plain.context_length))
    cached = 0  # how many tokens of the current window the cache holds
    for _ in range(max_new_tokens):
        if cached == 0 or cached >= context_size:  # first step, or the window had to slide
            cache.reset()
            window = idx[:, -context_size:]
            logits = model(window, kv_cache=cache, last_token_only=True)  # prefill: (b, 1, vocab_size)
            cached = window.shape[1]
        else:
            logits = model(idx[:, -1:], kv_cache=cache, last_token_only=True)  # only the newest token
            cached += 1
        next_id = choose(logits[:, -1])
        yield next_id
        idx = torch.cat([idx, next_id], dim=1)


@torch.no_grad()
def generate_text_simple(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                         use_cache: bool = False) -> torch.Tensor:
    """Append `max_new_tokens` greedy tokens to `idx` (batch, num_tokens) and return the whole sequence.

    A prompt longer than `context_size` is cropped to its last `context_size` tokens for the forward pass
    (the returned tensor still starts with the full prompt), and once the sequence is longer than
    `context_size` the window slides forward one token per step.

    `use_cache=True` (a model whose forward takes `kv_cache`, like `GPTModel`) gives exactly the tokens
    of `use_cache=False`, faster (see `next_tokens`). Runs without gradients, on the device of the
    model's parameters; the model's train/eval mode is left as it is (call `model.eval()` first).
    """
    idx = check_prompt(model, idx, max_new_tokens, context_size)
    for next_id in next_tokens(model, idx, max_new_tokens, context_size, greedy, use_cache):
        idx = torch.cat([idx, next_id], dim=1)  # (b, num_tokens + 1)
    return idx
