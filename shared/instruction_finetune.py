"""Instruction fine-tuning with the Chapter 5 loop, generating and saving responses (Chapter 7).

Usage:
    from shared.instruction_finetune import finetune_embedded_model, generate_responses
    model = finetune_embedded_model()                    # Chapter 5's model -> checkpoints/instruct-small-embedded.pth
    responses = generate_responses(model, test_data, get_tokenizer())
    python -m shared.instruction_finetune                # the same from a shell

`INSTRUCT_RECIPE` is the one recipe: ch07/ch07.ipynb runs it step by step, `finetune_embedded_model` and
ch07/gpt_instruction_finetuning.py run it in one go, so all three save the same weights.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from shared.checkpoint import save_checkpoint
from shared.decoding import generate_batch
from shared.device import set_seed
from shared.instruction_data import (
    INSTRUCT_EMBEDDED,
    InstructionDataset,
    custom_collate_fn,
    extract_response,
    format_input,
    load_instruction_data,
    split_instruction_data,
)
from shared.pretrained import checkpoints_dir, load_pretrained_embedded
from shared.tokenizer import get_tokenizer
from shared.trainer import lr_at_step
from shared.training import train_model_simple

INSTRUCT_RECIPE: dict[str, Any] = {
    "data": "embedded",
    "style": "phi3",             # 48 tokens per entry on average, against Alpaca's 109: twice the steps per minute
    "mask_instruction": True,    # the loss counts the response only (exercise 7.2)
    "tokenizer": "embedded",
    "batch_size": 16,
    "lr": 2e-3,
    "warmup_steps": 30,
    "schedule": "cosine",        # after the warmup, the learning rate falls along half a cosine ...
    "min_lr_ratio": 0.1,         # ... to a tenth of its peak
    "weight_decay": 0.1,
    "num_epochs": 4,
    "eval_freq": 100,
    "eval_iter": 5,
    "seed": 123,
    "allowed_max_length": 256,   # the small model's context length
    "max_new_tokens": 40,
    "multi_turn": False,         # every prompt in training starts at position 0: chats send each message alone
}
BOOK_RECIPE: dict[str, Any] = {  # the book's run: GPT-2 355M, Alpaca style, the whole text in the loss
    **INSTRUCT_RECIPE, "style": "alpaca", "mask_instruction": False, "batch_size": 8,
    "lr": 5e-5, "warmup_steps": 0, "schedule": "constant", "num_epochs": 2, "eval_freq": 5, "allowed_max_length": 1024,
    "multi_turn": True,          # GPT-2 read text at every position in pretraining (not measured after fine-tuning)
}


def instruction_loaders(train_data: list, val_data: list, test_data: list, tokenizer, batch_size: int = 8,
                        device: torch.device | str = "cpu", seed: int = 123, style: str = "alpaca",
                        allowed_max_length: int | None = None,
                        mask_instruction: bool = False) -> tuple[DataLoader, DataLoader, DataLoader]:
    """(train, validation, test) loaders padding each batch with custom_collate_fn; the training one shuffles."""
    def collate(batch: list) -> tuple[torch.Tensor, torch.Tensor]:
        return custom_collate_fn(batch, pad_token_id=tokenizer.eot_token, allowed_max_length=allowed_max_length,
                                 device=device, mask_instruction=mask_instruction)

    def loader(data: list, train: bool) -> DataLoader:
        dataset = InstructionDataset(data, tokenizer, style, with_prompt_length=mask_instruction)
        generator = torch.Generator().manual_seed(seed) if train else None
        return DataLoader(dataset, batch_size=batch_size, collate_fn=collate, shuffle=train, drop_last=train,
                          generator=generator, num_workers=0)

    return loader(train_data, True), loader(val_data, False), loader(test_data, False)


def warmup_cosine(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0,
                  min_lr_ratio: float = 0.0) -> torch.optim.lr_scheduler.LambdaLR:
    """A scheduler for `train_model_simple`: the learning rate rises linearly for `warmup_steps`, then falls
    along half a cosine to `min_lr_ratio` times its peak at `total_steps` (shared.lr_at_step, the Chapter 5
    trainer's schedule)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_at_step(step, total_steps, 1.0, warmup_steps, min_lr_ratio))


def generate_responses(model: nn.Module, entries: Sequence[dict[str, str]], tokenizer,
                       style: str = INSTRUCT_RECIPE["style"], max_new_tokens: int = INSTRUCT_RECIPE["max_new_tokens"],
                       batch_size: int = 64) -> list[str]:
    """The model's greedy answer to each entry's prompt, stopping at end-of-text, read with extract_response.

    `style` is the prompt format the model was fine-tuned with: the recipe's by default, "alpaca" for the book's.
    """
    model.eval()
    context = model.context_length
    responses: list[str] = []
    prompts = [format_input(entry, style) for entry in entries]
    for start in range(0, len(prompts), batch_size):
        chunk = prompts[start:start + batch_size]
        ids = [tokenizer.encode(prompt)[-(context - max_new_tokens):] for prompt in chunk]
        new = generate_batch(model, ids, max_new_tokens, context, eos_id=tokenizer.eot_token)
        responses += [extract_response(tokenizer.decode(tokens), "", style) for tokens in new]
    return responses


def save_responses_json(entries: Sequence[dict[str, Any]], responses: Sequence[str], path: str | Path,
                        key: str = "model_response") -> Path:
    """Write the entries, each with its response under `key`, as JSON (the book's instruction-data-with-response)."""
    path = Path(path)
    rows = [{**entry, key: response} for entry, response in zip(entries, responses, strict=True)]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # atomic: a reader never sees half a file
    return path


def finetune(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, tokenizer, start_context: str,
             recipe: dict[str, Any] = INSTRUCT_RECIPE,
             device: torch.device | str = "cpu") -> tuple[list[float], list[float], list[int]]:
    """The recipe's optimizer and schedule and the book's `train_model_simple`; returns its loss history."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    scheduler = None
    if recipe.get("schedule", "cosine") == "cosine":
        scheduler = warmup_cosine(optimizer, recipe["num_epochs"] * len(train_loader), recipe["warmup_steps"],
                                  recipe["min_lr_ratio"])
    return train_model_simple(model, train_loader, val_loader, optimizer, device, recipe["num_epochs"],
                              recipe["eval_freq"], recipe["eval_iter"], start_context, tokenizer, scheduler)


def save_instruction_model(model: nn.Module, history: dict[str, Any], path: str | Path | None = None,
                           recipe: dict[str, Any] = INSTRUCT_RECIPE) -> Path:
    """Save the fine-tuned model and its loss history (atomically); default: where load_instruction_model looks."""
    path = Path(path) if path is not None else checkpoints_dir() / INSTRUCT_EMBEDDED
    return save_checkpoint(path, model, tokenizer_name=recipe["tokenizer"],
                           trainer_state={**history, "recipe": dict(recipe)}, save_rng=False)


def recipe_loaders(train_data: list, val_data: list, test_data: list, tokenizer, recipe: dict[str, Any],
                   device: torch.device | str = "cpu") -> tuple[DataLoader, DataLoader, DataLoader]:
    """`instruction_loaders` with the recipe's settings."""
    return instruction_loaders(train_data, val_data, test_data, tokenizer, recipe["batch_size"], device,
                               recipe["seed"], recipe["style"], recipe["allowed_max_length"],
                               recipe["mask_instruction"])


def finetune_embedded_model(path: str | Path | None = None, device: torch.device | str = "cpu",
                            verbose: bool = False) -> nn.Module:
    """Fine-tune Chapter 5's model on the embedded instructions with the recipe, save it, return it (eval mode)."""
    recipe = INSTRUCT_RECIPE
    tokenizer = get_tokenizer(recipe["tokenizer"])
    train_data, test_data, val_data = split_instruction_data(load_instruction_data(recipe["data"]), shuffle=True,
                                                             seed=recipe["seed"])
    model = load_pretrained_embedded(device)
    set_seed(recipe["seed"])
    train_loader, val_loader, _ = recipe_loaders(train_data, val_data, test_data, tokenizer, recipe, device)
    start = time.perf_counter()
    output = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with output:
        train_losses, val_losses, tokens_seen = finetune(model, train_loader, val_loader, tokenizer,
                                                         format_input(val_data[0], recipe["style"]), recipe, device)
    history = {"train_losses": train_losses, "val_losses": val_losses, "tokens_seen": tokens_seen,
               "seconds": time.perf_counter() - start}
    save_instruction_model(model, history, path)
    return model.eval()


if __name__ == "__main__":
    started = time.perf_counter()
    finetune_embedded_model(verbose="-q" not in sys.argv[1:])
    print(f"saved {checkpoints_dir() / INSTRUCT_EMBEDDED} after {time.perf_counter() - started:.0f} s")
