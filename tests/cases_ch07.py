"""Chapter 7 same-as cases: the prompt format and the collate function ch07.ipynb defines inline behave like
`shared`'s.

Each case is the learner-facing self-check (`shared.selfcheck_ch07`), then what only the tests ask for: the
embedded entries of every family, and batches of real training texts cut to a context length.
"""

from __future__ import annotations

import torch
from equivalence import same_as_case, self_check

import shared


def _entries() -> list[dict]:
    data = shared.load_instruction_data("embedded")
    first = {}
    for entry in data:
        first.setdefault(entry["family"], entry)
    return list(first.values())


@same_as_case("format_input")
def _(notebook_fn, shared_fn):
    self_check(notebook_fn, "format_input")
    for entry in _entries():
        assert notebook_fn(entry) == shared_fn(entry), entry


@same_as_case("custom_collate_fn")
def _(notebook_fn, shared_fn):
    self_check(notebook_fn, "custom_collate_fn")
    tokenizer = shared.get_tokenizer("embedded")
    dataset = shared.InstructionDataset(_entries(), tokenizer)
    batch = [dataset[i] for i in range(len(dataset))]
    for allowed in (None, 40):
        got = notebook_fn(batch, pad_token_id=tokenizer.eot_token, allowed_max_length=allowed)
        expected = shared_fn(batch, pad_token_id=tokenizer.eot_token, allowed_max_length=allowed)
        assert all(torch.equal(g, e) for g, e in zip(got, expected))
