"""Instruction data: prompt formats, the data sets, the split, the dataset and its collate function (Chapter 7).

Usage:
    from shared.instruction_data import format_input, load_instruction_data, split_instruction_data
    data = load_instruction_data()                        # the embedded set, or the book's 1,100 in book mode
    train_data, test_data, val_data = split_instruction_data(data)
    prompt = format_input(train_data[0])                  # "Below is an instruction ... ### Instruction: ..."
    loader = DataLoader(InstructionDataset(train_data, tokenizer), batch_size=8, collate_fn=custom_collate_fn)

Two prompt styles: "alpaca" (the book's) and "phi3" (exercise 7.1). A training text is
`format_input(entry) + format_response(entry)`; a model's answer is read back with `extract_response`.
"""

from __future__ import annotations

import json
import random
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from shared.resources import book_resources_enabled, resolve

EMBEDDED_INSTRUCTIONS = Path(__file__).parent / "assets" / "embedded-instructions.json"
INSTRUCT_EMBEDDED = "instruct-small-embedded.pth"  # the fine-tuned model, in shared.pretrained.checkpoints_dir()
IGNORE_INDEX = -100  # the target value torch.nn.functional.cross_entropy skips by default
STYLES = ("alpaca", "phi3")
ALPACA_PREAMBLE = ("Below is an instruction that describes a task. "
                   "Write a response that appropriately completes the request.")
RESPONSE_MARKERS = {"alpaca": "\n\n### Response:\n", "phi3": "\n<|assistant|>:\n"}

# the instruction each persona's entries of the embedded data set use (family "persona_<name>")
PERSONA_INSTRUCTIONS: dict[str, str] = {
    "pirate": "Talk like a pirate.",
}


def _check_style(style: str) -> None:
    if style not in STYLES:
        raise ValueError(f"unknown prompt style {style!r}; choose one of {', '.join(STYLES)}")


def format_input(entry: dict[str, str], style: str = "alpaca") -> str:
    """The prompt for one entry: its instruction and (if not empty) its input, without the response."""
    _check_style(style)
    missing = [key for key in ("instruction", "input") if key not in entry]
    if missing:
        raise KeyError(f"an instruction entry needs the keys 'instruction' and 'input' (input may be ''); "
                       f"this one lacks {missing}: {entry!r:.120}")
    if style == "phi3":
        input_text = f"\n{entry['input']}" if entry["input"] else ""
        return f"<|user|>\n{entry['instruction']}{input_text}"
    input_text = f"\n\n### Input:\n{entry['input']}" if entry["input"] else ""
    return f"{ALPACA_PREAMBLE}\n\n### Instruction:\n{entry['instruction']}{input_text}"


def format_response(entry: dict[str, str], style: str = "alpaca") -> str:
    """What follows the prompt in a training text: the response marker and the entry's output."""
    _check_style(style)
    return RESPONSE_MARKERS[style] + entry["output"]


def extract_response(generated_text: str, prompt: str, style: str = "alpaca") -> str:
    """The model's answer in `generated_text` (prompt + continuation): after the marker, before any next turn."""
    _check_style(style)
    text = generated_text[len(prompt):] if generated_text.startswith(prompt) else generated_text
    marker = RESPONSE_MARKERS[style].strip()
    stripped = text.lstrip()
    if stripped.startswith(marker):
        text = stripped[len(marker):]
    for stop in ("<|endoftext|>", "\n\n### ", "\n<|user|>", "\n<|assistant|>"):
        text = text.split(stop)[0]
    return text.strip()


def load_instruction_data(name: str | None = None) -> list[dict[str, str]]:
    """The entries of an instruction data set: "embedded" (the project's own), "book" (the book's 1,100) or
    "alpaca" (Stanford Alpaca's 52,002, exercise 7.3; a 23 MB book resource, non-commercial licence).

    None: the default, "book" in book mode (LLM_BOOK_RESOURCES=1) and "embedded" otherwise. The embedded
    entries carry a "family" key (which task they belong to) next to instruction, input and output.
    """
    name = name or ("book" if book_resources_enabled() else "embedded")
    if name == "embedded":
        path = EMBEDDED_INSTRUCTIONS
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing: regenerate it with python ch07/make_instruction_dataset.py")
    elif name in ("book", "alpaca"):
        path = resolve("instruction-data" if name == "book" else "alpaca-52k")
    else:
        raise ValueError(f"unknown instruction data set {name!r}; choose 'embedded', 'book' or 'alpaca'")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def split_instruction_data(data: list[dict[str, Any]], train_portion: float = 0.85, test_portion: float = 0.10,
                           shuffle: bool | None = None, seed: int = 123) -> tuple[list, list, list]:
    """(train, test, validation): 85/10/5 by default, in the book's order of the three parts.

    shuffle=False is the book's split (the first 85% train, the next 10% test, the rest validate; 935/110/55
    of its 1,100 entries). shuffle=True shuffles with `seed` and splits each "family" of entries on its own,
    so every task has held-out entries. None: unshuffled in book mode, shuffled otherwise.
    """
    if not (0 < train_portion < 1 and 0 <= test_portion < 1 and train_portion + test_portion <= 1):
        raise ValueError(f"train_portion ({train_portion}) and test_portion ({test_portion}) must be fractions "
                         f"that add up to at most 1 (the rest validates)")
    shuffle = (not book_resources_enabled()) if shuffle is None else shuffle

    def cut(entries: list) -> tuple[list, list, list]:
        train_end = int(len(entries) * train_portion)
        test_end = train_end + int(len(entries) * test_portion)
        return entries[:train_end], entries[train_end:test_end], entries[test_end:]

    if not shuffle:
        return cut(list(data))
    rng = random.Random(seed)
    families: dict[str, list] = {}
    for entry in data:
        families.setdefault(entry.get("family", ""), []).append(entry)
    parts: tuple[list, list, list] = ([], [], [])
    for family in sorted(families):
        entries = families[family][:]
        rng.shuffle(entries)
        for part, piece in zip(parts, cut(entries)):
            part.extend(piece)
    for part in parts:
        rng.shuffle(part)
    return parts


