"""Pretraining, the book's way: text <-> ids, the next-token loss, and the simple training loop (Chapter 5).

Usage:
    from shared import (GPTModel, calc_loss_loader, create_dataloader_v1, get_config, get_tokenizer,
                        plot_losses, train_model_simple)
    model = GPTModel(get_config("small-cpu"))
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-4, weight_decay=0.1)
    train_losses, val_losses, tokens_seen = train_model_simple(
        model, train_loader, val_loader, optimizer, device, num_epochs=10, eval_freq=5, eval_iter=5,
        start_context="Every light needs a keeper", tokenizer=get_tokenizer())
    plot_losses(torch.linspace(0, 10, len(train_losses)), tokens_seen, train_losses, val_losses)

The loss is the cross-entropy between the model's next-token distribution at every position and the
token that really comes next (the targets are the inputs shifted by one, see `GPTDatasetV1`); its
exponential is the perplexity. `train_model` (shared/trainer.py) is the same loop with what longer runs
need: learning-rate schedule, clipping, accumulation, mixed precision, checkpoints and resuming.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from shared.generation import generate_text_simple, model_context_length


def text_to_token_ids(text: str, tokenizer) -> torch.Tensor:
    """Encode `text` as a batch of one: a tensor of shape (1, num_tokens); <|endoftext|> is allowed."""
    if not isinstance(text, str):
        raise TypeError(f"text_to_token_ids takes a str, got {type(text).__name__}")
    encoded = tokenizer.encode(text, allowed_special={"<|endoftext|>"})
    return torch.tensor(encoded).unsqueeze(0)  # (1, num_tokens)


def token_ids_to_text(token_ids: torch.Tensor, tokenizer) -> str:
    """Decode a batch of one (1, num_tokens), or one sequence (num_tokens,), back to text."""
    if token_ids.dim() == 2 and token_ids.shape[0] != 1:
        raise ValueError(f"token_ids_to_text decodes one sequence, got a batch of {token_ids.shape[0]}: "
                         f"decode each row, e.g. token_ids_to_text(ids[i], tokenizer)")
    return tokenizer.decode(token_ids.reshape(-1).tolist())


def check_tokenizer_fits(model: nn.Module, tokenizer) -> None:
    """Raise ValueError if `tokenizer` can produce ids the model has no embedding for."""
    vocab_size = getattr(getattr(model, "tok_emb", None), "num_embeddings", None)
    n_vocab = getattr(tokenizer, "n_vocab", None)
    if vocab_size is not None and n_vocab is not None and n_vocab > vocab_size:
        raise ValueError(f"the tokenizer has {n_vocab:,} tokens but the model only {vocab_size:,} (vocab_size): "
                         f"use the tokenizer the model was built for, or build the model with "
                         f"vocab_size=tokenizer.n_vocab")


def calc_loss_batch(input_batch: torch.Tensor, target_batch: torch.Tensor, model: nn.Module,
                    device: torch.device | str) -> torch.Tensor:
    """Mean cross-entropy of the next-token predictions for one batch (inputs and targets: (b, num_tokens))."""
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    logits = model(input_batch)  # (b, num_tokens, vocab_size)
    return F.cross_entropy(logits.flatten(0, 1), target_batch.flatten())  # over all b * num_tokens positions


def mean_batch_loss(data_loader: Iterable, num_batches: int | None,
                    batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
    """Average `batch_loss(inputs, targets)` over the first `num_batches` batches (all when None); NaN when empty.

    The loop behind both `calc_loss_loader`s: next-token (here) and classification (`shared.classifier`).
    """
    if len(data_loader) == 0:
        return float("nan")
    num_batches = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    total = 0.0
    for i, (input_batch, target_batch) in enumerate(data_loader):
        if i >= num_batches:
            break
        total += batch_loss(input_batch, target_batch).item()
    return total / num_batches


def calc_loss_loader(data_loader: Iterable, model: nn.Module, device: torch.device | str,
                     num_batches: int | None = None) -> float:
    """Average `calc_loss_batch` over the first `num_batches` batches (all when None); NaN for an empty loader."""
    return mean_batch_loss(data_loader, num_batches,
                           lambda inputs, targets: calc_loss_batch(inputs, targets, model, device))


def evaluate_model(model: nn.Module, train_loader: Iterable, val_loader: Iterable, device: torch.device | str,
                   eval_iter: int) -> tuple[float, float]:
    """Training and validation loss over `eval_iter` batches each, in eval mode without gradients."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, device, num_batches=eval_iter)
        val_loss = calc_loss_loader(val_loader, model, device, num_batches=eval_iter)
    model.train(was_training)
    return train_loss, val_loss


