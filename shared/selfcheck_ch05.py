"""Self-checks for pretraining and decoding (Chapter 5), used through `shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(text_to_token_ids); check(token_ids_to_text); check(calc_loss_batch); check(calc_loss_loader)
    check(evaluate_model); check(generate); check(train_model_simple)

Everything runs on a tiny seeded GPT model (vocabulary 40, context 8) and the embedded tokenizer. A
sampled continuation is compared draw for draw: yours and the reference run after the same seed, so a
correct `generate` picks exactly the reference's tokens. A different result is compared with the
reference with one usual mistake (a key of MISTAKES) put in; a match names the mistake and its fix.
"""

from __future__ import annotations

import contextlib
import inspect
import io
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from shared.decoding import filter_top_k, filter_top_p, generate
from shared.model import GPTModel
from shared.selfcheck import SEED, Checker, Raised, register_check
from shared.selfcheck_modules import randomize
from shared.tokenizer import get_tokenizer
from shared.training import (
    calc_loss_batch,
    calc_loss_loader,
    evaluate_model,
    text_to_token_ids,
    token_ids_to_text,
    train_model_simple,
)

CFG = {"vocab_size": 40, "context_length": 8, "emb_dim": 12, "n_heads": 3, "n_layers": 2, "drop_rate": 0.3,
       "qkv_bias": False}
TEXTS = ["Every light needs a keeper.", "The keeper climbed the stairs.<|endoftext|>At dawn the storm ended."]
MISTAKES = {
    "special_not_allowed": "<|endoftext|> is rejected: encode with tokenizer.encode(text, "
                           "allowed_special={'<|endoftext|>'})",
    "no_batch_dim": "the ids have no batch dimension: return torch.tensor(encoded).unsqueeze(0), shape (1, num_tokens)",
    "decode_batch": "the batch dimension is passed to the tokenizer: decode token_ids.squeeze(0).tolist()",
    "loss_not_flattened": "the logits (b, num_tokens, vocab) and targets (b, num_tokens) go to cross_entropy "
                          "unflattened: use logits.flatten(0, 1) and target_batch.flatten()",
    "loss_vs_inputs": "the loss compares the logits with the inputs: the targets are target_batch (the data loader "
                      "already shifted them by one token)",
    "double_shift": "the targets are shifted a second time: target_batch is already the inputs shifted by one, so "
                    "compare the logits at every position with target_batch at the same position",
    "loss_sum": "the loss is summed over the tokens: use the mean (cross_entropy's default reduction)",
    "softmax_first": "softmax is applied before cross_entropy: cross_entropy takes the logits (it applies "
                     "log-softmax itself)",
    "loss_item": "a float is returned: return the loss tensor (training calls loss.backward() on it); "
                 "calc_loss_loader calls .item()",
    "num_batches_ignored": "num_batches is ignored: stop after the first num_batches batches and divide by "
                           "that number",
    "divide_by_len": "the sum of num_batches batches is divided by len(data_loader): divide by num_batches",
    "num_batches_too_large": "num_batches larger than the loader is not capped: use min(num_batches, "
                             "len(data_loader))",
    "empty_loader": "an empty loader raises: return float('nan') when len(data_loader) == 0",
    "eval_not_called": "the losses are computed in training mode (dropout on): call model.eval() first",
    "train_not_restored": "the model is left in eval mode: call model.train() before returning, or the training "
                          "loop goes on without dropout",
    "no_grad_missing": "the losses are computed with gradients: wrap them in `with torch.no_grad():` "
                       "(they are only measured, and building the graph costs memory and time)",
    "temperature_after_softmax": "the temperature has no effect: divide the logits by it before the softmax "
                                 "(dividing the probabilities changes nothing: multinomial renormalizes them)",
    "temperature_multiplied": "the logits are multiplied by the temperature: divide them, logits / temperature",
    "temperature_zero": "temperature=0.0 must mean greedy (argmax), not a division by zero",
    "top_k_plus_one": "top-k keeps k + 1 tokens: the k-th highest score is torch.topk(logits, top_k).values[:, -1]",
    "top_k_zero": "top-k masks the other tokens with 0, which still has probability e⁰ = 1 after the softmax: "
                  "mask with float('-inf')",
    "top_p_before_temperature": "top-p is applied before the temperature: divide the logits by the temperature "
                                "first, then keep the smallest set of tokens reaching top_p",
    "top_p_one_too_few": "top-p stops before the set reaches top_p: keep every token until the probability "
                         "before it is >= top_p (the token that crosses top_p is kept)",
    "eos_appended": "the eos token is appended before stopping: stop as soon as it is chosen, without adding it",
    "no_crop": "the model is given more than context_size tokens: crop its input to idx[:, -context_size:]",
    "no_zero_grad": "the gradients add up from step to step: call optimizer.zero_grad() before loss.backward()",
    "tokens_per_batch": "tokens_seen counts sequences, not tokens: add input_batch.numel()",
    "step_from_zero": "global_step starts at 0, so the first evaluation comes after eval_freq + 1 steps: start it "
                      "at -1 (the book evaluates right after the first step)",
}