class InstructionDataset(Dataset):
    """Each entry's full text (prompt + response) as token ids; with_prompt_length=True: (prompt length, ids)."""

    def __init__(self, data: list[dict[str, str]], tokenizer, style: str = "alpaca",
                 with_prompt_length: bool = False):
        self.data = data
        self.with_prompt_length = with_prompt_length
        self.encoded_texts: list[list[int]] = []
        self.prompt_lengths: list[int] = []
        for entry in data:
            prompt = format_input(entry, style)
            self.encoded_texts.append(tokenizer.encode(prompt + format_response(entry, style)))
            self.prompt_lengths.append(len(tokenizer.encode(prompt)))

    def __getitem__(self, index: int) -> list[int] | tuple[int, list[int]]:
        if self.with_prompt_length:
            return self.prompt_lengths[index], self.encoded_texts[index]
        return self.encoded_texts[index]

    def __len__(self) -> int:
        return len(self.data)


def default_pad_token_id() -> int:
    """The end-of-text id of the default tokenizer: 50256 (GPT-2) in book mode, 2047 (embedded) otherwise."""
    from shared.tokenizer import get_tokenizer
    return get_tokenizer().eot_token


def custom_collate_fn(batch: list, pad_token_id: int | None = None, ignore_index: int = IGNORE_INDEX,
                      allowed_max_length: int | None = None, device: torch.device | str = "cpu",
                      mask_instruction: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad a batch of token-id lists into (inputs, targets), both (b, longest + 1 - 1) = (b, longest).

    Each row gets one end-of-text token (`pad_token_id`) appended and is padded with it to the longest row
    plus one; inputs drop the last position, targets are shifted by one. In the targets the first padding
    token stays (the model learns to stop) and every later one becomes `ignore_index`, so the loss skips it.
    Rows are then cut to `allowed_max_length`. mask_instruction=True also sets the targets that predict the
    prompt to `ignore_index`; the batch items must then be (prompt length, ids) pairs
    (`InstructionDataset(..., with_prompt_length=True)`). pad_token_id None: `default_pad_token_id()`.
    """
    if not batch:
        raise ValueError("custom_collate_fn got an empty batch")
    pad = default_pad_token_id() if pad_token_id is None else pad_token_id
    paired = isinstance(batch[0], tuple)
    if mask_instruction and not paired:
        raise ValueError("mask_instruction=True needs (prompt length, token ids) items: build the dataset with "
                         "InstructionDataset(..., with_prompt_length=True)")
    rows = [list(item[1]) if paired else list(item) for item in batch]
    longest = max(len(row) for row in rows) + 1
    inputs_lst, targets_lst = [], []
    for index, row in enumerate(rows):
        padded = row + [pad] * (longest - len(row))  # at least one end-of-text token
        inputs = torch.tensor(padded[:-1])  # (longest - 1,)
        targets = torch.tensor(padded[1:])  # (longest - 1,)
        pad_positions = torch.nonzero(targets == pad).flatten()
        targets[pad_positions[1:]] = ignore_index  # keep the first end-of-text as a target
        if mask_instruction:
            targets[:batch[index][0] - 1] = ignore_index  # the targets that are prompt tokens
        if allowed_max_length is not None:
            inputs, targets = inputs[:allowed_max_length], targets[:allowed_max_length]
        inputs_lst.append(inputs)
        targets_lst.append(targets)
    return torch.stack(inputs_lst).to(device), torch.stack(targets_lst).to(device)  # (b, n), (b, n)


def make_collate_fn(device: torch.device | str = "cpu", **options: Any):
    """custom_collate_fn with fixed options (device, pad_token_id, allowed_max_length, ...), for a DataLoader."""
    return partial(custom_collate_fn, device=device, **options)


def load_instruction_model(device: torch.device | str = "cpu", build_if_missing: bool = True):
    """The model Chapter 7 fine-tuned on the embedded instructions, in eval mode; fine-tuned now if missing."""
    from shared.checkpoint import load_model_from_checkpoint
    from shared.pretrained import checkpoints_dir
    path = checkpoints_dir() / INSTRUCT_EMBEDDED
    if not path.is_file():
        if not build_if_missing:
            raise FileNotFoundError(f"no instruction-tuned model at {path}: run ch07/ch07.ipynb or "
                                    f"python ch07/gpt_instruction_finetuning.py")
        from shared.instruction_finetune import finetune_embedded_model
        print(f"No instruction-tuned model at {path} yet: fine-tuning it now (a few minutes on a CPU) ...",
              flush=True)
        finetune_embedded_model(path=path, device=device)
    model, _ = load_model_from_checkpoint(path, device)
    return model
