"""The key/value cache for fast generation: preallocated, one length per row, passed to the model (Chapter 4).

Usage:
    from shared import GPTModel, KVCache, get_config
    model = GPTModel(get_config("small-cpu")).eval()
    cache = KVCache.for_model(model, batch_size=1)
    logits = model(prompt_ids, kv_cache=cache)     # prefill: the prompt's keys and values are stored
    logits = model(next_id, kv_cache=cache)        # one new token: its position follows the cached ones
    cache.reset()                                  # start a new sequence with the same buffers

Generating token n + 1 needs, in every attention layer, the keys and values of all n tokens before it. They
do not change when a token is appended (attention is causal), so the cache stores them instead of
recomputing them: `keys` and `values` are two tensors of shape
(n_layers, batch_size, n_heads, max_len, head_dim), allocated once and filled in place.

Every row has its own length (`lengths`, a tensor of shape (batch_size,)), so prompts of different lengths
can be generated in one batch: pad them on the right, run them through the model together, then call
`set_lengths(prompt_lengths)`. A row's new token is written at its own position and attends to key slots
0 .. that position only; the padding slots behind a row's length are never attended to and are overwritten
by its next tokens, so every row gets the result it would get alone.

Two ways to attend:
- eager (default): attend over the slots filled so far (`0 .. max(lengths) + new tokens`); shapes grow
  by one each step; no mask at all while every row has the same length.
- `static=True`: always attend over all `max_len` slots with a mask; every step has the same shapes and
  the cache bookkeeping is pure tensor operations, which `torch.compile(mode="reduce-overhead")` (CUDA
  graphs) needs. Slots not yet filled hold zeros and are masked out.
"""

from __future__ import annotations

import torch
from torch import nn


