"""The small model Chapter 5 pretrains on the embedded corpus, where Chapters 6 and 7 find it (Chapter 5).

Usage:
    from shared.pretrained import load_pretrained_embedded, pretrain_embedded_model
    model = load_pretrained_embedded()     # the saved model, or (first time) pretrain it: a few minutes on a CPU
    python -m shared.pretrained            # pretrain it now and save it (again)

One recipe (`PRETRAIN_RECIPE`), one loop (the book's `train_model_simple`), one seed: `ch05/ch05.ipynb`
trains the model step by step with exactly these settings and saves it with `save_pretrained_embedded`;
`pretrain_embedded_model` runs the same code without the commentary, so whichever runs first, Chapters
6 and 7 start from the same weights.

Checkpoints live in `checkpoints/` at the top of the repository (git ignores it), or in the folder named by
LLM_BOOK_CHECKPOINTS; outside a checkout of the repository, in the per-user cache.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from shared.checkpoint import load_model_from_checkpoint, save_checkpoint
from shared.config import get_config
from shared.data import create_dataloader_v1, load_corpus
from shared.device import set_seed
from shared.model import GPTModel
from shared.resources import cache_dir
from shared.tokenizer import get_tokenizer
from shared.training import train_model_simple

PRETRAINED_EMBEDDED = "pretrained-small-embedded.pth"
PRETRAIN_RECIPE: dict[str, Any] = {
    "preset": "small-cpu",    # 4.2M parameters, vocab 2,048, context 256
    "corpus": "embedded",     # the project's eight stories, ~18k tokens
    "tokenizer": "embedded",
    "train_ratio": 0.9,       # the first 90% of the characters train, the rest validates
    "max_length": 256,        # tokens per training window
    "stride": 128,            # windows overlap by half: twice as many (different) windows per epoch
    "batch_size": 8,
    "lr": 5e-4,
    "weight_decay": 0.1,
    "num_epochs": 12,
    "eval_freq": 25,
    "eval_iter": 5,
    "seed": 123,
    "start_context": "Every light needs a keeper",
}


def checkpoints_dir() -> Path:
    """Where the book's trained models are saved (created on first use)."""
    if os.environ.get("LLM_BOOK_CHECKPOINTS", "").strip():
        folder = Path(os.environ["LLM_BOOK_CHECKPOINTS"]).expanduser()
    else:
        repo = Path(__file__).resolve().parent.parent
        in_checkout = (repo / "pyproject.toml").is_file() and (repo / "ch05").is_dir()
        folder = repo / "checkpoints" if in_checkout else cache_dir() / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def pretrain_loaders(recipe: dict[str, Any] = PRETRAIN_RECIPE) -> tuple[DataLoader, DataLoader]:
    """The recipe's training and validation loaders (the validation windows do not overlap, in order)."""
    text = load_corpus(recipe["corpus"])
    split = int(recipe["train_ratio"] * len(text))
    tokenizer = get_tokenizer(recipe["tokenizer"])
    train_loader = create_dataloader_v1(text[:split], batch_size=recipe["batch_size"],
                                        max_length=recipe["max_length"], stride=recipe["stride"], shuffle=True,
                                        drop_last=True, tokenizer=tokenizer)
    val_loader = create_dataloader_v1(text[split:], batch_size=recipe["batch_size"], max_length=recipe["max_length"],
                                      stride=recipe["max_length"], shuffle=False, drop_last=False, tokenizer=tokenizer)
    return train_loader, val_loader


def save_pretrained_embedded(model: nn.Module, train_losses: list[float], val_losses: list[float],
                             tokens_seen: list[int], seconds: float, path: str | Path | None = None) -> Path:
    """Save the pretrained model with its loss history where Chapters 6 and 7 look for it."""
    path = Path(path) if path is not None else checkpoints_dir() / PRETRAINED_EMBEDDED
    history = {"train_losses": train_losses, "val_losses": val_losses, "tokens_seen": tokens_seen,
               "seconds": seconds, "recipe": dict(PRETRAIN_RECIPE)}
    return save_checkpoint(path, model, tokenizer_name=PRETRAIN_RECIPE["tokenizer"], trainer_state=history,
                           save_rng=False)


def pretrain_embedded_model(path: str | Path | None = None, device: torch.device | str = "cpu",
                            verbose: bool = False) -> GPTModel:
    """Pretrain the recipe's model (the book's loop, as ch05.ipynb does), save it, return it in eval mode."""
    recipe = PRETRAIN_RECIPE
    set_seed(recipe["seed"])
    model = GPTModel(get_config(recipe["preset"])).to(device)
    train_loader, val_loader = pretrain_loaders(recipe)
    optimizer = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=recipe["weight_decay"])
    start = time.perf_counter()
    output = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
    with output:
        losses = train_model_simple(model, train_loader, val_loader, optimizer, device, recipe["num_epochs"],
                                    recipe["eval_freq"], recipe["eval_iter"], recipe["start_context"],
                                    get_tokenizer(recipe["tokenizer"]))
    save_pretrained_embedded(model, *losses, seconds=time.perf_counter() - start, path=path)
    return model.eval()


def load_pretrained_embedded(device: torch.device | str = "cpu", build_if_missing: bool = True) -> GPTModel:
    """The model Chapter 5 pretrained, in eval mode; pretrained now (a few minutes) if it was never saved."""
    path = checkpoints_dir() / PRETRAINED_EMBEDDED
    if not path.is_file():
        if not build_if_missing:
            raise FileNotFoundError(f"no pretrained model at {path}: run ch05/ch05.ipynb or python -m shared.pretrained")
        print(f"No pretrained model at {path} yet: pretraining it now with Chapter 5's recipe "
              f"({PRETRAIN_RECIPE['num_epochs']} epochs on the embedded corpus; a few minutes on a CPU) ...",
              flush=True)
        pretrain_embedded_model(path, device)
    model, _ = load_model_from_checkpoint(path, device)
    return model


if __name__ == "__main__":
    started = time.perf_counter()
    pretrain_embedded_model(verbose="-q" not in sys.argv[1:])
    print(f"saved {checkpoints_dir() / PRETRAINED_EMBEDDED} after {time.perf_counter() - started:.0f} s")