def generate_and_print_sample(model: nn.Module, tokenizer, device: torch.device | str, start_context: str,
                              max_new_tokens: int = 50) -> None:
    """Print a greedy continuation of `start_context` on one line (newlines shown as spaces)."""
    check_tokenizer_fits(model, tokenizer)
    was_training = model.training
    model.eval()
    context_size = model_context_length(model) or 1024
    encoded = text_to_token_ids(start_context, tokenizer).to(device)
    token_ids = generate_text_simple(model, encoded, max_new_tokens, context_size, use_cache=True)
    print(token_ids_to_text(token_ids, tokenizer).replace("\n", " "))
    model.train(was_training)


def train_model_simple(model: nn.Module, train_loader: Iterable, val_loader: Iterable,
                       optimizer: torch.optim.Optimizer, device: torch.device | str, num_epochs: int,
                       eval_freq: int, eval_iter: int, start_context: str, tokenizer,
                       lr_scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                       ) -> tuple[list[float], list[float], list[int]]:
    """Train for `num_epochs`; every `eval_freq` steps record and print both losses; sample after each epoch.

    Returns (train_losses, val_losses, track_tokens_seen), one entry per evaluation, as in the book.
    `lr_scheduler` (optional, not in the book's loop): stepped after every optimizer step, e.g. a warmup and
    cosine decay (Chapter 7 fine-tunes with one).
    """
    if len(train_loader) == 0:
        raise ValueError("the training loader is empty: the text is too short for its batch_size and max_length")
    check_tokenizer_fits(model, tokenizer)
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, -1
    for epoch in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            optimizer.zero_grad()  # gradients from the previous step must not add up
            loss = calc_loss_batch(input_batch, target_batch, model, device)
            loss.backward()  # d loss / d every weight
            optimizer.step()  # move every weight a little against its gradient
            if lr_scheduler is not None:
                lr_scheduler.step()  # the learning rate for the next step
            tokens_seen += input_batch.numel()
            global_step += 1
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
                print(f"Ep {epoch + 1} (Step {global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")
        generate_and_print_sample(model, tokenizer, device, start_context)
    return train_losses, val_losses, track_tokens_seen


def perplexity(loss: float) -> float:
    """exp(loss): the number of equally likely tokens the model is, on average, choosing between."""
    return math.exp(loss)


def plot_losses(epochs_seen: Sequence[float] | torch.Tensor, tokens_seen: Sequence[int],
                train_losses: Sequence[float], val_losses: Sequence[float],
                title: str = "Training and validation loss") -> None:
    """Loss against epochs (bottom axis) and tokens seen (top axis), as the current matplotlib figure.

    In a notebook it appears below the cell; in a script call `plt.savefig(...)` or `plt.show()` after it.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax1 = plt.subplots(figsize=(6, 3.5))
    ax1.plot(epochs_seen, train_losses, label="Training loss")
    ax1.plot(epochs_seen, val_losses, linestyle="-.", label="Validation loss")
    ax1.set_xlabel("Epochs")
    ax1.set_ylabel("Loss (cross-entropy)")
    ax1.legend(loc="upper right")
    ax1.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax2 = ax1.twiny()  # a second x axis on top, sharing the y axis
    ax2.plot(tokens_seen, train_losses, alpha=0)  # invisible: only sets the top axis' range
    ax2.set_xlabel("Tokens seen")
    ax1.set_title(title, pad=28)
    fig.tight_layout()
