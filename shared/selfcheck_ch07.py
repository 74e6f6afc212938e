"""Self-checks for the prompt format and the collate function (Chapter 7), used through `shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(format_input)          # your Alpaca prompt, on entries with and without an input
    check(custom_collate_fn)     # your padding, shifting and -100 masking on the book's batch and others

A difference is compared with the reference with one usual mistake (a key of MISTAKES) put in;
`planted(key)` returns such a mistaken version (the tests use it to back every hint).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import torch

from shared.instruction_data import ALPACA_PREAMBLE, custom_collate_fn, format_input
from shared.selfcheck import Checker, register_check

MISTAKES = {
    "one_newline": "the sections are separated by one newline; the book puts a blank line before each "
                   "'### ...:' heading: f\"{preamble}\\n\\n### Instruction:\\n{instruction}\"",
    "input_always": "an empty input still gets an '### Input:' section; add it only when entry['input'] is not "
                    "empty: input_text = f\"\\n\\n### Input:\\n{entry['input']}\" if entry['input'] else \"\"",
    "response_in_prompt": "the prompt already ends with '### Response:'; format_input stops after the "
                          "instruction and input, the response marker is added with the output",
    "all_padding_masked": "every padding target is -100, also the first end-of-text token; keep the first one "
                          "(the model must learn to stop): targets[indices[1:]] = ignore_index",
    "padding_not_masked": "padding targets are kept; replace all but the first with ignore_index (-100) so the "
                          "loss skips them",
    "no_extra_token": "rows are padded only to the longest text; append one end-of-text token to every row "
                      "first (batch_max_length = max(len(item) + 1 for item in batch)) so each has a last target",
    "targets_not_shifted": "the targets are the inputs; shift by one: inputs = padded[:-1], targets = padded[1:]",
}
MISTAKE_CHECK = {key: "format_input" for key in ("one_newline", "input_always", "response_in_prompt")} | {
    key: "custom_collate_fn" for key in ("all_padding_masked", "padding_not_masked", "no_extra_token",
                                         "targets_not_shifted")}
ENTRIES = {
    "an entry with an input": {"instruction": "Write the plural of the word.", "input": "harbour",
                               "output": "harbours"},
    "an entry without an input": {"instruction": "What is 3 plus 4?", "input": "", "output": "7"},
}
BATCHES = {
    "the book's batch [0..4], [5, 6], [7, 8, 9]": [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]],
    "rows of equal length": [[3, 1, 4], [1, 5, 9]],
    "one long row and one short": [[11, 12, 13, 14, 15, 16, 17], [18]],
}


def format_input_variant(entry: dict[str, str], mistake: str = "") -> str:
    """The Alpaca prompt with `mistake` put in."""
    gap = "\n" if mistake == "one_newline" else "\n\n"
    prompt = f"{ALPACA_PREAMBLE}{gap}### Instruction:\n{entry['instruction']}"
    if entry["input"] or mistake == "input_always":
        prompt += f"{gap}### Input:\n{entry['input']}"
    return prompt + (f"{gap}### Response:\n" if mistake == "response_in_prompt" else "")


def collate_variant(batch: list[list[int]], pad_token_id: int = 50256, ignore_index: int = -100,
                    allowed_max_length: int | None = None, device: str = "cpu",
                    mistake: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    """custom_collate_fn with `mistake` put in."""
    extra = 0 if mistake == "no_extra_token" else 1
    longest = max(len(item) for item in batch) + extra
    inputs_lst, targets_lst = [], []
    for item in batch:
        padded = item + [pad_token_id] * (longest - len(item))
        inputs = torch.tensor(padded[:-1])
        targets = torch.tensor(padded[:-1] if mistake == "targets_not_shifted" else padded[1:])
        positions = torch.nonzero(targets == pad_token_id).flatten()
        if mistake == "all_padding_masked":
            targets[positions] = ignore_index
        elif mistake != "padding_not_masked":
            targets[positions[1:]] = ignore_index
        if allowed_max_length is not None:
            inputs, targets = inputs[:allowed_max_length], targets[:allowed_max_length]
        inputs_lst.append(inputs)
        targets_lst.append(targets)
    return torch.stack(inputs_lst).to(device), torch.stack(targets_lst).to(device)


def planted(key: str) -> Callable:
    """A version of format_input or custom_collate_fn with the mistake `key` in it."""
    if MISTAKE_CHECK[key] == "format_input":
        return partial(format_input_variant, mistake=key)
    return partial(collate_variant, mistake=key)


@register_check("format_input", chapter=7)
def check_format_input(candidate: Callable, checker: Checker) -> None:
    for what, entry in ENTRIES.items():
        keys = [k for k, check in MISTAKE_CHECK.items() if check == "format_input"]
        variants = {MISTAKES[k]: lambda k=k, entry=entry: format_input_variant(entry, k) for k in keys}
        checker.compare(f"format_input: {what}", checker.outcome(candidate, dict(entry)), format_input(entry),
                        variants)


def _as_lists(result: Any) -> Any:
    if isinstance(result, tuple) and len(result) == 2 and all(isinstance(t, torch.Tensor) for t in result):
        return tuple(t.tolist() for t in result)
    return result


@register_check("custom_collate_fn", chapter=7)
def check_custom_collate_fn(candidate: Callable, checker: Checker) -> None:
    keys = [k for k, check in MISTAKE_CHECK.items() if check == "custom_collate_fn"]
    for what, batch in BATCHES.items():
        for max_length in (None, 3):
            options = {"pad_token_id": 50256, "ignore_index": -100, "allowed_max_length": max_length}
            label = f"(inputs, targets) for {what}" + (f", allowed_max_length={max_length}" if max_length else "")
            got = checker.outcome(lambda batch=batch, options=options: _as_lists(
                candidate([list(row) for row in batch], **options, device="cpu")))
            expected = _as_lists(custom_collate_fn(batch, **options))
            variants = {MISTAKES[k]: lambda k=k, batch=batch, options=options: _as_lists(
                collate_variant(batch, **options, mistake=k)) for k in keys}
            checker.compare(label, got, expected, variants)
