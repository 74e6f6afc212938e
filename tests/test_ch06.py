"""Chapter 6: the classifier (head, frozen and trainable layers, last/first token), loss and accuracy, the
training loop, classify_review on long texts, saving and loading, LoRA (counts, equal at initialisation
and after merging), the self-checks' hints, the UCI data's book numbers, the script and the notebooks.

The data side (the embedded SMS set, balancing, splitting, SpamDataset) is tested in test_ch06_data.py.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import subprocess
import sys

import pytest
import torch
from book_data import book_resource
from learner_code import learner_namespace
from notebook_checks import chapter_notebooks, execute_notebook
from notebook_runner import REPO_ROOT
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import shared
from shared import (
    GPTModel,
    LinearWithLoRA,
    LoRALayer,
    SpamDataset,
    calc_accuracy_loader,
    classifier,
    classify_review,
    count_parameters,
    create_balanced_dataset,
    get_config,
    get_tokenizer,
    load_classifier,
    load_sms_data,
    make_classifier,
    merge_lora,
    random_split,
    replace_linear_with_lora,
    save_classifier,
    selfcheck_ch06,
    train_classifier_simple,
    write_split_csvs,
)
from shared.checkpoint import CheckpointError
from shared.selfcheck import check

CH06 = REPO_ROOT / "ch06"
TINY = get_config("tiny", emb_dim=16, context_length=16)


def tiny_classifier(seed: int = 0, trainable_blocks=1, **overrides) -> GPTModel:
    torch.manual_seed(seed)
    return make_classifier(GPTModel({**TINY, **overrides}), num_classes=2, trainable_blocks=trainable_blocks)


class FixedLogits(nn.Module):
    """A 'model' whose class scores at every position are given: (b, num_tokens, num_classes)."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = logits
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, ids):
        return self.logits[:ids.shape[0]]


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"ch06_{name}", CH06 / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the classifier --------------------------------------------------------------------------------------

def test_the_new_head_gives_one_score_per_class():
    model = tiny_classifier()
    ids = torch.randint(0, TINY["vocab_size"], (3, 7))
    assert model(ids).shape == (3, 7, 2)
    assert model.out_head.weight.shape == (2, 16) and model.out_head.bias is not None
    torch.manual_seed(0)
    three = make_classifier(GPTModel(TINY), num_classes=3)
    assert three(ids).shape == (3, 7, 3)


def test_the_head_is_seeded():
    assert torch.equal(tiny_classifier(seed=1).out_head.weight, tiny_classifier(seed=2).out_head.weight)


# small-cpu: 4 blocks of 788,992 parameters, final norm 512, head 2 * 256 + 2 = 514
@pytest.mark.parametrize("trainable_blocks, final_norm, expected", [
    (0, True, 1_026), (1, True, 790_018), (1, False, 789_506), (2, True, 1_579_010), (4, True, 3_156_994),
    ("all", True, 3_746_818),
])
def test_trainable_parameters_for_each_freezing_choice(trainable_blocks, final_norm, expected):
    with torch.device("meta"):
        model = make_classifier(GPTModel(get_config("small-cpu")), 2, trainable_blocks, train_final_norm=final_norm)
    assert count_parameters(model) == expected
    assert count_parameters(model, trainable_only=False) == 3_746_818
    trainable = {name.split(".")[0] for name, p in model.named_parameters() if p.requires_grad}
    if trainable_blocks != "all":
        assert "tok_emb" not in trainable and "pos_emb" not in trainable
        assert ("final_norm" in trainable) == final_norm and "out_head" in trainable


def test_the_last_blocks_are_the_trainable_ones():
    model = tiny_classifier(trainable_blocks=1)
    assert all(p.requires_grad for p in model.trf_blocks[-1].parameters())
    assert not any(p.requires_grad for p in model.trf_blocks[0].parameters())


def test_the_books_124m_counts_on_the_meta_device():
    with torch.device("meta"):
        model = make_classifier(GPTModel(get_config("gpt2-small (124M)", qkv_bias=True)), 2, "all")
        assert count_parameters(model) == 124_441_346  # the book's "Total trainable parameters before"
        model.requires_grad_(False)
        assert count_parameters(model) == 0
        replace_linear_with_lora(model, rank=16, alpha=16)
    assert count_parameters(model) == 2_666_528  # the book's "Total trainable LoRA parameters"


@pytest.mark.parametrize("trainable_blocks, message", [(3, "from 0 to 2"), (-1, "from 0 to 2"), ("last", "'all'"),
                                                       (True, "'all'")])