class KVCache:
    """Preallocated keys and values for every layer of a model, with a length per batch row."""

    def __init__(self, n_layers: int, batch_size: int, n_heads: int, head_dim: int, max_len: int,
                 device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32, static: bool = False):
        if min(n_layers, batch_size, n_heads, head_dim, max_len) <= 0:
            raise ValueError(f"every size of a KVCache must be positive, got n_layers={n_layers}, batch_size="
                             f"{batch_size}, n_heads={n_heads}, head_dim={head_dim}, max_len={max_len}")
        shape = (n_layers, batch_size, n_heads, max_len, head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.lengths = torch.zeros(batch_size, dtype=torch.long, device=device)  # cached tokens per row
        self.max_len = max_len
        self.static = static
        self._host_lengths = [0] * batch_size  # a copy on the host: no GPU sync to read it (eager mode)
        self._step: _Step | None = None

    @classmethod
    def for_model(cls, model: nn.Module, batch_size: int, max_len: int | None = None,
                  static: bool = False) -> KVCache:
        """A cache shaped for `model` (a GPTModel), on its device and in its dtype; `max_len` defaults to its context."""
        cfg = model.cfg
        param = next(model.parameters())
        return cls(cfg["n_layers"], batch_size, cfg["n_heads"], cfg["emb_dim"] // cfg["n_heads"],
                   max_len or cfg["context_length"], param.device, param.dtype, static)

    @property
    def batch_size(self) -> int:
        return self.keys.shape[1]

    @property
    def n_layers(self) -> int:
        return self.keys.shape[0]

    def max_length(self) -> int:
        """The longest row, in tokens (eager mode reads it without touching the device)."""
        return int(self.lengths.max()) if self.static else max(self._host_lengths)

    def reset(self) -> None:
        """Forget every cached token (the buffers stay allocated)."""
        self.set_lengths([0] * self.batch_size)
        if self.static:
            self.keys.zero_()
            self.values.zero_()

    def set_lengths(self, lengths: list[int] | torch.Tensor) -> None:
        """Declare how many tokens of each row are real (after a right-padded prefill of prompts)."""
        values = [int(n) for n in lengths]
        if len(values) != self.batch_size or not all(0 <= n <= self.max_len for n in values):
            raise ValueError(f"need {self.batch_size} lengths between 0 and {self.max_len}, got {values}")
        self._host_lengths = values
        self.lengths.copy_(torch.tensor(values))  # in place, for the same reason as in end()

    def begin(self, num_tokens: int) -> torch.Tensor:
        """Start a forward pass of `num_tokens` new tokens per row; returns their positions (batch, num_tokens)."""
        if not self.static and max(self._host_lengths) + num_tokens > self.max_len:
            raise ValueError(f"the KV cache holds {max(self._host_lengths)} tokens and has room for {self.max_len}; "
                             f"{num_tokens} more do not fit: reset() it, or crop the text to the last "
                             f"{self.max_len} tokens and prefill again")
        positions = self.lengths[:, None] + torch.arange(num_tokens, device=self.lengths.device)  # (b, num_tokens)
        self._step = _Step(self, positions, num_tokens)
        return positions

    def layer(self, index: int) -> LayerKV:
        """The view of layer `index` that its attention module reads and writes during this forward pass."""
        if self._step is None:
            raise RuntimeError("call KVCache.begin(num_tokens) before the layers use the cache (GPTModel does this)")
        return LayerKV(self, index, self._step)

    def end(self) -> None:
        """Finish the forward pass: every row is now `num_tokens` longer."""
        step, self._step = self._step, None
        self.lengths += step.num_tokens  # in place: a compiled (CUDA-graph) step keeps using the same tensor
        if not self.static:
            self._host_lengths = [n + step.num_tokens for n in self._host_lengths]


class _Step:
    """What all layers share during one forward pass: positions, which slots to attend to, and the mask."""

    def __init__(self, cache: KVCache, positions: torch.Tensor, num_tokens: int):
        self.positions = positions  # (b, num_tokens)
        host = cache._host_lengths
        self.uniform = not cache.static and len(set(host)) == 1  # every row has the same length
        self.past = host[0] if self.uniform else None
        self.span = cache.max_len if cache.static else max(host) + num_tokens  # key slots to attend over
        self.num_tokens = num_tokens
        self._mask: torch.Tensor | None = None
        self._cache = cache

    def mask(self) -> torch.Tensor | None:
        """Boolean (b, 1, num_tokens, span), True where a query may attend to a key slot; None: no mask needed."""
        if self.uniform and self.num_tokens == 1:
            return None  # one new token per row, same length everywhere: it may see every filled slot
        if self._mask is None:
            slots = torch.arange(self.span, device=self.positions.device)  # (span,)
            self._mask = (slots[None, None, :] <= self.positions[:, :, None])[:, None]  # (b, 1, num_tokens, span)
        return self._mask


class LayerKV:
    """One layer's slice of the cache for the current forward pass (see `MultiHeadAttention.forward`)."""

    def __init__(self, cache: KVCache, index: int, step: _Step):
        self.cache, self.index, self.step = cache, index, step

    def update(self, keys: torch.Tensor, values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store the new keys/values (b, n_heads, num_tokens, head_dim); return all to attend over (.., span, ..)."""
        cache_k, cache_v = self.cache.keys[self.index], self.cache.values[self.index]  # (b, n_heads, max_len, hd)
        step = self.step
        if step.uniform:
            cache_k[:, :, step.past:step.past + step.num_tokens] = keys
            cache_v[:, :, step.past:step.past + step.num_tokens] = values
        else:  # each row writes at its own positions
            rows = torch.arange(keys.shape[0], device=keys.device)[:, None]  # (b, 1)
            cache_k[rows, :, step.positions] = keys.transpose(1, 2)  # indexed as (b, num_tokens, n_heads, hd)
            cache_v[rows, :, step.positions] = values.transpose(1, 2)
        return cache_k[:, :, :step.span], cache_v[:, :, :step.span]

    def mask(self) -> torch.Tensor | None:
        return self.step.mask()

    @property
    def is_prefill(self) -> bool:
        """True for a forward pass that starts an empty cache with equal-length rows (plain causal attention)."""
        return self.step.uniform and self.step.past == 0