def _model(seed: int = 0) -> GPTModel:
    torch.manual_seed(seed)
    return randomize(GPTModel(CFG, use_sdpa=False), seed).eval()


def _loader(num_batches: int, batch_size: int = 2, num_tokens: int = 6, seed: int = 1) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, CFG["vocab_size"], (num_batches * batch_size, num_tokens + 1), generator=generator)
    return DataLoader(TensorDataset(ids[:, :-1], ids[:, 1:]), batch_size=batch_size, shuffle=False)


# --- text <-> ids ---------------------------------------------------------------------------------------


@register_check("text_to_token_ids", chapter=5)
def check_text_to_token_ids(candidate: Callable, checker: Checker) -> None:
    tokenizer = get_tokenizer("embedded")
    for text in TEXTS:
        got = checker.outcome(candidate, text, tokenizer)
        variants = {MISTAKES["no_batch_dim"]: lambda text=text: torch.tensor(
                        tokenizer.encode(text, allowed_special={"<|endoftext|>"})),
                    MISTAKES["special_not_allowed"]: lambda text=text: torch.tensor([tokenizer.encode(text)])}
        checker.compare(f"{text[:40]!r}", got, text_to_token_ids(text, tokenizer), variants)


@register_check("token_ids_to_text", chapter=5)
def check_token_ids_to_text(candidate: Callable, checker: Checker) -> None:
    tokenizer = get_tokenizer("embedded")
    ids = text_to_token_ids(TEXTS[1], tokenizer)  # (1, num_tokens)
    variants = {MISTAKES["decode_batch"]: lambda: tokenizer.decode(ids.tolist())}
    checker.compare("a batch of one, shape (1, num_tokens)", checker.outcome(candidate, ids, tokenizer),
                    token_ids_to_text(ids, tokenizer), variants)
    checker.compare("one sequence, shape (num_tokens,)", checker.outcome(candidate, ids[0], tokenizer),
                    token_ids_to_text(ids[0], tokenizer))


# --- losses ---------------------------------------------------------------------------------------------


def loss_variant(inputs: torch.Tensor, targets: torch.Tensor, model: nn.Module, mistake: str = ""):
    logits = model(inputs)  # (b, num_tokens, vocab_size)
    if mistake == "loss_not_flattened":
        return F.cross_entropy(logits, targets)
    if mistake == "double_shift":
        return F.cross_entropy(logits[:, :-1].flatten(0, 1), targets[:, 1:].flatten())
    if mistake == "softmax_first":
        logits = torch.softmax(logits, dim=-1)
    wanted = inputs if mistake == "loss_vs_inputs" else targets
    loss = F.cross_entropy(logits.flatten(0, 1), wanted.flatten(), reduction="sum" if mistake == "loss_sum" else "mean")
    return loss.item() if mistake == "loss_item" else loss


