"""Self-checks for the classification data, accuracy and LoRA (Chapter 6), used through `shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(SpamDataset); check(calc_accuracy_loader); check(LoRALayer); check(LinearWithLoRA)

`SpamDataset` is built on a small CSV file of messages of different lengths (padded to the longest, and cut
to a `max_length`), always with an explicit `pad_token_id`: the book's default 50256 is GPT-2's
<|endoftext|> and lies outside the embedded tokenizer. `calc_accuracy_loader` runs on a tiny randomized
classifier with dropout, handed over in training mode. The LoRA classes are checked at initialisation
(the update must start at zero) and then with the same random A and B as the reference.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from shared.classifier import calc_accuracy_loader, make_classifier
from shared.lora import LinearWithLoRA, LoRALayer
from shared.model import GPTModel
from shared.selfcheck import SEED, Checker, register_check
from shared.selfcheck_modules import randomize
from shared.tokenizer import get_tokenizer

CFG = {"vocab_size": 40, "context_length": 8, "emb_dim": 12, "n_heads": 3, "n_layers": 2, "drop_rate": 0.3,
       "qkv_bias": False}
MESSAGES = [(0, "See you at noon"), (1, "WIN a free cruise now!! Reply YES to claim your prize today"),
            (0, "ok"), (1, "Your parcel is waiting, pay the fee at example.com"), (0, "Running late, sorry")]
MISTAKES = {
    "pad_left": "the padding is put in front of the message: append it, encoded + [pad_token_id] * (max_length - len)",
    "no_truncation": "messages longer than max_length are not cut: encoded[:max_length] before padding",
    "truncate_end": "long messages keep their last tokens: keep the first ones, encoded[:max_length]",
    "pad_zero": "the padding uses token 0 instead of pad_token_id",
    "first_token": "the prediction is read from the first token: use the last one, model(input_batch)[:, -1, :]",
    "mean_of_batches": "the accuracy is averaged per batch, so a smaller last batch counts too much: divide the "
                       "correct predictions by the number of examples, not of batches",
    "all_batches": "num_batches is ignored: stop after num_batches batches (all of them when None)",
    "no_eval": "the model is left in training mode, so dropout changes the predictions: call model.eval() first",
    "lora_b_not_zero": "the LoRA update is not zero at initialisation: B starts as torch.zeros(rank, out_dim)",
    "lora_a_zero": "A starts at zero, so B's gradient is zero and nothing is learned: initialise A like nn.Linear, "
                   "nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))",
    "lora_alpha_over_rank": "the update is scaled by alpha / rank; the book scales it by alpha: "
                            "self.alpha * (x @ self.A @ self.B)",
    "lora_no_alpha": "alpha is not applied: self.alpha * (x @ self.A @ self.B)",
    "lora_only": "only the LoRA update is returned: self.linear(x) + self.lora(x)",
    "lora_ignored": "the LoRA update is not added: self.linear(x) + self.lora(x)",
}
NAMING_LORA = "A (in_dim, rank) and B (rank, out_dim), as nn.Parameter"
NAMING_WRAPPER = "linear (the wrapped nn.Linear) and lora (a LoRALayer with A and B)"


# --- SpamDataset ------------------------------------------------------------------------------------------


def spam_items(texts: list[str], tokenizer, max_length: int | None, pad_token_id: int,
               mistake: str = "") -> list[torch.Tensor]:
    """The padded id rows SpamDataset makes, or those a mistake makes."""
    encoded = [tokenizer.encode(text) for text in texts]
    width = max(len(ids) for ids in encoded) if max_length is None else max_length
    pad = 0 if mistake == "pad_zero" else pad_token_id
    rows = []
    for ids in encoded:
        if mistake == "truncate_end":
            ids = ids[-width:]
        elif mistake != "no_truncation":
            ids = ids[:width]
        padding = [pad] * max(0, width - len(ids))
        rows.append(torch.tensor(padding + ids if mistake == "pad_left" else ids + padding))
    return rows


@register_check("SpamDataset", chapter=6)
def check_spam_dataset(candidate: type, checker: Checker) -> None:
    tokenizer = get_tokenizer("embedded")
    pad = tokenizer.eot_token
    texts = [text for _, text in MESSAGES]
    with tempfile.TemporaryDirectory() as folder:
        csv_file = Path(folder) / "train.csv"
        lines = ["Label,Text"] + [f'{label},"{text}"' for label, text in MESSAGES]
        csv_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        for max_length in (None, 6):
            label = "padded to the longest message" if max_length is None else f"max_length={max_length}"
            dataset = checker.call(f"SpamDataset(csv_file, tokenizer, max_length={max_length}, pad_token_id={pad})",
                                   candidate, csv_file, tokenizer, max_length=max_length, pad_token_id=pad)
            got = checker.outcome(lambda dataset=dataset: [dataset[i][0] for i in range(len(dataset))])
            expected = spam_items(texts, tokenizer, max_length, pad)
            variants = {MISTAKES[key]: lambda key=key, n=max_length: spam_items(texts, tokenizer, n, pad, key)
                        for key in ("pad_left", "no_truncation", "truncate_end", "pad_zero")}
            checker.compare(f"token ids, {label}", got, expected, variants)
        labels = checker.outcome(lambda: [int(dataset[i][1]) for i in range(len(dataset))])
        checker.compare("labels", labels, [label for label, _ in MESSAGES])
        checker.compare("len(dataset)", checker.outcome(len, dataset), len(MESSAGES))


# --- calc_accuracy_loader ------------------------------------------------------------------------------


def accuracy_variant(loader: DataLoader, model: nn.Module, num_batches: int | None, mistake: str = "") -> float:
    """The accuracy calc_accuracy_loader computes, or what a mistake computes (model in training mode)."""
    model.train(mistake == "no_eval")
    limit = len(loader) if num_batches is None or mistake == "all_batches" else min(num_batches, len(loader))
    correct, examples, batch_shares = 0, 0, []
    with torch.no_grad():
        for i, (inputs, labels) in enumerate(loader):
            if i >= limit:
                break
            predicted = model(inputs)[:, 0 if mistake == "first_token" else -1, :].argmax(dim=-1)
            correct += (predicted == labels).sum().item()
            examples += len(labels)
            batch_shares.append((predicted == labels).float().mean().item())
    if mistake == "mean_of_batches":
        return sum(batch_shares) / len(batch_shares)
    return correct / examples


@register_check("calc_accuracy_loader", chapter=6)
def check_calc_accuracy_loader(candidate: Callable, checker: Checker) -> None:
    torch.manual_seed(0)
    model = make_classifier(randomize(GPTModel(CFG)), num_classes=2)
    with torch.no_grad():
        model.out_head.weight.mul_(20)  # confident, varied predictions: a wrong position or count shows
    generator = torch.Generator().manual_seed(1)
    inputs = torch.randint(0, CFG["vocab_size"], (37, 6), generator=generator)  # 37 messages of 6 tokens
    model.eval()
    with torch.no_grad():
        labels = model(inputs)[:, -1].argmax(dim=-1)  # right for two messages in three: an accuracy near 2/3
    labels[::3] = 1 - labels[::3]
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=5)  # 7 batches of 5 and one of 2
    for num_batches in (None, 3):
        def run(fn: Callable, mistake: str = "", num_batches=num_batches) -> float:
            model.train()  # handed over in training mode, as the training loop leaves it
            torch.manual_seed(SEED)  # the same dropout masks, should dropout be left on
            return fn(loader, model, "cpu", num_batches) if not mistake else accuracy_variant(
                loader, model, num_batches, mistake)
        got = run(candidate)
        expected = run(calc_accuracy_loader)
        variants = {MISTAKES[key]: lambda key=key, run=run: run(None, key)
                    for key in ("first_token", "mean_of_batches", "all_batches", "no_eval")}
        checker.compare(f"accuracy, num_batches={num_batches}", got, expected, variants)


# --- LoRA ---------------------------------------------------------------------------------------------


def _parameters(checker: Checker, module: nn.Module, shapes: dict[str, tuple[int, ...]], naming: str
                ) -> dict[str, nn.Parameter]:
    found = dict(module.named_parameters())
    problems = [f"{name} {shape}" for name, shape in shapes.items()
                if name not in found or tuple(found[name].shape) != shape]
    if problems:
        have = ", ".join(f"{n} {tuple(p.shape)}" for n, p in found.items()) or "none"
        checker.stop("parameters", f"expected {', '.join(problems)}; yours has {have}",
                     (f"name and shape the parameters as the book does: {naming}",))
    checker.passed("parameters", ", ".join(shapes))
    return found


def _set_random(parameters: list[nn.Parameter], seed: int) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in parameters:
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)


def lora_variant(x: torch.Tensor, A: torch.Tensor, B: torch.Tensor, alpha: float, mistake: str = "") -> torch.Tensor:
    scale = {"lora_alpha_over_rank": alpha / A.shape[1], "lora_no_alpha": 1.0}.get(mistake, alpha)
    return scale * (x @ A @ B)


@register_check("LoRALayer", chapter=6)
def check_lora_layer(candidate: type, checker: Checker) -> None:
    in_dim, out_dim, rank, alpha = 6, 5, 3, 2.0
    torch.manual_seed(SEED)
    layer = checker.call(f"LoRALayer(in_dim={in_dim}, out_dim={out_dim}, rank={rank}, alpha={alpha})",
                         candidate, in_dim, out_dim, rank, alpha)
    params = _parameters(checker, layer, {"A": (in_dim, rank), "B": (rank, out_dim)}, NAMING_LORA)
    x = torch.randn(2, 4, in_dim, generator=torch.Generator().manual_seed(2))
    got = checker.outcome(layer, x)
    if checker.compare("zero at initialisation", got, torch.zeros(2, 4, out_dim),
                       {MISTAKES["lora_b_not_zero"]: lambda: got}):
        if bool((params["A"] == 0).all()):
            checker.failed("A is random at initialisation", "A is all zeros", (MISTAKES["lora_a_zero"],))
        else:
            checker.passed("A is random at initialisation")
    _set_random([params["A"], params["B"]], seed=3)
    reference = LoRALayer(in_dim, out_dim, rank, alpha)
    with torch.no_grad():
        reference.A.copy_(params["A"])
        reference.B.copy_(params["B"])
    A, B = params["A"].detach(), params["B"].detach()
    variants = {MISTAKES[key]: lambda key=key: lora_variant(x, A, B, alpha, key)
                for key in ("lora_alpha_over_rank", "lora_no_alpha")}
    checker.compare("output with trained A and B", checker.outcome(layer, x), reference(x).detach(), variants)


@register_check("LinearWithLoRA", chapter=6)
def check_linear_with_lora(candidate: type, checker: Checker) -> None:
    in_dim, out_dim, rank, alpha = 6, 5, 3, 2.0
    torch.manual_seed(SEED)
    linear = nn.Linear(in_dim, out_dim)
    wrapped = checker.call(f"LinearWithLoRA(nn.Linear({in_dim}, {out_dim}), rank={rank}, alpha={alpha})",
                           candidate, linear, rank, alpha)
    shapes = {"linear.weight": (out_dim, in_dim), "linear.bias": (out_dim,), "lora.A": (in_dim, rank),
              "lora.B": (rank, out_dim)}
    params = _parameters(checker, wrapped, shapes, NAMING_WRAPPER)
    x = torch.randn(2, 4, in_dim, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        plain = linear(x)
        checker.compare("equals the wrapped layer at initialisation", checker.outcome(wrapped, x), plain)
        _set_random([params["lora.A"], params["lora.B"]], seed=3)
        reference = LinearWithLoRA(linear, rank, alpha)
        reference.lora.A.copy_(params["lora.A"])
        reference.lora.B.copy_(params["lora.B"])
        update = reference.lora(x)
        variants = {MISTAKES["lora_only"]: lambda: update, MISTAKES["lora_ignored"]: lambda: plain}
        checker.compare("output with trained A and B", checker.outcome(wrapped, x), reference(x), variants)
