"""Turn text into (input, target) training windows for next-token prediction (Chapter 2).

Usage:
    from shared import load_corpus, create_dataloader_v1
    loader = create_dataloader_v1(load_corpus(), batch_size=8, max_length=4, stride=4, shuffle=False)
    inputs, targets = next(iter(loader))  # both (8, 4); targets are the inputs shifted by one token

A window of `max_length` tokens starts every `stride` tokens; its target is the same window moved one
token to the right, so position t of the input is trained to predict token t+1.

Defaults follow book mode (`LLM_BOOK_RESOURCES=1`): `load_corpus()` is then the book's "the-verdict" and a
loader built without a tokenizer uses GPT-2's, so the book's `create_dataloader_v1(raw_text, batch_size=8,
max_length=4, stride=4, shuffle=False)` gives the book's first batch. Otherwise: the embedded corpus and
tokenizer.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from shared.resources import book_resources_enabled, resolve
from shared.tokenizer import get_tokenizer

EMBEDDED_CORPUS = Path(__file__).parent / "assets" / "embedded-corpus.txt"
CORPORA = ("embedded", "the-verdict")


def load_corpus(name: str | None = None) -> str:
    """The training text: "embedded" (the project's own short stories) or "the-verdict" (book resource).

    None means the default: "the-verdict" in book mode, else "embedded".
    """
    name = name or ("the-verdict" if book_resources_enabled() else "embedded")
    if name == "embedded":
        return EMBEDDED_CORPUS.read_text(encoding="utf-8")
    if name == "the-verdict":
        return resolve("the-verdict").read_text(encoding="utf-8")
    raise ValueError(f"unknown corpus {name!r}; choose one of {CORPORA}")


def _encode(tokenizer, txt: str) -> list[int]:
    """Token ids of `txt`, letting <|endoftext|> through as one token where the tokenizer supports that."""
    if "allowed_special" in inspect.signature(tokenizer.encode).parameters:  # tiktoken, BPETokenizer
        return list(tokenizer.encode(txt, allowed_special={"<|endoftext|>"}))
    return list(tokenizer.encode(txt))  # e.g. SimpleTokenizerV2 or CharTokenizer


class GPTDatasetV1(Dataset):
    """All windows of `max_length` token ids, one every `stride` tokens, with next-token targets."""

    def __init__(self, txt: str, tokenizer, max_length: int, stride: int):
        if not isinstance(txt, str):
            hint = " (read the file first: open(path).read())" if hasattr(txt, "read") or "Path" in type(txt).__name__ \
                else ""
            raise TypeError(f"GPTDatasetV1 takes the text as a str, got {type(txt).__name__}{hint}")
        if isinstance(tokenizer, str):
            raise TypeError(f"GPTDatasetV1 takes a tokenizer object, got the name {tokenizer!r}: pass "
                            f"get_tokenizer({tokenizer!r})")
        if not callable(getattr(tokenizer, "encode", None)):
            raise TypeError(f"the tokenizer must have an encode(text) method returning token ids (like "
                            f"get_tokenizer() or tiktoken.get_encoding('gpt2')), got {type(tokenizer).__name__}")
        if not isinstance(max_length, int) or max_length <= 0:
            raise ValueError(f"max_length must be a positive number of tokens, got {max_length}")
        if not isinstance(stride, int) or stride <= 0:
            raise ValueError(f"stride must be a positive number of tokens, got {stride}")
        token_ids = _encode(tokenizer, txt)
        if len(token_ids) < max_length + 1:
            raise ValueError(
                f"the text is {len(token_ids)} tokens long, but max_length={max_length} needs at least "
                f"{max_length + 1} (one window plus the target shifted by one); use a longer text or a "
                f"smaller max_length"
            )
        self.input_ids: list[torch.Tensor] = []
        self.target_ids: list[torch.Tensor] = []
        for start in range(0, len(token_ids) - max_length, stride):
            self.input_ids.append(torch.tensor(token_ids[start:start + max_length]))
            self.target_ids.append(torch.tensor(token_ids[start + 1:start + max_length + 1]))

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.input_ids[idx], self.target_ids[idx]


def create_dataloader_v1(txt: str, batch_size: int = 4, max_length: int = 256, stride: int = 128,
                         shuffle: bool = True, drop_last: bool = True, num_workers: int = 0,
                         tokenizer=None) -> DataLoader:
    """A DataLoader over `GPTDatasetV1` windows; `tokenizer=None` means the default tokenizer (see above)."""
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    dataset = GPTDatasetV1(txt, get_tokenizer() if tokenizer is None else tokenizer, max_length, stride)
    if drop_last and len(dataset) < batch_size:
        raise ValueError(
            f"the text gives only {len(dataset)} windows of {max_length} tokens (stride {stride}), fewer than "
            f"batch_size={batch_size}; with drop_last=True the loader would be empty. Use a smaller batch_size, "
            f"a smaller stride or max_length, or drop_last=False"
        )
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=num_workers)
