"""Chapter 5 same-as cases: the loss, training-loop, decoding and learning-rate functions the ch05 notebooks
define inline behave like `shared`'s.

The training loop is compared by what matters for the pretrained model Chapters 6 and 7 use: from the same
seed, both versions return the same loss history and leave the same weights (so they also draw the same
random numbers, for shuffling and dropout, in the same order) and print the same lines. Sampling is compared
by drawing from the same global generator; the shared `generate` runs without its KV cache there, since
cached logits may differ from uncached ones in the last bits and a draw could then differ.
"""

from __future__ import annotations

import contextlib
import io

import torch
from equivalence import same_as_case

import shared

CFG = {**shared.get_config("tiny"), "context_length": 12, "emb_dim": 16, "drop_rate": 0.1}
TEXT = shared.load_corpus("embedded")[:2000]


def _model(seed: int = 0) -> shared.GPTModel:
    torch.manual_seed(seed)
    return shared.GPTModel(CFG)


def _loaders():
    tokenizer = shared.get_tokenizer("embedded")
    train = shared.create_dataloader_v1(TEXT[:1600], batch_size=4, max_length=12, stride=12, tokenizer=tokenizer)
    val = shared.create_dataloader_v1(TEXT[1600:], batch_size=4, max_length=12, stride=12, shuffle=False,
                                      drop_last=False, tokenizer=tokenizer)
    return train, val


def _printed(fn, *args, **kwargs):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


@same_as_case("text_to_token_ids")
def _(notebook_fn, shared_fn):
    tokenizer = shared.get_tokenizer("embedded")
    for text in ("Every light needs a keeper.", "a<|endoftext|>b", " "):
        assert torch.equal(notebook_fn(text, tokenizer), shared_fn(text, tokenizer))


@same_as_case("token_ids_to_text")
def _(notebook_fn, shared_fn):
    tokenizer = shared.get_tokenizer("embedded")
    ids = shared.text_to_token_ids("The keeper climbed the stairs.<|endoftext|>", tokenizer)
    for form in (ids, ids[0]):
        assert notebook_fn(form, tokenizer) == shared_fn(form, tokenizer)


@same_as_case("calc_loss_batch")
def _(notebook_fn, shared_fn):
    model = _model().eval()
    inputs, targets = torch.randint(0, CFG["vocab_size"], (2, 2, 7))
    torch.testing.assert_close(notebook_fn(inputs, targets, model, "cpu"), shared_fn(inputs, targets, model, "cpu"))


@same_as_case("calc_loss_loader")
def _(notebook_fn, shared_fn):
    model = _model().eval()
    _, val = _loaders()
    for num_batches in (None, 1, 100):
        assert notebook_fn(val, model, "cpu", num_batches) == shared_fn(val, model, "cpu", num_batches)
    empty = torch.utils.data.DataLoader([])
    assert notebook_fn(empty, model, "cpu") != notebook_fn(empty, model, "cpu")  # NaN, like shared's
    assert shared_fn(empty, model, "cpu") != shared_fn(empty, model, "cpu")


@same_as_case("evaluate_model")
def _(notebook_fn, shared_fn):
    model = _model()
    train, val = _loaders()
    torch.manual_seed(1)
    expected = notebook_fn(model, train, val, "cpu", 2)
    assert model.training, "evaluate_model must leave the model in training mode, as the training loop needs"
    torch.manual_seed(1)
    assert shared_fn(model, train, val, "cpu", 2) == expected


@same_as_case("generate_and_print_sample")
def _(notebook_fn, shared_fn):
    model, tokenizer = _model(), shared.get_tokenizer("embedded")
    for max_new_tokens in (5, 20):  # 20 new tokens run past the 12-token context: the window slides
        _, expected = _printed(notebook_fn, model, tokenizer, "cpu", "The keeper", max_new_tokens)
        _, got = _printed(shared_fn, model, tokenizer, "cpu", "The keeper", max_new_tokens)
        assert expected == got and expected.count("\n") == 1


