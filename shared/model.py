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

KV cache: `model(ids, use_cache=True)` stores every block's keys and values, so the next call can pass
only the new token(s); their positions continue after the cached tokens. `reset_kv_cache()` starts over.
`generate_text_simple(..., use_cache=True)` does all of this for you.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from shared.attention import MultiHeadAttention
from shared.config import validate_config
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

    def forward(self, x: torch.Tensor, use_cache: bool = False) -> torch.Tensor:
        # x: (b, num_tokens, emb_dim); the shape never changes inside the block
        x = x + self.drop_shortcut(self.att(self.norm1(x), use_cache=use_cache))
        x = x + self.drop_shortcut(self.ff(self.norm2(x)))
        return x


class GPTModel(nn.Module):
    """A GPT-2-style language model: token ids in, next-token scores (logits) out."""

    def __init__(self, cfg: dict[str, Any], use_sdpa: bool = True):
        super().__init__()
        cfg = validate_config(cfg)
        self.cfg = cfg
        self.context_length = cfg["context_length"]
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["emb_dim"])
        self.pos_emb = nn.Embedding(cfg["context_length"], cfg["emb_dim"])
        self.drop_emb = nn.Dropout(cfg["drop_rate_emb"])
        self.trf_blocks = nn.Sequential(*[TransformerBlock(cfg, use_sdpa) for _ in range(cfg["n_layers"])])
        self.final_norm = LayerNorm(cfg["emb_dim"])
        self.out_head = nn.Linear(cfg["emb_dim"], cfg["vocab_size"], bias=False)
        if cfg["tie_weights"]:
            self.out_head.weight = self.tok_emb.weight  # one (vocab_size, emb_dim) matrix, used twice

    @property
    def cache_length(self) -> int:
        """How many tokens the KV cache holds (0 when it is empty)."""
        return self.trf_blocks[0].att.cache_length

    def reset_kv_cache(self) -> None:
        """Empty every block's key/value cache (call before a new sequence)."""
        for block in self.trf_blocks:
            block.att.reset_cache()

    def forward(self, in_idx: torch.Tensor, use_cache: bool = False) -> torch.Tensor:
        if in_idx.dim() != 2:
            raise ValueError(f"expected token ids of shape (batch, num_tokens), got {tuple(in_idx.shape)}; "
                             f"for a single sequence use ids.unsqueeze(0)")
        batch_size, num_tokens = in_idx.shape
        past = self.cache_length if use_cache else 0
        if past + num_tokens > self.context_length:
            cached = f" plus {past} cached tokens" if past else ""
            raise ValueError(
                f"got {num_tokens} tokens{cached}, but the model supports at most context_length="
                f"{self.context_length}; crop the input to its last {self.context_length - past} tokens "
                f"(generate_text_simple does this for you)" + (" or call reset_kv_cache()" if past else "")
            )
        positions = torch.arange(past, past + num_tokens, device=in_idx.device)  # (num_tokens,)
        x = self.tok_emb(in_idx) + self.pos_emb(positions)  # (b, num_tokens, emb_dim)
        x = self.drop_emb(x)
        for block in self.trf_blocks:
            x = block(x, use_cache=use_cache)  # (b, num_tokens, emb_dim)
        x = self.final_norm(x)
        return self.out_head(x)  # (b, num_tokens, vocab_size)