def loader_variant(data_loader: DataLoader, model: nn.Module, device: str, num_batches: int | None = None,
                   mistake: str = "") -> float:
    if len(data_loader) == 0:
        return 0.0 / len(data_loader) if mistake == "empty_loader" else float("nan")  # the first raises
    if num_batches is None or mistake == "num_batches_ignored":
        limit = divisor = len(data_loader)
    elif mistake == "num_batches_too_large":
        limit = divisor = num_batches
    else:
        limit = divisor = min(num_batches, len(data_loader))
    if mistake == "divide_by_len":
        divisor = len(data_loader)
    total = 0.0
    for i, (inputs, targets) in enumerate(data_loader):
        if i >= limit:
            break
        total += calc_loss_batch(inputs, targets, model, device).item()
    return total / divisor


@register_check("calc_loss_batch", chapter=5)
def check_calc_loss_batch(candidate: Callable, checker: Checker) -> None:
    model = _model()
    inputs, targets = next(iter(_loader(1, batch_size=3)))
    keys = ["loss_not_flattened", "loss_vs_inputs", "double_shift", "loss_sum", "softmax_first", "loss_item"]
    with torch.no_grad():
        got = checker.outcome(candidate, inputs, targets, model, "cpu")
        variants = {MISTAKES[k]: lambda k=k: loss_variant(inputs, targets, model, k) for k in keys}
        checker.compare("loss of a batch of 3 sequences of 6 tokens", got,
                        calc_loss_batch(inputs, targets, model, "cpu"), variants)


def _as_tensor(value):
    """A float as a 0-d tensor, so that NaN equals NaN and rounding is tolerated; anything else as it is."""
    return torch.tensor(value, dtype=torch.float64) if isinstance(value, float) else value


@register_check("calc_loss_loader", chapter=5)
def check_calc_loss_loader(candidate: Callable, checker: Checker) -> None:
    model, loader = _model(), _loader(4)
    keys = ["num_batches_ignored", "divide_by_len", "num_batches_too_large", "empty_loader"]
    cases = [(loader, None, "all 4 batches (num_batches=None)"), (loader, 2, "num_batches=2 of 4"),
             (loader, 10, "num_batches=10 of 4"), (DataLoader([]), None, "an empty loader gives NaN")]
    with torch.no_grad():
        for data, num_batches, label in cases:
            got = _as_tensor(checker.outcome(candidate, data, model, "cpu", num_batches))
            variants = {MISTAKES[k]: lambda k=k, d=data, n=num_batches:
                        _as_tensor(loader_variant(d, model, "cpu", n, k)) for k in keys}
            checker.compare(label, got, _as_tensor(calc_loss_loader(data, model, "cpu", num_batches)), variants)


