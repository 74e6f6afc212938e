"""A pretrained GPT turned into a classifier: new head, chosen trainable layers, loss, accuracy, training (Chapter 6).

Usage:
    from shared.classifier import (calc_accuracy_loader, calc_loss_loader, classify_review,
                                   make_classifier, train_classifier_simple)
    model = make_classifier(load_pretrained_embedded(), num_classes=2, trainable_blocks=1)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-5, weight_decay=0.1)
    train_losses, val_losses, train_accs, val_accs, examples_seen = train_classifier_simple(
        model, train_loader, val_loader, optimizer, device, num_epochs=5, eval_freq=50, eval_iter=5)
    calc_accuracy_loader(test_loader, model, device)            # share of correctly labelled messages
    save_classifier("checkpoints/classifier.pth", model, "embedded", max_length=train_dataset.max_length)
    model, info = load_classifier("checkpoints/classifier.pth")  # info["max_length"], info["tokenizer"]
    classify_review("You won a prize!", model, tokenizer, device, max_length=train_dataset.max_length)

The classifier is the language model with its vocabulary-sized output head replaced by a small
`nn.Linear(emb_dim, num_classes)`. It still computes one output row per token, but only one position is
read: the last token by default (`position=-1`), the only one whose causal attention has seen the whole
message; `position=0` reads the first token instead (Exercise 6.3), which has seen nothing but itself.

These are the classification versions of the book's functions: `shared.calc_loss_batch` and
`shared.calc_loss_loader` (Chapter 5) stay the next-token ones; here they are
`shared.classifier.calc_loss_batch` and `shared.classifier.calc_loss_loader`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from shared.checkpoint import CheckpointError, read_checkpoint, save_checkpoint
from shared.training import mean_batch_loss

CLASS_NAMES = ("not spam", "spam")  # what classify_review returns for label 0 and label 1


def replace_output_head(model: nn.Module, num_classes: int = 2, seed: int | None = 123) -> nn.Module:
    """Swap `model.out_head` for a fresh `nn.Linear(emb_dim, num_classes)` (seeded, with a bias, as in the book).

    With tied weights the token embedding keeps its matrix; only the head becomes a new, separate layer.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer of at least 2, got {num_classes!r}")
    if not isinstance(getattr(model, "out_head", None), nn.Linear):
        raise TypeError(f"expected a GPTModel (a model with an nn.Linear out_head), got {type(model).__name__}")
    old = model.out_head
    if seed is not None:
        torch.manual_seed(seed)
    model.out_head = nn.Linear(old.in_features, num_classes).to(old.weight.device, old.weight.dtype)
    return model


def freeze_for_classification(model: nn.Module, trainable_blocks: int | Literal["all"] = 1,
                              train_final_norm: bool = True) -> nn.Module:
    """Freeze the model, then make trainable the output head, the last `trainable_blocks` transformer blocks
    and (by default) the final LayerNorm; `trainable_blocks="all"` trains every parameter (Exercise 6.2)."""
    num_blocks = len(model.trf_blocks)
    if trainable_blocks == "all":
        model.requires_grad_(True)
        return model
    if isinstance(trainable_blocks, bool) or not isinstance(trainable_blocks, int) \
            or not 0 <= trainable_blocks <= num_blocks:
        raise ValueError(f"trainable_blocks must be 'all' or a number of blocks from 0 to {num_blocks}, "
                         f"got {trainable_blocks!r}")
    model.requires_grad_(False)
    model.out_head.requires_grad_(True)
    for block in model.trf_blocks[num_blocks - trainable_blocks:]:
        block.requires_grad_(True)
    model.final_norm.requires_grad_(train_final_norm)
    return model


def make_classifier(model: nn.Module, num_classes: int = 2, trainable_blocks: int | Literal["all"] = 1,
                    train_final_norm: bool = True, seed: int | None = 123) -> nn.Module:
    """The book's recipe in one call: freeze everything, new head, unfreeze the last block(s) and final norm."""
    model.requires_grad_(False)
    replace_output_head(model, num_classes, seed)
    return freeze_for_classification(model, trainable_blocks, train_final_norm)


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) parameters; a tied matrix counts once."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def class_logits(model: nn.Module, input_batch: torch.Tensor, position: int = -1) -> torch.Tensor:
    """The scores of one token per message: (b, num_tokens) ids -> (b, num_classes)."""
    return model(input_batch)[:, position, :]  # (b, num_tokens, num_classes) -> (b, num_classes)


