"""Ready-made tokenizers as `tiktoken.Encoding` objects (Chapter 2).

Usage:
    from shared import get_tokenizer
    tokenizer = get_tokenizer()        # the default: "embedded", or "gpt2" in book mode (see below)
    tokenizer = get_tokenizer("gpt2")  # GPT-2's BPE (a book resource: downloaded once, then cached)
    ids = tokenizer.encode("Every light needs a keeper.<|endoftext|>", allowed_special={"<|endoftext|>"})

The default is read at every call: the project's own "embedded" tokenizer, or GPT-2's in book mode
(`LLM_BOOK_RESOURCES=1`, or `shared.resources.use_book_resources()` in a notebook), so that code typed from
the book gives the book's numbers.

Both are byte-level BPE tokenizers built by `shared.bpe.BPETokenizer` and run by tiktoken's fast
encoder. The embedded one (2,048 tokens, `<|endoftext|>` = 2047) was trained on the project's corpus;
retrain it with `python -m shared.embedded_bpe --retrain`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import tiktoken

from shared.bpe import BPETokenizer
from shared.resources import book_resources_enabled, resolve

EMBEDDED_BPE = Path(__file__).parent / "assets" / "embedded-bpe"  # .tiktoken + .json
TOKENIZER_NAMES = ("embedded", "gpt2")


def default_tokenizer_name() -> str:
    """The default tokenizer's name: "gpt2" in book mode, else "embedded"."""
    return "gpt2" if book_resources_enabled() else "embedded"


def get_tokenizer(name: str | None = None) -> tiktoken.Encoding:
    """The tokenizer called `name`: "embedded" (offline) or "gpt2" (book resource); None: the default."""
    if name is not None and not isinstance(name, str):
        raise TypeError(f"get_tokenizer takes a tokenizer name ({' or '.join(TOKENIZER_NAMES)}), got "
                        f"{type(name).__name__}")
    return _load_tokenizer(name or default_tokenizer_name())


@cache
def _load_tokenizer(name: str) -> tiktoken.Encoding:
    if name == "embedded":
        return BPETokenizer.load(EMBEDDED_BPE).to_tiktoken("embedded")
    if name == "gpt2":
        bpe = BPETokenizer.from_gpt2(resolve("gpt2-encoder-json"), resolve("gpt2-vocab-bpe"))
        return bpe.to_tiktoken("gpt2")
    raise ValueError(f"unknown tokenizer {name!r}; choose one of {TOKENIZER_NAMES}")