class _RecordingModel(nn.Module):
    """Wraps a model: remembers whether gradients were on and the longest input; exposes the model's parts."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.pos_emb, self.tok_emb, self.cfg = model.pos_emb, model.tok_emb, model.cfg
        self.context_length = model.context_length
        self.grad_enabled: list[bool] = []
        self.longest_input = 0

    def forward(self, in_idx: torch.Tensor, kv_cache=None, last_token_only: bool = False) -> torch.Tensor:
        self.grad_enabled.append(torch.is_grad_enabled())
        self.longest_input = max(self.longest_input, in_idx.shape[1])
        if kv_cache is None and not last_token_only:
            return self.model(in_idx)
        return self.model(in_idx, kv_cache=kv_cache, last_token_only=last_token_only)  # shared.generate's cache


@register_check("evaluate_model", chapter=5)
def check_evaluate_model(candidate: Callable, checker: Checker) -> None:
    model = _RecordingModel(_model())
    train, val = _loader(3, seed=2), _loader(2, seed=3)
    model.train()
    torch.manual_seed(SEED)
    got = checker.outcome(candidate, model, train, val, "cpu", 2)
    left_training, used_grad = model.training, any(model.grad_enabled)

    def in_training_mode() -> tuple[float, float]:
        model.train()
        torch.manual_seed(SEED)
        with torch.no_grad():
            return calc_loss_loader(train, model, "cpu", 2), calc_loss_loader(val, model, "cpu", 2)

    expected = evaluate_model(model.train(), train, val, "cpu", 2)
    checker.compare("(train_loss, val_loss) over 2 batches each", got, expected,
                    {MISTAKES["eval_not_called"]: in_training_mode})
    if left_training:
        checker.passed("leaves the model in training mode")
    else:
        checker.failed("leaves the model in training mode", "the model is in eval mode afterwards",
                       (MISTAKES["train_not_restored"],))
    if used_grad:
        checker.failed("measures without gradients", "the model ran with gradients enabled",
                       (MISTAKES["no_grad_missing"],))
    else:
        checker.passed("measures without gradients")


# --- decoding -------------------------------------------------------------------------------------------


def generate_variant(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                     temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                     eos_id: int | None = None, mistake: str = "") -> torch.Tensor:
    """shared.generate (batch of one, without the KV cache) with one mistake put in."""
    for _ in range(max_new_tokens):
        with torch.no_grad():
            logits = model(idx[:, -context_size:])[:, -1, :].float()  # (1, vocab_size)
        if top_k is not None:
            k = top_k + 1 if mistake == "top_k_plus_one" else top_k
            filtered = filter_top_k(logits, k)
            logits = logits.masked_fill(filtered == -torch.inf, 0.0) if mistake == "top_k_zero" else filtered
        if top_p is not None and mistake == "top_p_before_temperature":
            logits = filter_top_p(logits, top_p)
        if temperature > 0.0 or mistake == "temperature_zero":
            if mistake == "temperature_multiplied":
                logits = logits * temperature
            elif mistake != "temperature_after_softmax":
                logits = logits / temperature
            if top_p is not None and mistake == "top_p_one_too_few":
                sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
                crossed = torch.cumsum(torch.softmax(sorted_logits, dim=-1), dim=-1) > top_p  # drops the crossing one
                logits = logits.masked_fill(torch.zeros_like(crossed).scatter(-1, order, crossed), -torch.inf)
            elif top_p is not None and mistake != "top_p_before_temperature":
                logits = filter_top_p(logits, top_p)
            idx_next = torch.multinomial(torch.softmax(logits, dim=-1), num_samples=1)  # (1, 1)
        else:
            idx_next = torch.argmax(logits, dim=-1, keepdim=True)
        if eos_id is not None and int(idx_next) == eos_id:
            if mistake == "eos_appended":
                idx = torch.cat((idx, idx_next), dim=1)
            break
        idx = torch.cat((idx, idx_next), dim=1)
    return idx


def _parameters(fn: Callable) -> set[str]:
    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


@register_check("generate", chapter=5)
def check_generate(candidate: Callable, checker: Checker) -> None:
    model = _RecordingModel(_model(seed=5))
    idx = torch.randint(0, CFG["vocab_size"], (1, 3), generator=torch.Generator().manual_seed(2))
    params = _parameters(candidate)
    greedy_run = generate(model, idx, 10, 5, use_cache=False)[0, idx.shape[1] + 3]  # eos: stop after 3 tokens
    runs = [({}, ["temperature_zero", "no_crop"]),
            ({"temperature": 1.0}, []),
            ({"temperature": 0.5}, ["temperature_after_softmax", "temperature_multiplied"]),
            ({"temperature": 1.0, "top_k": 3}, ["top_k_plus_one", "top_k_zero"]),
            ({"temperature": 0.7, "top_p": 0.6}, ["top_p_before_temperature", "top_p_one_too_few"]),
            ({"temperature": 1.0, "top_p": 0.5}, ["top_p_before_temperature", "top_p_one_too_few"]),
            ({"eos_id": int(greedy_run)}, ["eos_appended"])]
    for kwargs, keys in runs:
        missing = sorted(set(kwargs) - params) if params and not {"kwargs"} & params else []
        label = f"{', '.join(f'{k}={v}' for k, v in kwargs.items()) or 'greedy (temperature 0)'}, 10 new tokens"
        if missing:
            checker.passed(label, f"your generate has no {', '.join(missing)} parameter: not compared")
            continue
        model.longest_input = 0
        torch.manual_seed(SEED)
        got = checker.outcome(candidate, model, idx, max_new_tokens=10, context_size=5, **kwargs)
        if model.longest_input > 5:
            checker.failed(label, f"the model was given {model.longest_input} tokens at once, more than "
                                  f"context_size=5", (MISTAKES["no_crop"],))
            continue
        torch.manual_seed(SEED)
        expected = generate(model, idx, 10, 5, use_cache=False, **kwargs)

        def variant(key: str, kwargs: dict = kwargs) -> torch.Tensor:
            torch.manual_seed(SEED)
            return generate_variant(model, idx, 10, 5, mistake=key, **kwargs)

        checker.compare(label, got, expected, {MISTAKES[k]: lambda k=k: variant(k) for k in keys if k != "no_crop"})


# --- the training loop ----------------------------------------------------------------------------------


def train_variant(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader, optimizer, device: str,
                  num_epochs: int, eval_freq: int, eval_iter: int, mistake: str = ""):
    """shared.train_model_simple's numbers (without the printing) with one mistake put in."""
    train_losses, val_losses, track_tokens_seen = [], [], []
    tokens_seen, global_step = 0, 0 if mistake == "step_from_zero" else -1
    for _ in range(num_epochs):
        model.train()
        for input_batch, target_batch in train_loader:
            if mistake != "no_zero_grad":
                optimizer.zero_grad()
            calc_loss_batch(input_batch, target_batch, model, device).backward()
            optimizer.step()
            tokens_seen += input_batch.shape[0] if mistake == "tokens_per_batch" else input_batch.numel()
            global_step += 1
            if global_step % eval_freq == 0:
                train_loss, val_loss = evaluate_model(model, train_loader, val_loader, device, eval_iter)
                train_losses.append(train_loss)
                val_losses.append(val_loss)
                track_tokens_seen.append(tokens_seen)
    return train_losses, val_losses, track_tokens_seen