def calc_accuracy_loader(data_loader: Iterable, model: nn.Module, device: torch.device | str,
                         num_batches: int | None = None, position: int = -1) -> float:
    """Share of correctly labelled examples in the first `num_batches` batches (all when None), in eval mode."""
    was_training = model.training
    model.eval()
    num_batches = len(data_loader) if num_batches is None else min(num_batches, len(data_loader))
    correct_predictions, num_examples = 0, 0
    with torch.no_grad():
        for i, (input_batch, target_batch) in enumerate(data_loader):
            if i >= num_batches:
                break
            input_batch, target_batch = input_batch.to(device), target_batch.to(device)
            predicted_labels = class_logits(model, input_batch, position).argmax(dim=-1)  # (b,)
            num_examples += predicted_labels.shape[0]
            correct_predictions += (predicted_labels == target_batch).sum().item()
    model.train(was_training)
    return correct_predictions / num_examples if num_examples else float("nan")


def calc_loss_batch(input_batch: torch.Tensor, target_batch: torch.Tensor, model: nn.Module,
                    device: torch.device | str, position: int = -1) -> torch.Tensor:
    """Cross-entropy between the chosen token's class scores and the labels (inputs (b, num_tokens), labels (b,))."""
    input_batch, target_batch = input_batch.to(device), target_batch.to(device)
    return F.cross_entropy(class_logits(model, input_batch, position), target_batch)


def calc_loss_loader(data_loader: Iterable, model: nn.Module, device: torch.device | str,
                     num_batches: int | None = None, position: int = -1) -> float:
    """Average `calc_loss_batch` over the first `num_batches` batches (all when None); NaN for an empty loader."""
    return mean_batch_loss(data_loader, num_batches,
                           lambda inputs, targets: calc_loss_batch(inputs, targets, model, device, position))


