"""Chapter 5's self-checks (shared/selfcheck_ch05.py): correct code passes, and every hint is backed by a
planted mistake in the learner's code (tests/learner_code.py) that produces exactly that hint.
"""

from __future__ import annotations

import pytest
import torch
from learner_code import learner_namespace
from notebook_runner import REPO_ROOT
from test_selfcheck import notebook_definitions

import shared
from shared import selfcheck_ch05
from shared.selfcheck import check

HINTS = selfcheck_ch05.MISTAKES
NAMES = ["text_to_token_ids", "token_ids_to_text", "calc_loss_batch", "calc_loss_loader", "evaluate_model",
         "generate", "train_model_simple"]

LOSS = "nn.functional.cross_entropy(logits.flatten(0, 1), target_batch.flatten())"
DIVIDE = "    return total_loss / num_batches\n"
TOP_K_WHERE = "scores = torch.where(scores < min_val, torch.tensor(float(\"-inf\")).to(scores.device), scores)"
TEMPERATURE = "            scores = scores / temperature\n"

# (checked name, the hint's key in selfcheck_ch05.MISTAKES, replacements that plant the mistake)
PLANTED = [
    ("text_to_token_ids", "special_not_allowed", [('tokenizer.encode(text, allowed_special={"<|endoftext|>"})',
                                                   "tokenizer.encode(text)")]),
    ("text_to_token_ids", "no_batch_dim", [("torch.tensor(encoded).unsqueeze(0)", "torch.tensor(encoded)")]),
    ("token_ids_to_text", "decode_batch", [("flat = token_ids.squeeze(0)", "flat = token_ids")]),
    ("calc_loss_batch", "loss_not_flattened", [(LOSS, "nn.functional.cross_entropy(logits, target_batch)")]),
    ("calc_loss_batch", "loss_vs_inputs", [(LOSS, LOSS.replace("target_batch.flatten()", "input_batch.flatten()"))]),
    ("calc_loss_batch", "double_shift",
     [(LOSS, "nn.functional.cross_entropy(logits[:, :-1].flatten(0, 1), target_batch[:, 1:].flatten())")]),
    ("calc_loss_batch", "loss_sum", [(LOSS, LOSS[:-1] + ", reduction='sum')")]),
    ("calc_loss_batch", "softmax_first",
     [(LOSS, LOSS.replace("logits.flatten(0, 1)", "torch.softmax(logits, dim=-1).flatten(0, 1)"))]),
    ("calc_loss_batch", "loss_item", [("    return loss\n", "    return loss.item()\n"),
                                      ("total_loss += loss.item()", "total_loss += loss")]),
    ("calc_loss_loader", "num_batches_ignored", [("        if i < num_batches:\n", "        if True:\n"),
                                                 (DIVIDE, "    return total_loss / len(data_loader)\n")]),
    ("calc_loss_loader", "divide_by_len", [(DIVIDE, "    return total_loss / len(data_loader)\n")]),
    ("calc_loss_loader", "num_batches_too_large", [("min(num_batches, len(data_loader))", "num_batches")]),
    ("calc_loss_loader", "empty_loader", [('        return float("nan")\n', '        pass\n'),
                                          ("    elif num_batches is None:", "    if num_batches is None:")]),
    ("evaluate_model", "eval_not_called", [("    model.eval()\n    with torch.no_grad():\n        train_loss",
                                            "    with torch.no_grad():\n        train_loss")]),
    ("evaluate_model", "train_not_restored", [("    model.train()\n    return train_loss, val_loss",
                                               "    return train_loss, val_loss")]),
    ("evaluate_model", "no_grad_missing", [("    with torch.no_grad():\n        train_loss = ",
                                            "    if True:\n        train_loss = ")]),
    ("generate", "temperature_after_softmax",
     [(TEMPERATURE, ""), ("probs = torch.softmax(scores, dim=-1)", "probs = torch.softmax(scores, dim=-1) / temperature")]),
    ("generate", "temperature_multiplied", [(TEMPERATURE, "            scores = scores * temperature\n")]),
    ("generate", "temperature_zero", [("        if temperature > 0.0:\n", "        if True:\n")]),
    ("generate", "top_k_plus_one", [("torch.topk(scores, top_k)", "torch.topk(scores, top_k + 1)")]),
    ("generate", "top_k_zero", [(TOP_K_WHERE, TOP_K_WHERE.replace('torch.tensor(float("-inf"))', "torch.tensor(0.0)"))]),
    ("generate", "top_p_before_temperature",
     [(TEMPERATURE, ""), ("            probs = torch.softmax(scores, dim=-1)\n",
                          "            scores = scores / temperature\n            probs = torch.softmax(scores, dim=-1)\n")]),
    ("generate", "top_p_one_too_few", [("torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= top_p",
                                        "torch.cumsum(sorted_probs, dim=-1) > top_p")]),
    ("generate", "eos_appended", [("        if idx_next == eos_id:\n            break\n        idx = torch.cat((idx, idx_next), dim=1)\n",
                                   "        idx = torch.cat((idx, idx_next), dim=1)\n        if idx_next == eos_id:\n            break\n")]),
    ("generate", "no_crop", [("window = idx[:, -context_size:]", "window = idx")]),
    ("train_model_simple", "no_zero_grad", [("            optimizer.zero_grad()\n", "")]),
    ("train_model_simple", "tokens_per_batch", [("tokens_seen += input_batch.numel()",
                                                 "tokens_seen += input_batch.shape[0]")]),
    ("train_model_simple", "step_from_zero", [("tokens_seen, global_step = 0, -1", "tokens_seen, global_step = 0, 0")]),
]