class _Tokenizer:
    """The embedded tokenizer limited to the tiny model's 40 ids (the samples are printed, not compared)."""

    def encode(self, text: str, allowed_special=()) -> list[int]:
        return [b % CFG["vocab_size"] for b in text.encode()]

    def decode(self, ids: list[int]) -> str:
        return "".join(chr(97 + i % 26) for i in ids)


@register_check("train_model_simple", chapter=5)
def check_train_model_simple(candidate: Callable, checker: Checker) -> None:
    train, val = _loader(3, seed=6), _loader(2, seed=7)

    def run(fn: Callable, **extra) -> tuple:
        torch.manual_seed(3)
        model = GPTModel(CFG, use_sdpa=False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
        torch.manual_seed(SEED)  # the same dropout masks
        with contextlib.redirect_stdout(io.StringIO()):
            history = fn(model, train, val, optimizer, "cpu", num_epochs=2, eval_freq=2, eval_iter=1, **extra)
        if isinstance(history, tuple) and len(history) == 3:
            history = tuple(torch.tensor(h, dtype=torch.float64) for h in history)
        return history, torch.cat([p.detach().flatten() for p in model.parameters()])

    got = checker.outcome(run, candidate, start_context="ab", tokenizer=_Tokenizer())
    expected = run(train_model_simple, start_context="ab", tokenizer=_Tokenizer())
    if isinstance(got, Raised):
        checker.stop("2 epochs of 3 batches, eval_freq=2", str(got))
    keys = ["no_zero_grad", "tokens_per_batch", "step_from_zero"]
    variants = {MISTAKES[k]: lambda k=k: run(train_variant, mistake=k)[0] for k in keys}
    checker.compare("(train_losses, val_losses, track_tokens_seen), 2 epochs of 3 batches, eval_freq=2",
                    got[0], expected[0], variants, tol=1e-4)
    checker.compare("the weights after training", got[1], expected[1], tol=1e-4)