def evaluate_model(model: nn.Module, train_loader: Iterable, val_loader: Iterable, device: torch.device | str,
                   eval_iter: int, position: int = -1) -> tuple[float, float]:
    """Training and validation classification loss over `eval_iter` batches each, without gradients."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        train_loss = calc_loss_loader(train_loader, model, device, eval_iter, position)
        val_loss = calc_loss_loader(val_loader, model, device, eval_iter, position)
    model.train(was_training)
    return train_loss, val_loss


def train_classifier_simple(model: nn.Module, train_loader: Iterable, val_loader: Iterable,
                            optimizer: torch.optim.Optimizer, device: torch.device | str, num_epochs: int,
                            eval_freq: int, eval_iter: int, position: int = -1,
                            ) -> tuple[list[float], list[float], list[float], list[float], int]:
    """Train for `num_epochs`; every `eval_freq` steps record and print both losses, after each epoch both
    accuracies (over `eval_iter` batches).

    Returns (train_losses, val_losses, train_accs, val_accs, examples_seen), as in the book.
    """
    if len(train_loader) == 0:
        raise ValueError("the training loader is empty: it has fewer messages than one batch (drop_last=True?)")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError("no parameter of the model is trainable: call make_classifier / freeze_for_classification")
    train_losses, val_losses, train_accs, val_accs = [], [], [], []
    examples_seen, global_step = 0, -1
    for epoch in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            optimizer.zero_grad()
            loss = calc_loss_batch(input_batch, target_batch, model, device, position)
            loss.backward()
            optimizer.step()
            examples_seen += input_batch.shape[0]  # messages, not tokens
            global_step += 1
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter, position)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                print(f"Ep {epoch + 1} (Step {global_step:06d}): Train loss {train_loss:.3f}, Val loss {val_loss:.3f}")
        train_accuracy = calc_accuracy_loader(train_loader, model, device, eval_iter, position)
        val_accuracy = calc_accuracy_loader(val_loader, model, device, eval_iter, position)
        print(f"Training accuracy: {train_accuracy * 100:.2f}% | Validation accuracy: {val_accuracy * 100:.2f}%")
        train_accs.append(train_accuracy)
        val_accs.append(val_accuracy)
    return train_losses, val_losses, train_accs, val_accs, examples_seen


def classify_review(text: str, model: nn.Module, tokenizer, device: torch.device | str,
                    max_length: int | None = None, pad_token_id: int | None = None, position: int = -1) -> str:
    """"spam" or "not spam" for one message, prepared as `SpamDataset` prepares the training messages.

    The text is encoded, cut to its first `max_length` tokens (the training set's padded length) and padded
    to that length with `pad_token_id` (the tokenizer's <|endoftext|> unless given). Texts longer than the
    model's context are handled: the width is capped at the context length, so at most the first
    `context_length` tokens are read. Without `max_length` the message is neither padded nor cut below the
    context; give the training length when the model was trained on padded messages.
    """
    if not isinstance(text, str) or not text:
        raise ValueError(f"classify_review takes a non-empty str, got {text!r}")
    pad_token_id = tokenizer.eot_token if pad_token_id is None else pad_token_id
    context_length = model.pos_emb.weight.shape[0]
    width = context_length if max_length is None else min(max_length, context_length)
    input_ids = tokenizer.encode(text)[:width]
    if max_length is not None:
        input_ids += [pad_token_id] * (width - len(input_ids))
    input_tensor = torch.tensor(input_ids, device=device).unsqueeze(0)  # (1, width)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        predicted_label = class_logits(model, input_tensor, position).argmax(dim=-1).item()
    model.train(was_training)
    return CLASS_NAMES[predicted_label] if predicted_label < len(CLASS_NAMES) else str(predicted_label)


def plot_values(epochs_seen: Sequence[float] | torch.Tensor, examples_seen: Sequence[float] | torch.Tensor,
                train_values: Sequence[float], val_values: Sequence[float], label: str = "loss") -> None:
    """Training and validation `label` against epochs (bottom axis) and examples seen (top axis), as the book's
    plot_values; in a script call `plt.savefig(...)` after it."""
    import matplotlib.pyplot as plt

    fig, ax1 = plt.subplots(figsize=(6, 3.5))
    ax1.plot(epochs_seen, train_values, label=f"Training {label}")
    ax1.plot(epochs_seen, val_values, linestyle="-.", label=f"Validation {label}")
    ax1.set_xlabel("Epochs")
    ax1.set_ylabel(label.capitalize())
    ax1.legend()
    ax2 = ax1.twiny()  # a second x axis on top, sharing the y axis
    ax2.plot(examples_seen, train_values, alpha=0)  # invisible: only sets the top axis' range
    ax2.set_xlabel("Examples seen")
    ax1.set_title(f"Training and validation {label}", pad=28)
    fig.tight_layout()


def save_classifier(path: str | Path, model: nn.Module, tokenizer_name: str, max_length: int,
                    **extra: Any) -> Path:
    """Save a classifier atomically with what using it needs: the tokenizer's name and the padded length.

    Merge LoRA layers first (`shared.lora.merge_lora`): the file then holds a plain GPTModel's weights.
    """
    return save_checkpoint(path, model, tokenizer_name=tokenizer_name, save_rng=False,
                           trainer_state={"max_length": max_length, **extra})


def load_classifier(path: str | Path, device: torch.device | str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    """A classifier saved by `save_classifier`, in eval mode, and its information: tokenizer, max_length, ...."""
    from shared.model import GPTModel

    state = read_checkpoint(path, "cpu")
    head = state["model"].get("out_head.weight")
    if state["config"] is None or head is None or head.shape[0] == state["config"]["vocab_size"]:
        raise CheckpointError(f"{path} is not a classifier saved by save_classifier (no configuration, or a "
                              f"language-model head); for a language model use load_model_from_checkpoint")
    model = replace_output_head(GPTModel(state["config"]), num_classes=head.shape[0], seed=None)
    model.load_state_dict(state["model"])
    info = {"tokenizer": state["tokenizer"], **(state.get("trainer") or {})}
    return model.to(device).eval(), info