def run_check(name: str, *replacements: tuple[str, str]):
    return check(learner_namespace(*replacements)[name], name, verbose=False)


@pytest.mark.parametrize("name, key, replacements", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
def test_a_planted_mistake_gets_its_hint_and_no_other(name, key, replacements):
    result = run_check(name, *replacements)
    assert not result, f"the planted mistake was not caught:\n{result}"
    named = {k for k, hint in HINTS.items() if hint in result.hints}
    assert named == {key}, f"expected only the hint {key!r}, got {sorted(named)}:\n{result}"


def test_every_hint_is_backed_by_a_planted_mistake():
    assert set(HINTS) - {key for _, key, _ in PLANTED} == set()


@pytest.mark.parametrize("name", NAMES)
def test_the_shared_function_and_learner_style_code_pass(name):
    assert check(getattr(shared, name), verbose=False)
    assert check(learner_namespace()[name], name, verbose=False)


def test_the_chapter_5_checks_are_registered_under_chapter_5():
    from shared.selfcheck import available_checks

    assert {name: available_checks()[name] for name in NAMES} == dict.fromkeys(NAMES, 5)


def test_the_notebooks_own_functions_pass():
    namespace = notebook_definitions(REPO_ROOT / "ch05" / "ch05.ipynb")
    for name in ["text_to_token_ids", "token_ids_to_text", "calc_loss_batch", "calc_loss_loader", "evaluate_model",
                 "generate", "train_model_simple"]:
        assert namespace[name] is not getattr(shared, name), f"ch05.ipynb does not define {name}"
        result = check(namespace[name], name, verbose=False)
        assert result, str(result)


def test_a_generate_without_top_p_is_compared_on_the_rest():
    book_style = learner_namespace(("temperature=0.0, top_k=None, top_p=None, eos_id=None):",
                                    "temperature=0.0, top_k=None, eos_id=None):"),
                                   ("            if top_p is not None:\n", "            if False:\n"))["generate"]
    result = check(book_style, "generate", verbose=False)
    assert result, str(result)
    assert any("no top_p parameter" in line.detail for line in result.lines)


# --- the variants are the reference with one change -----------------------------------------------------


def test_each_variant_without_a_mistake_is_the_reference():
    model = selfcheck_ch05._model(seed=5)
    idx = torch.randint(0, 40, (1, 3), generator=torch.Generator().manual_seed(2))
    for kwargs in ({}, {"temperature": 1.3}, {"temperature": 0.8, "top_k": 4}, {"temperature": 0.9, "top_p": 0.7},
                   {"eos_id": 7}):
        torch.manual_seed(1)
        expected = shared.generate(model, idx, 12, 5, use_cache=False, **kwargs)
        torch.manual_seed(1)
        assert torch.equal(selfcheck_ch05.generate_variant(model, idx, 12, 5, **kwargs), expected), kwargs

    loader = selfcheck_ch05._loader(4)
    inputs, targets = next(iter(loader))
    with torch.no_grad():
        assert torch.equal(selfcheck_ch05.loss_variant(inputs, targets, model),
                           shared.calc_loss_batch(inputs, targets, model, "cpu"))
        for num_batches in (None, 2, 10):
            assert selfcheck_ch05.loader_variant(loader, model, "cpu", num_batches) == \
                shared.calc_loss_loader(loader, model, "cpu", num_batches)

    histories = []
    for fn in (selfcheck_ch05.train_variant, shared.train_model_simple):
        torch.manual_seed(3)
        model = shared.GPTModel(selfcheck_ch05.CFG, use_sdpa=False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
        torch.manual_seed(4)
        extra = {} if fn is selfcheck_ch05.train_variant else {"start_context": "ab",
                                                                "tokenizer": selfcheck_ch05._Tokenizer()}
        histories.append(fn(model, loader, loader, optimizer, "cpu", num_epochs=2, eval_freq=3, eval_iter=1, **extra))
    assert histories[0] == histories[1]