def test_bad_trainable_blocks_is_a_clear_error(trainable_blocks, message):
    with pytest.raises(ValueError, match=message):
        tiny_classifier(trainable_blocks=trainable_blocks)


def test_bad_heads_are_a_clear_error():
    with pytest.raises(ValueError, match="at least 2"):
        make_classifier(GPTModel(TINY), num_classes=1)
    with pytest.raises(TypeError, match="GPTModel"):
        make_classifier(nn.Sequential(nn.Linear(2, 2)))


# --- loss and accuracy --------------------------------------------------------------------------------------

def test_accuracy_on_a_hand_made_batch():
    # 5 messages, 3 positions: the last position says 0, 1, 1, 0, 1 and the first the opposite
    last = torch.tensor([[2.0, 0.0], [0.0, 1.0], [0.5, 3.0], [1.0, -1.0], [0.0, 0.1]])
    logits = torch.stack([-last, torch.zeros(5, 2), last], dim=1)  # (5, 3, 2)
    labels = torch.tensor([0, 1, 0, 0, 1])  # the third is wrong
    loader = DataLoader(TensorDataset(torch.zeros(5, 3, dtype=torch.long), labels), batch_size=5)
    model = FixedLogits(logits)
    assert calc_accuracy_loader(loader, model, "cpu") == 0.8
    assert calc_accuracy_loader(loader, model, "cpu", position=0) == 0.2  # Exercise 6.3's first token


def test_accuracy_counts_examples_not_batches_and_stops_after_num_batches():
    logits = torch.tensor([[0.0, 1.0]] * 5).unsqueeze(1)  # every message: "spam"
    labels = torch.tensor([1, 1, 0, 0, 0])
    loader = DataLoader(TensorDataset(torch.zeros(5, 1, dtype=torch.long), labels), batch_size=2)  # 2, 2, 1
    model = FixedLogits(logits)
    assert calc_accuracy_loader(loader, model, "cpu") == 0.4
    assert calc_accuracy_loader(loader, model, "cpu", num_batches=1) == 1.0
    assert calc_accuracy_loader(loader, model, "cpu", num_batches=2) == 0.5


def test_the_loss_is_the_cross_entropy_of_the_last_token():
    logits = torch.tensor([[[9.0, 9.0], [2.0, 0.0]], [[9.0, 9.0], [0.0, 1.0]]])  # (2, 2 positions, 2 classes)
    labels = torch.tensor([0, 1])
    model = FixedLogits(logits)
    expected = torch.nn.functional.cross_entropy(logits[:, -1], labels)
    torch.testing.assert_close(classifier.calc_loss_batch(torch.zeros(2, 2, dtype=torch.long), labels, model, "cpu"),
                               expected)
    loader = DataLoader(TensorDataset(torch.zeros(2, 2, dtype=torch.long), labels), batch_size=2)
    assert classifier.calc_loss_loader(loader, model, "cpu") == pytest.approx(expected.item(), rel=1e-6)
    assert classifier.calc_loss_loader(DataLoader([]), model, "cpu") != 0.0  # NaN for an empty loader


def test_accuracy_leaves_the_training_mode_as_it_was():
    model = tiny_classifier()
    loader = DataLoader(TensorDataset(torch.zeros(2, 4, dtype=torch.long), torch.tensor([0, 1])), batch_size=2)
    model.train()
    calc_accuracy_loader(loader, model, "cpu")
    assert model.training


