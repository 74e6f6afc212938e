"""Ready-made tokenizers as `tiktoken.Encoding` objects (Chapter 2).

Usage:
    from shared import get_tokenizer
    tokenizer = get_tokenizer()        # "embedded": the project's own BPE, always available offline
    tokenizer = get_tokenizer("gpt2")  # GPT-2's BPE (a book resource: downloaded once, then cached)
    ids = tokenizer.encode("Every light needs a keeper.<|endoftext|>", allowed_special={"<|endoftext|>"})

Both are byte-level BPE tokenizers built by `shared.bpe.BPETokenizer` and run by tiktoken's fast
encoder. The embedded one (2,048 tokens, `<|endoftext|>` = 2047) was trained on the project's corpus;
retrain it with `python -m shared.embedded_bpe --retrain`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import tiktoken

from shared.bpe import BPETokenizer
from shared.resources import resolve

EMBEDDED_BPE = Path(__file__).parent / "assets" / "embedded-bpe"  # .tiktoken + .json
TOKENIZER_NAMES = ("embedded", "gpt2")


@cache
def get_tokenizer(name: str = "embedded") -> tiktoken.Encoding:
    """The tokenizer called `name`: "embedded" (offline, the default) or "gpt2" (book resource)."""
    if name == "embedded":
        return BPETokenizer.load(EMBEDDED_BPE).to_tiktoken("embedded")
    if name == "gpt2":
        bpe = BPETokenizer.from_gpt2(resolve("gpt2-encoder-json"), resolve("gpt2-vocab-bpe"))
        return bpe.to_tiktoken("gpt2")
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {TOKENIZER_NAMES}")
