"""Chapter 6 same-as cases: the dataset, loss, accuracy, training-loop, classification and LoRA code the ch06
notebooks define inline behave like `shared`'s (the classification loss functions are
`shared.classifier.calc_loss_batch` / `calc_loss_loader` / `evaluate_model`, not Chapter 5's).

The training loop is compared as in Chapter 5: from the same seed both versions return the same history, leave
the same weights and print the same lines.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import torch
from equivalence import same_as_case, self_check
from torch.utils.data import DataLoader, TensorDataset

import shared
from shared.classifier import make_classifier

CFG = {**shared.get_config("tiny"), "context_length": 12, "emb_dim": 16, "drop_rate": 0.1}


def _classifier(seed: int = 0) -> shared.GPTModel:
    torch.manual_seed(seed)
    return make_classifier(shared.GPTModel(CFG), num_classes=2, trainable_blocks=1)


def _loaders(seed: int = 5) -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, CFG["vocab_size"], (22, 10), generator=generator)
    labels = torch.randint(0, 2, (22,), generator=generator)
    train = DataLoader(TensorDataset(inputs[:16], labels[:16]), batch_size=4, shuffle=True, drop_last=True)
    val = DataLoader(TensorDataset(inputs[16:], labels[16:]), batch_size=4)  # batches of 4 and 2
    return train, val


def _printed(fn, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


@same_as_case("SpamDataset")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "SpamDataset")
    tokenizer = shared.get_tokenizer("embedded")
    with tempfile.TemporaryDirectory() as folder:
        paths = shared.write_split_csvs(Path(folder))
        for max_length in (None, 20):
            mine = notebook_cls(paths["validation"], tokenizer, max_length=max_length, pad_token_id=tokenizer.eot_token)
            ref = shared_cls(paths["validation"], tokenizer, max_length=max_length)
            assert mine.max_length == ref.max_length and len(mine) == len(ref)
            for i in range(len(ref)):
                assert all(torch.equal(a, b) for a, b in zip(mine[i], ref[i]))


@same_as_case("calc_accuracy_loader")
def _(notebook_fn, shared_fn):
    self_check(notebook_fn, "calc_accuracy_loader")
    model = _classifier().eval()
    _, val = _loaders()
    for num_batches in (None, 1, 10):
        assert notebook_fn(val, model, "cpu", num_batches) == shared_fn(val, model, "cpu", num_batches)


@same_as_case("classifier.calc_loss_batch")
def _(notebook_fn, shared_fn):
    model = _classifier().eval()
    inputs, labels = torch.randint(0, CFG["vocab_size"], (3, 7)), torch.tensor([0, 1, 1])
    torch.testing.assert_close(notebook_fn(inputs, labels, model, "cpu"), shared_fn(inputs, labels, model, "cpu"))


@same_as_case("classifier.calc_loss_loader")
def _(notebook_fn, shared_fn):
    model = _classifier().eval()
    _, val = _loaders()
    for num_batches in (None, 1, 10):
        assert notebook_fn(val, model, "cpu", num_batches) == shared_fn(val, model, "cpu", num_batches)


@same_as_case("classifier.evaluate_model")
def _(notebook_fn, shared_fn):
    model = _classifier()
    train, val = _loaders()
    torch.manual_seed(1)
    expected = notebook_fn(model, train, val, "cpu", 2)
    assert model.training, "evaluate_model must leave the model in training mode"
    torch.manual_seed(1)
    assert shared_fn(model, train, val, "cpu", 2) == expected


@same_as_case("train_classifier_simple")
def _(notebook_fn, shared_fn):
    runs = []
    for fn in (notebook_fn, shared_fn):
        model = _classifier(seed=3)
        train, val = _loaders()
        optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-3, weight_decay=0.1)
        torch.manual_seed(4)  # shuffling and dropout draw from the global generator
        history, printed = _printed(fn, model, train, val, optimizer, "cpu", num_epochs=2, eval_freq=2, eval_iter=2)
        runs.append((history, printed, model.state_dict()))
    (history_a, printed_a, weights_a), (history_b, printed_b, weights_b) = runs
    assert history_a == history_b and printed_a == printed_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


@same_as_case("classify_review")
def _(notebook_fn, shared_fn):
    tokenizer = shared.get_tokenizer("embedded")
    for seed in range(4):
        model = _classifier(seed).eval()
        for text in ("Free entry! Text WIN now", "see you soon", "a long message " * 20):
            for max_length in (None, 5, 12, 40):  # shorter than, equal to and longer than the context
                expected = shared_fn(text, model, tokenizer, "cpu", max_length=max_length)
                got = notebook_fn(text, model, tokenizer, "cpu", max_length=max_length,
                                  pad_token_id=tokenizer.eot_token)
                assert got == expected, (text, max_length)


@same_as_case("LoRALayer")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "LoRALayer")


@same_as_case("LinearWithLoRA")
def _(notebook_cls, shared_cls):
    self_check(notebook_cls, "LinearWithLoRA")


@same_as_case("replace_linear_with_lora")
def _(notebook_fn, shared_fn):
    outputs = []
    for fn in (notebook_fn, shared_fn):
        model = _classifier(seed=2).eval()
        model.requires_grad_(False)
        torch.manual_seed(7)  # the A matrices are drawn in the same order
        fn(model, 4, 8)
        names = sorted(n for n, p in model.named_parameters() if p.requires_grad)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if name.endswith(".B"):
                    p.fill_(0.01)
        outputs.append((names, model(torch.arange(10).unsqueeze(0))))
    assert outputs[0][0] == outputs[1][0] and len(outputs[0][0]) == 2 * (6 * CFG["n_layers"] + 1)  # A, B per linear
    torch.testing.assert_close(outputs[0][1], outputs[1][1])