def test_training_learns_a_separable_task_and_returns_the_books_values():
    torch.manual_seed(0)
    inputs = torch.randint(0, 100, (48, 8))
    labels = (inputs[:, 0] % 2 == 0).long()  # the first token's parity
    inputs[:, -1] = inputs[:, 0]  # ... which the last token sees directly
    train = DataLoader(TensorDataset(inputs[:40], labels[:40]), batch_size=8, shuffle=True, drop_last=True)
    val = DataLoader(TensorDataset(inputs[40:], labels[40:]), batch_size=8)
    model = tiny_classifier(trainable_blocks="all", drop_rate=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        train_losses, val_losses, train_accs, val_accs, examples_seen = train_classifier_simple(
            model, train, val, optimizer, "cpu", num_epochs=12, eval_freq=5, eval_iter=5)
    assert examples_seen == 12 * 40 and len(train_accs) == len(val_accs) == 12
    assert len(train_losses) == len(val_losses) == 12  # 60 steps, evaluated at 0, 5, ..., 55
    assert train_losses[-1] < train_losses[0] and train_accs[-1] >= 0.95
    assert "Training accuracy:" in out.getvalue() and "Ep 1 (Step 000000)" in out.getvalue()


def test_training_needs_something_to_train():
    model = tiny_classifier()
    model.requires_grad_(False)
    loader = DataLoader(TensorDataset(torch.zeros(2, 4, dtype=torch.long), torch.tensor([0, 1])), batch_size=2)
    with pytest.raises(ValueError, match="no parameter of the model is trainable"):
        train_classifier_simple(model, loader, loader, torch.optim.SGD([torch.zeros(1)], lr=0.1), "cpu", 1, 1, 1)


# --- classifying new messages -----------------------------------------------------------------------------

def test_classify_review_reads_what_the_dataset_gives(tmp_path):
    tokenizer = get_tokenizer("embedded")
    model = tiny_classifier(seed=4).eval()
    path = tmp_path / "test.csv"
    texts = ["Free entry! Text WIN to claim", "see you at noon", "ok"]
    path.write_text("Label,Text\n" + "".join(f"{i % 2},{t}\n" for i, t in enumerate(texts)), encoding="utf-8")
    dataset = SpamDataset(path, tokenizer, max_length=12)
    for i, text in enumerate(texts):
        with torch.no_grad():
            label = model(dataset[i][0].unsqueeze(0))[0, -1].argmax().item()
        assert classify_review(text, model, tokenizer, "cpu", max_length=12) == ("spam" if label else "not spam")


def test_classify_review_handles_texts_longer_than_the_context():
    tokenizer = get_tokenizer("embedded")
    model = tiny_classifier(seed=1).eval()
    text = "Congratulations, you have been selected for a cash prize. " * 20
    ids = tokenizer.encode(text)
    assert len(ids) > 10 * TINY["context_length"]
    first = torch.tensor(ids[:TINY["context_length"]]).unsqueeze(0)  # the first context_length tokens are read
    with torch.no_grad():
        expected = "spam" if model(first)[0, -1].argmax().item() == 1 else "not spam"
    for max_length in (None, TINY["context_length"], 1000):  # a max_length beyond the context is capped
        assert classify_review(text, model, tokenizer, "cpu", max_length=max_length) == expected


def test_classify_review_pads_short_texts_with_the_given_token():
    tokenizer = get_tokenizer("embedded")
    seen = []

    class Recorder(nn.Module):
        pos_emb = nn.Embedding(16, 1)

        def forward(self, ids):
            seen.append(ids)
            return torch.zeros(ids.shape[0], ids.shape[1], 2)

    classify_review("hi", Recorder(), tokenizer, "cpu", max_length=6, pad_token_id=5)
    classify_review("hi", Recorder(), tokenizer, "cpu", max_length=6)
    classify_review("hi", Recorder(), tokenizer, "cpu")
    hi = tokenizer.encode("hi")
    assert seen[0][0].tolist() == hi + [5] * (6 - len(hi))
    assert seen[1][0].tolist() == hi + [tokenizer.eot_token] * (6 - len(hi))
    assert seen[2][0].tolist() == hi  # no max_length: no padding
    with pytest.raises(ValueError, match="non-empty str"):
        classify_review("", Recorder(), tokenizer, "cpu")


def test_a_saved_classifier_loads_with_its_information(tmp_path):
    model = tiny_classifier(seed=3).eval()
    path = save_classifier(tmp_path / "c.pth", model, "embedded", max_length=12, accuracy={"test": 0.9})
    loaded, info = load_classifier(path)
    ids = torch.randint(0, TINY["vocab_size"], (2, 9))
    assert torch.equal(loaded(ids), model(ids)) and not loaded.training
    assert info == {"tokenizer": "embedded", "max_length": 12, "accuracy": {"test": 0.9}}
    shared.save_checkpoint(tmp_path / "lm.pth", GPTModel(TINY))
    with pytest.raises(CheckpointError, match="not a classifier"):
        load_classifier(tmp_path / "lm.pth")


# --- LoRA -------------------------------------------------------------------------------------------------

def test_lora_layer_shapes_and_zero_start():
    layer = LoRALayer(6, 5, rank=3, alpha=2.0)
    assert layer.A.shape == (6, 3) and layer.B.shape == (3, 5)
    assert torch.equal(layer(torch.randn(2, 6)), torch.zeros(2, 5)) and layer.A.abs().sum() > 0
    with pytest.raises(ValueError, match="rank must be a positive integer"):
        LoRALayer(6, 5, rank=0, alpha=1.0)


def test_lora_model_equals_the_original_at_initialisation_and_after_merging():
    model = tiny_classifier(seed=5, drop_rate=0.0).eval()
    ids = torch.randint(0, TINY["vocab_size"], (3, 11))
    with torch.no_grad():
        original = model(ids)
    model.requires_grad_(False)
    replace_linear_with_lora(model, rank=4, alpha=8)
    num_wrapped = sum(isinstance(m, LinearWithLoRA) for m in model.modules())
    assert num_wrapped == 6 * TINY["n_layers"] + 1  # Q, K, V, out_proj, two feed-forward layers; the head
    assert count_parameters(model) == sum(m.lora.A.numel() + m.lora.B.numel() for m in model.modules()
                                          if isinstance(m, LinearWithLoRA))
    with torch.no_grad():
        assert torch.equal(model(ids), original)  # B = 0: exactly the same outputs
        generator = torch.Generator().manual_seed(0)
        for m in model.modules():
            if isinstance(m, LoRALayer):
                m.B.copy_(0.05 * torch.randn(m.B.shape, generator=generator))  # as if trained
        trained = model(ids)
        assert not torch.allclose(trained, original)
        merge_lora(model)
        assert not any(isinstance(m, LinearWithLoRA) for m in model.modules())
        torch.testing.assert_close(model(ids), trained, atol=1e-5, rtol=1e-5)
    assert set(model.state_dict()) == set(tiny_classifier().state_dict())  # a plain classifier again


def test_lora_trains_only_a_and_b():
    model = tiny_classifier(seed=6)
    model.requires_grad_(False)
    replace_linear_with_lora(model, rank=2, alpha=4)
    frozen = {n: p.clone() for n, p in model.named_parameters() if not p.requires_grad}
    loss = classifier.calc_loss_batch(torch.randint(0, 100, (4, 6)), torch.tensor([0, 1, 0, 1]), model, "cpu")
    loss.backward()
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.5)
    optimizer.step()
    assert all(torch.equal(p, frozen[n]) for n, p in model.named_parameters() if n in frozen)
    assert all(n.endswith((".A", ".B")) for n, p in model.named_parameters() if p.requires_grad)


