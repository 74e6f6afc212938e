"""Turn text into (input, target) training windows for next-token prediction (Chapter 2).

Usage:
    from shared import load_corpus, create_dataloader_v1
    loader = create_dataloader_v1(load_corpus(), batch_size=8, max_length=4, stride=4, shuffle=False)
    inputs, targets = next(iter(loader))  # both (8, 4); targets are the inputs shifted by one token

A window of `max_length` tokens starts every `stride` tokens; its target is the same window moved one
token to the right, so position t of the input is trained to predict token t+1.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset

from shared.resources import resolve
from shared.tokenizer import get_tokenizer

EMBEDDED_CORPUS = Path(__file__).parent / "assets" / "embedded-corpus.txt"
CORPORA = ("embedded", "the-verdict")


def load_corpus(name: str = "embedded") -> str:
    """The training text: "embedded" (the project's own short stories) or "the-verdict" (book resource)."""
    if name == "embedded":
        return EMBEDDED_CORPUS.read_text(encoding="utf-8")
    if name == "the-verdict":
        return resolve("the-verdict").read_text(encoding="utf-8")
    raise ValueError(f"unknown corpus {name!r}; choose one of {CORPORA}")


class GPTDatasetV1(Dataset):
    """All windows of `max_length` token ids, one every `stride` tokens, with next-token targets."""

    def __init__(self, txt: str, tokenizer, max_length: int, stride: int):
        if max_length <= 0:
            raise ValueError(f"max_length must be a positive number of tokens, got {max_length}")
        if stride <= 0:
            raise ValueError(f"stride must be a positive number of tokens, got {stride}")
        token_ids = tokenizer.encode(txt, allowed_special={"<|endoftext|>"})
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
    """A DataLoader over `GPTDatasetV1` windows; `tokenizer=None` means the embedded tokenizer."""
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    dataset = GPTDatasetV1(txt, tokenizer or get_tokenizer("embedded"), max_length, stride)
    if drop_last and len(dataset) < batch_size:
        raise ValueError(
            f"the text gives only {len(dataset)} windows of {max_length} tokens (stride {stride}), fewer than "
            f"batch_size={batch_size}; with drop_last=True the loader would be empty. Use a smaller batch_size, "
            f"a smaller stride or max_length, or drop_last=False"
        )
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                      num_workers=num_workers)
