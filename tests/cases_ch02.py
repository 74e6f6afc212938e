"""Chapter 2 same-as cases: the dataset and data loader ch02.ipynb defines inline behave like `shared`'s.

Each case builds both versions from the same text and arguments and compares every window (dataset) or
every batch (loader: in order, shuffled with the same seed, with and without drop_last, with the default
tokenizer). The shared versions also reject bad arguments with clear errors; the cases compare the
behaviour the notebook versions have: valid input.
"""

from __future__ import annotations

import torch
from equivalence import same_as_case

from shared import get_tokenizer, load_corpus

TEXT = load_corpus("embedded")[:3000] + "<|endoftext|>" + load_corpus("embedded")[-500:]


def _same_pairs(ours, theirs) -> None:
    ours, theirs = list(ours), list(theirs)
    assert len(ours) == len(theirs), f"{len(ours)} items, shared has {len(theirs)}"
    for (x, y), (x_ref, y_ref) in zip(ours, theirs):
        assert torch.equal(x, x_ref) and torch.equal(y, y_ref)


@same_as_case("GPTDatasetV1")
def _(notebook_cls, shared_cls):
    tokenizer = get_tokenizer("embedded")
    for max_length, stride in [(4, 1), (4, 4), (8, 3), (16, 16), (5, 7)]:
        _same_pairs(notebook_cls(TEXT, tokenizer, max_length, stride),
                    shared_cls(TEXT, tokenizer, max_length, stride))


@same_as_case("create_dataloader_v1")
def _(notebook_fn, shared_fn):
    tokenizer = get_tokenizer("embedded")
    for kwargs in [dict(batch_size=8, max_length=4, stride=4, shuffle=False),
                   dict(batch_size=4, max_length=6, stride=2, shuffle=False, drop_last=False),  # 459 windows: a short last batch
                   dict(batch_size=4, max_length=8, stride=8, shuffle=True)]:
        torch.manual_seed(123)
        ours = list(notebook_fn(TEXT, tokenizer=tokenizer, **kwargs))
        torch.manual_seed(123)
        _same_pairs(ours, shared_fn(TEXT, tokenizer=tokenizer, **kwargs))
    # without a tokenizer both use the default one (the embedded tokenizer, GPT-2's in book mode)
    _same_pairs(notebook_fn(TEXT, batch_size=4, max_length=4, stride=4, shuffle=False),
                shared_fn(TEXT, batch_size=4, max_length=4, stride=4, shuffle=False))