def test_replace_linear_with_lora_wraps_a_layer_only_once():
    model = tiny_classifier()
    replace_linear_with_lora(model, rank=2, alpha=1)
    replace_linear_with_lora(model, rank=2, alpha=1)
    assert not any(isinstance(m.linear, LinearWithLoRA) for m in model.modules() if isinstance(m, LinearWithLoRA))


# --- the self-checks ----------------------------------------------------------------------------------------

# (checked name, the hint's key in selfcheck_ch06.MISTAKES, replacements that plant the mistake)
PAD_LINE = "encoded + [pad_token_id] * (self.max_length - len(encoded))"
PLANTED = [
    ("SpamDataset", "pad_left", [(PAD_LINE, "[pad_token_id] * (self.max_length - len(encoded)) + encoded")]),
    ("SpamDataset", "no_truncation", [("encoded[:self.max_length] for", "encoded for")]),
    ("SpamDataset", "truncate_end", [("encoded[:self.max_length] for", "encoded[-self.max_length:] for")]),
    ("SpamDataset", "pad_zero", [("[pad_token_id] * (self.max_length", "[0] * (self.max_length")]),
    ("calc_accuracy_loader", "first_token", [("logits = model(input_batch)[:, -1, :]",
                                              "logits = model(input_batch)[:, 0, :]")]),
    ("calc_accuracy_loader", "mean_of_batches",
     [("num_examples += predicted_labels.shape[0]", "num_examples += 1"),
      ("correct_predictions += (predicted_labels == target_batch).sum().item()",
       "correct_predictions += (predicted_labels == target_batch).float().mean().item()")]),
    ("calc_accuracy_loader", "all_batches", [("        if i < num_batches:", "        if True:")]),
    ("calc_accuracy_loader", "no_eval", [("    model.eval()\n    correct_predictions", "    correct_predictions")]),
    ("LoRALayer", "lora_b_not_zero", [("self.B = nn.Parameter(torch.zeros(rank, out_dim))",
                                       "self.B = nn.Parameter(torch.randn(rank, out_dim))")]),
    ("LoRALayer", "lora_a_zero", [("nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))", "nn.init.zeros_(self.A)")]),
    ("LoRALayer", "lora_alpha_over_rank", [("self.alpha = alpha", "self.alpha = alpha / rank")]),
    ("LoRALayer", "lora_no_alpha", [("x = self.alpha * (x @ self.A @ self.B)", "x = x @ self.A @ self.B")]),
    ("LinearWithLoRA", "lora_only", [("return self.linear(x) + self.lora(x)", "return self.lora(x)")]),
    ("LinearWithLoRA", "lora_ignored", [("return self.linear(x) + self.lora(x)", "return self.linear(x)")]),
]