@same_as_case("train_model_simple")
def _(notebook_fn, shared_fn):
    train, val = _loaders()
    tokenizer = shared.get_tokenizer("embedded")
    runs = []
    for fn in (notebook_fn, shared_fn):
        model = _model(seed=3)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.1)
        torch.manual_seed(4)  # the loader's shuffling and dropout draw from the global generator
        history, printed = _printed(fn, model, train, val, optimizer, "cpu", num_epochs=2, eval_freq=3,
                                    eval_iter=2, start_context="Every light", tokenizer=tokenizer)
        runs.append((history, printed, model.state_dict()))
    (history_a, printed_a, weights_a), (history_b, printed_b, weights_b) = runs
    assert history_a == history_b and printed_a == printed_b
    assert all(torch.equal(weights_a[k], weights_b[k]) for k in weights_a)


@same_as_case("filter_top_k")
def _(notebook_fn, shared_fn):
    torch.manual_seed(0)
    logits = torch.randn(3, 50)
    logits[0, :5] = 2.0  # ties at the k-th score are all kept
    for k in (1, 3, 50, 80):
        assert torch.equal(notebook_fn(logits, k), shared_fn(logits, k))
    assert torch.equal(notebook_fn(logits[1], 4), shared_fn(logits[1], 4))  # one row, no batch dimension


@same_as_case("filter_top_p")
def _(notebook_fn, shared_fn):
    torch.manual_seed(0)
    logits = torch.randn(4, 50) * 3
    for p in (0.05, 0.5, 0.9, 1.0):
        assert torch.equal(notebook_fn(logits, p), shared_fn(logits, p))
    toy = torch.tensor([4.51, 0.89, -1.90, 6.75, 1.63, -1.62, -1.89, 6.28, 1.79])
    assert torch.equal(notebook_fn(toy, 0.9), shared_fn(toy, 0.9))


@same_as_case("generate")
def _(notebook_fn, shared_fn):
    model = _model().eval()
    prompt = torch.randint(0, CFG["vocab_size"] - 1, (1, 4))
    settings = [{}, {"temperature": 1.0}, {"temperature": 1.5, "top_k": 20}, {"temperature": 0.7, "top_p": 0.8},
                {"temperature": 1.0, "top_k": 50, "top_p": 0.9}, {"top_k": 5}]
    for kwargs in settings:
        for max_new_tokens in (6, 20):
            torch.manual_seed(11)
            expected = notebook_fn(model, prompt, max_new_tokens, CFG["context_length"], **kwargs)
            torch.manual_seed(11)
            got = shared_fn(model, prompt, max_new_tokens, CFG["context_length"], use_cache=False, **kwargs)
            assert torch.equal(expected, got), f"different tokens for {kwargs}"
    greedy = notebook_fn(model, prompt, 10, CFG["context_length"])
    assert torch.equal(greedy, shared_fn(model, prompt, 10, CFG["context_length"], use_cache=True))
    eos_id = int(greedy[0, 6])  # stop where the greedy text produces this token
    stopped = notebook_fn(model, prompt, 10, CFG["context_length"], eos_id=eos_id)
    assert torch.equal(stopped, shared_fn(model, prompt, 10, CFG["context_length"], eos_id=eos_id))
    assert stopped.shape[1] <= 6
    batch = torch.randint(0, CFG["vocab_size"], (3, 5))
    torch.manual_seed(2)
    expected = notebook_fn(model, batch, 8, CFG["context_length"], temperature=1.2, top_k=30)
    torch.manual_seed(2)
    assert torch.equal(expected, shared_fn(model, batch, 8, CFG["context_length"], temperature=1.2, top_k=30,
                                           use_cache=False))


@same_as_case("lr_at_step")
def _(notebook_fn, shared_fn):
    for schedule in ("cosine", "constant"):
        for total_steps, warmup_steps in ((100, 0), (100, 10), (10, 10), (5, 20)):
            for step in range(0, 110, 3):
                args = (step, total_steps, 1e-3, warmup_steps, 1e-4, schedule)
                assert notebook_fn(*args) == shared_fn(*args), args
