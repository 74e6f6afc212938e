"""The GPT model: transformer blocks stacked between embeddings and an output head (Chapter 4).

Usage:
    from shared import GPTModel, get_config
    model = GPTModel(get_config("small-cpu"))
    logits = model(token_ids)   # (batch, num_tokens) -> (batch, num_tokens, vocab_size)

Data flow, for a batch of token ids of shape (b, num_tokens):

    tok_emb(ids) + pos_emb(positions)   (b, num_tokens, emb_dim)
    drop_emb
    trf_blocks: n_layers x TransformerBlock
    final_norm
    out_head                            (b, num_tokens, vocab_size): one score per vocabulary entry

`GPTModel(cfg, use_sdpa=True)` uses PyTorch's fused attention (same result, faster); `use_sdpa=False`
runs the explicit attention written out in Chapter 3. Weights start with PyTorch's default
initialisation (as in the book), not GPT-2's. With `cfg["tie_weights"] = True` the output head reuses
the token-embedding matrix, as GPT-2 does.

KV cache: `model(ids, kv_cache=cache)` with a `shared.KVCache` stores every block's keys and values, so
the next call can pass only the new token(s); their positions continue after each row's cached tokens.
`generate_text_simple(..., use_cache=True)` and `generate(...)` do all of this for you.

Token ids are checked: an id outside [0, vocab_size) (typically GPT-2's tokenizer with a model built for
the 2,048-token embedded one) raises one ValueError naming the mismatch instead of an index error.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from shared.attention import MultiHeadAttention
from shared.config import validate_config
from shared.kv_cache import KVCache, LayerKV
from shared.layers import FeedForward, LayerNorm


class TransformerBlock(nn.Module):
    """Pre-norm block: x + attention(norm1(x)), then x + feed_forward(norm2(x)), dropout before each sum."""

    def __init__(self, cfg: dict[str, Any], use_sdpa: bool = True):
        super().__init__()
        cfg = validate_config(cfg)
        self.att = MultiHeadAttention(
            d_in=cfg["emb_dim"], d_out=cfg["emb_dim"], context_length=cfg["context_length"],
            dropout=cfg["drop_rate_attn"], num_heads=cfg["n_heads"], qkv_bias=cfg["qkv_bias"],
            use_sdpa=use_sdpa,
        )
        self.ff = FeedForward(cfg)
        self.norm1 = LayerNorm(cfg["emb_dim"])
        self.norm2 = LayerNorm(cfg["emb_dim"])
        self.drop_shortcut = nn.Dropout(cfg["drop_rate_shortcut"])

    def forward(self, x: torch.Tensor, kv_cache: LayerKV | None = None) -> torch.Tensor:
        # x: (b, num_tokens, emb_dim); the shape never changes inside the block
        x = x + self.drop_shortcut(self.att(self.norm1(x), kv_cache=kv_cache))
        x = x + self.drop_shortcut(self.ff(self.norm2(x)))
        return x


class GPTModel(nn.Module):
    """A GPT-2-style language model: token ids in, next-token scores (logits) out."""

    def __init__(self, cfg: dict[str, Any], use_sdpa: bool = True):
        super().__init__()
        cfg = validate_config(cfg)
        self.cfg = cfg
        self.context_length = cfg["context_length"]
        self.vocab_size = cfg["vocab_size"]
        # optional extra rows that no token uses (e.g. 50304 = 786 x 64 for GPT-2): faster matmuls on a GPU
        table_rows = cfg.get("padded_vocab_size", cfg["vocab_size"])
        self.tok_emb = nn.Embedding(table_rows, cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate_emb"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg, use_sdpa) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], table_rows, bias=False)
        if cfg["tie_weights"]:
            self.out_head.weight = self.tok_emb.weight  # one (vocab_size, emb_dim) matrix, used twice

    def forward(self, in_idx: torch.Tensor, kv_cache: KVCache | None = None,
                last_token_only: bool = False) -> torch.Tensor:
        """Logits (b, num_tokens, vocab_size) for token ids (b, num_tokens); with `last_token_only`, (b, 1, vocab_size)."""
        self._check_ids(in_idx, kv_cache)
        num_tokens = in_idx.shape[1]
        if kv_cache is None:
            positions = torch.arange(num_tokens, device=in_idx.device)  # (num_tokens,)
        else:
            positions = kv_cache.begin(num_tokens)  # (b, num_tokens): each row continues after its cached tokens
        x = self.tok_emb(in_idx) + self.pos_emb(positions)  # (b, num_tokens, emb_dim)
        x = self.drop_emb(x)
        for i, block in enumerate(self.trf_blocks):
            x = block(x, kv_cache=None if kv_cache is None else kv_cache.layer(i))  # (b, num_tokens, emb_dim)
        if kv_cache is not None:
            kv_cache.end()
        if last_token_only:
            x = x[:, -1:]  # (b, 1, emb_dim): generation only needs the next token's scores
        x = self.final_norm(x)
        logits = self.out_head(x)  # (b, num_tokens, vocab_size), or padded_vocab_size columns
        return logits[..., :self.vocab_size] if logits.shape[-1] != self.vocab_size else logits

    def _check_ids(self, in_idx: torch.Tensor, kv_cache: KVCache | None) -> None:
        if not isinstance(in_idx, torch.Tensor) or in_idx.dim() != 2:
            shape = tuple(in_idx.shape) if isinstance(in_idx, torch.Tensor) else type(in_idx).__name__
            raise ValueError(f"expected token ids as a tensor of shape (batch, num_tokens), got {shape}; for a single "
                             f"sequence use torch.tensor(ids).unsqueeze(0)")
        if in_idx.dtype.is_floating_point or in_idx.dtype == torch.bool:
            raise ValueError(f"token ids must be integers (torch.long), got {in_idx.dtype}")
        num_tokens = in_idx.shape[1]
        if kv_cache is not None:
            if kv_cache.max_len > self.context_length:
                raise ValueError(f"the KV cache has room for {kv_cache.max_len} tokens but the model only has "
                                 f"{self.context_length} positions; build it with KVCache.for_model(model, ...)")
        elif num_tokens > self.context_length:
            raise ValueError(
                f"got {num_tokens} tokens, but the model supports at most context_length={self.context_length}; "
                f"crop the input to its last {self.context_length} tokens (generate_text_simple does this for you)"
            )
        vocab_size = self.vocab_size
        if torch.compiler.is_compiling():
            return  # a compiled graph cannot stop on a value; the eager run of the same code checks it
        if in_idx.numel() and (in_idx.min() < 0 or in_idx.max() >= vocab_size):
            bad = int(in_idx.max()) if in_idx.max() >= vocab_size else int(in_idx.min())
            raise ValueError(
                f"token id {bad} is outside this model's vocabulary [0, {vocab_size}): the ids come from a tokenizer "
                f"that does not match the model (for example GPT-2's 50,257-token BPE with a model built for the "
                f"2,048-token embedded tokenizer). Encode with the tokenizer the model was built for, or build the "
                f"model with vocab_size=tokenizer.n_vocab"
            )