@pytest.mark.parametrize("name, key, replacements", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
def test_a_planted_mistake_gets_its_hint_and_no_other(name, key, replacements):
    result = check(learner_namespace(*replacements)[name], name, verbose=False)
    assert not result, f"the planted mistake was not caught:\n{result}"
    named = {k for k, hint in selfcheck_ch06.MISTAKES.items() if hint in result.hints}
    assert named == {key}, f"expected only the hint {key!r}, got {sorted(named)}:\n{result}"


def test_every_hint_is_backed_by_a_planted_mistake():
    assert set(selfcheck_ch06.MISTAKES) == {key for _, key, _ in PLANTED}


@pytest.mark.parametrize("name", ["SpamDataset", "calc_accuracy_loader", "LoRALayer", "LinearWithLoRA"])
def test_the_book_style_code_and_the_shared_code_pass(name):
    assert check(learner_namespace()[name], name, verbose=False)
    assert check(getattr(shared, name), verbose=False)


def test_misnamed_lora_matrices_end_the_check_with_a_naming_hint():
    result = check(learner_namespace(("self.A", "self.down"))["LoRALayer"], "LoRALayer", verbose=False)
    assert not result and any("A (in_dim, rank)" in hint for hint in result.hints)


# --- the UCI data (book resource) ------------------------------------------------------------------------

def test_uci_data_gives_the_books_counts_balance_and_splits(tmp_path):
    book_resource("sms-spam-collection")  # skipped locally when absent, a failure in CI
    df = load_sms_data("uci")
    assert len(df) == 5572 and (df["Label"] == "spam").sum() == 747 and (df["Label"] == "ham").sum() == 4825
    balanced = create_balanced_dataset(df)
    assert balanced["Label"].value_counts().to_dict() == {"ham": 747, "spam": 747}
    assert [len(split) for split in random_split(balanced, 0.7, 0.1)] == [1045, 149, 300]
    paths = write_split_csvs(tmp_path, source="uci")
    datasets = [SpamDataset(paths[name], get_tokenizer("embedded")) for name in ("train", "validation", "test")]
    assert [len(d) for d in datasets] == [1045, 149, 300]


def test_embedded_data_is_balanced_and_split_like_the_book():
    balanced = create_balanced_dataset(load_sms_data("embedded"))
    assert balanced["Label"].value_counts().to_dict() == {"ham": 780, "spam": 780}
    train, validation, test = random_split(balanced, 0.7, 0.1)
    assert (len(train), len(validation), len(test)) == (1092, 156, 312)
    assert not set(test["Text"]) & (set(train["Text"]) | set(validation["Text"]))  # held out


# --- the script and the notebooks -------------------------------------------------------------------------

def test_the_script_runs_end_to_end(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_CHECKPOINTS", str(tmp_path))
    script = CH06 / "gpt_class_finetune.py"
    result = subprocess.run([sys.executable, str(script), "--model", "random", "--epochs", "1", "--train-subset",
                             "16", "--max-length", "24", "--output", str(tmp_path / "c.pth")],
                            capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "test accuracy:" in result.stdout and "padded to 24 tokens" in result.stdout
    model, info = load_classifier(tmp_path / "c.pth")
    assert info["max_length"] == 24 and model.out_head.out_features == 2


def test_the_script_with_lora_saves_a_merged_classifier(tmp_path):
    results = load_script("gpt_class_finetune").main(
        ["--model", "random", "--epochs", "1", "--train-subset", "16", "--max-length", "16", "--lora-rank", "2",
         "--output", str(tmp_path / "lora.pth")])
    assert 0 <= results["test"] <= 1
    model, _ = load_classifier(tmp_path / "lora.pth")
    assert not any(isinstance(m, LinearWithLoRA) for m in model.modules())


def test_the_script_rejects_bad_flags():
    script = load_script("gpt_class_finetune")
    with pytest.raises(SystemExit):
        script.parse_args(["--trainable-blocks", "last"])
    assert script.parse_args(["--trainable-blocks", "all"]).trainable_blocks == "all"
    assert script.parse_args(["--trainable-blocks", "2"]).trainable_blocks == 2


@pytest.mark.parametrize("path", chapter_notebooks("ch06"), ids=lambda p: p.name)
def test_notebook_runs(path):
    execute_notebook(path, timeout=900)
