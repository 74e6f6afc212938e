"""Chapter 5: the loss, the book's training loop, decoding, checkpoints, train_model (exact resume, divergence),
multi-process training under torchrun, the pretrained-model recipe, the scripts and the chapter's notebooks.

The resource layer and the GPT-2 download are tested in test_ch05_downloads.py.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from notebook_checks import chapter_notebooks, execute_notebook
from notebook_runner import REPO_ROOT

import shared
from shared import (
    CheckpointError,
    GPTModel,
    TrainConfig,
    TrainingDiverged,
    calc_loss_batch,
    calc_loss_loader,
    create_dataloader_v1,
    filter_top_k,
    filter_top_p,
    generate,
    generate_batch,
    generate_stream,
    generate_text_simple,
    get_config,
    get_tokenizer,
    load_checkpoint,
    load_corpus,
    load_model_from_checkpoint,
    lr_at_step,
    perplexity,
    save_checkpoint,
    set_seed,
    stream_text,
    text_to_token_ids,
    token_ids_to_text,
    train_model,
    train_model_simple,
)

CH05 = REPO_ROOT / "ch05"
TINY = get_config("tiny", emb_dim=16)


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"ch05_{name}", CH05 / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_model(seed: int = 0, **overrides) -> GPTModel:
    torch.manual_seed(seed)
    return GPTModel({**TINY, **overrides})


def loaders(batch_size: int = 4, max_length: int = 16):
    text = load_corpus()
    train = create_dataloader_v1(text[:6000], batch_size=batch_size, max_length=max_length, stride=max_length)
    val = create_dataloader_v1(text[6000:9000], batch_size=batch_size, max_length=max_length, stride=max_length,
                               shuffle=False, drop_last=False)
    return train, val


# --- the loss ---------------------------------------------------------------------------------------------------

class FixedLogits(torch.nn.Module):
    """A 'model' that returns the same logits whatever the input."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = torch.nn.Parameter(logits)

    def forward(self, ids):
        return self.logits.expand(ids.shape[0], -1, -1)


def test_loss_is_the_mean_negative_log_probability_of_the_targets():
    logits = torch.tensor([[[2.0, 1.0, 0.1], [0.5, 2.5, 0.0]]])  # (1, 2 positions, 3 tokens)
    targets = torch.tensor([[0, 2]])
    by_hand = []
    for position, target in enumerate(targets[0].tolist()):
        row = logits[0, position].tolist()
        log_sum = math.log(sum(math.exp(v) for v in row))
        by_hand.append(-(row[target] - log_sum))
    loss = calc_loss_batch(torch.zeros(1, 2, dtype=torch.long), targets, FixedLogits(logits), "cpu")
    assert loss.item() == pytest.approx(sum(by_hand) / 2, abs=1e-6)
    assert perplexity(loss.item()) == pytest.approx(math.exp(sum(by_hand) / 2))


def test_untrained_model_loss_is_near_uniform_guessing():
    train, _ = loaders()
    loss = calc_loss_loader(train, tiny_model(), "cpu", num_batches=3)
    assert abs(loss - math.log(TINY["vocab_size"])) < 0.3  # ln(2048) = 7.62


def test_calc_loss_loader_limits_batches_and_handles_empty_loaders():
    train, _ = loaders()
    model = tiny_model()
    ordered = torch.utils.data.DataLoader(train.dataset, batch_size=4)
    first_two = [calc_loss_batch(x, y, model, "cpu").item() for (x, y), _ in zip(ordered, range(2))]
    assert calc_loss_loader(ordered, model, "cpu", num_batches=2) == pytest.approx(sum(first_two) / 2)
    assert calc_loss_loader(ordered, model, "cpu", num_batches=10_000) == pytest.approx(
        calc_loss_loader(ordered, model, "cpu"))
    assert math.isnan(calc_loss_loader([], model, "cpu"))


def test_text_and_token_ids_round_trip():
    tokenizer = get_tokenizer()
    ids = text_to_token_ids("Every light needs a keeper.<|endoftext|>", tokenizer)
    assert ids.shape[0] == 1 and ids[0, -1] == tokenizer.eot_token
    assert token_ids_to_text(ids, tokenizer) == "Every light needs a keeper.<|endoftext|>"
    with pytest.raises(ValueError, match="decodes one sequence"):
        token_ids_to_text(torch.zeros(2, 3, dtype=torch.long), tokenizer)


# --- the book's training loop -----------------------------------------------------------------------------------

def test_train_model_simple_lowers_the_loss_and_reports_like_the_book(capsys):
    train, val = loaders()
    model = tiny_model(drop_rate=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    before = calc_loss_loader(train, model, "cpu")
    train_losses, val_losses, tokens_seen = train_model_simple(
        model, train, val, optimizer, "cpu", num_epochs=3, eval_freq=10, eval_iter=2,
        start_context="Every light", tokenizer=get_tokenizer())
    steps = 3 * len(train)
    assert len(train_losses) == len(val_losses) == len(tokens_seen) == math.ceil(steps / 10)
    assert tokens_seen[0] == 4 * 16 and tokens_seen == sorted(tokens_seen)
    assert calc_loss_loader(train, model, "cpu") < before - 1.0
    printed = capsys.readouterr().out
    assert "Ep 1 (Step 000000): Train loss" in printed and printed.count("Every light") == 3


def test_a_tokenizer_larger_than_the_model_is_refused():
    set_seed(0)
    with pytest.raises(ValueError, match="50,257 tokens but the model only 2,048"):
        shared.generate_and_print_sample(tiny_model(), type("T", (), {"n_vocab": 50257})(), "cpu", "x")


# --- decoding ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model():
    return tiny_model(1).eval()


def prompt(n: int = 4, batch: int = 1, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 2048, (batch, n), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("use_cache", [True, False])
def test_temperature_zero_is_exactly_greedy(model, use_cache):
    idx = prompt(batch=2)
    expected = generate_text_simple(model, idx, 30, 16)
    assert torch.equal(generate(model, idx, 30, 16, use_cache=use_cache), expected)
    assert torch.equal(generate(model, idx, 30, 16, top_k=5, top_p=0.5), expected)  # filters keep the best


def test_top_k_never_samples_outside_the_k_best():
    logits = torch.tensor([[3.0, 2.5, 2.0, 1.0, 0.0, -1.0]])
    assert torch.isinf(filter_top_k(logits, 3)[0, 3:]).all() and not torch.isinf(filter_top_k(logits, 3)[0, :3]).any()
    choose = shared.decoding.make_sampler(temperature=5.0, top_k=3, generator=torch.Generator().manual_seed(0))
    draws = {int(choose(logits)) for _ in range(500)}
    assert draws == {0, 1, 2}


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    probs = torch.tensor([[0.5, 0.2, 0.15, 0.1, 0.05]])
    logits = probs.log()
    kept = lambda p: (~torch.isinf(filter_top_p(logits, p)[0])).nonzero().flatten().tolist()  # noqa: E731
    assert kept(0.5) == [0]  # 0.5 alone reaches 0.5
    assert kept(0.6) == [0, 1]  # 0.5 + 0.2 = 0.7 >= 0.6
    assert kept(0.86) == [0, 1, 2, 3]  # 0.85 is not enough
    assert kept(1.0) == [0, 1, 2, 3, 4]
    shuffled = logits[:, [3, 0, 4, 2, 1]]  # the order of the vocabulary does not matter
    assert (~torch.isinf(filter_top_p(shuffled, 0.6)[0])).nonzero().flatten().tolist() == [1, 4]


def test_sampling_is_reproducible_with_a_seed_or_the_global_generator(model):
    idx = prompt()
    a = generate(model, idx, 20, 16, temperature=1.5, top_k=50, seed=7)
    assert torch.equal(a, generate(model, idx, 20, 16, temperature=1.5, top_k=50, seed=7))
    assert not torch.equal(a, generate(model, idx, 20, 16, temperature=1.5, top_k=50, seed=8))
    torch.manual_seed(123)
    b = generate(model, idx, 20, 16, temperature=1.5)
    torch.manual_seed(123)
    assert torch.equal(b, generate(model, idx, 20, 16, temperature=1.5, use_cache=False))


def test_eos_stops_generation_and_is_not_appended(model):
    idx = prompt()
    greedy = generate(model, idx, 20, 16)
    eos = int(greedy[0, 7])  # the 4th generated token
    out = generate(model, idx, 20, 16, eos_id=eos)
    first = greedy[0, 4:].tolist().index(eos)
    assert out[0, 4:].tolist() == greedy[0, 4:4 + first].tolist()
    assert list(generate_stream(model, idx, 20, 16, eos_id=eos)) == out[0, 4:].tolist()


def test_a_finished_row_is_padded_with_eos(model):
    idx = prompt(batch=2, seed=3)
    greedy = generate(model, idx, 12, 16)
    eos = int(greedy[0, 6])
    out = generate(model, idx, 12, 16, eos_id=eos)
    row0 = greedy[0, 4:].tolist()
    stop = row0.index(eos)
    assert out[0, 4 + stop:].eq(eos).all()
    assert out[0, 4:4 + stop].tolist() == row0[:stop]


def test_stream_yields_the_same_tokens_as_generate(model):
    idx = prompt()
    streamed = list(generate_stream(model, idx, 25, 16, temperature=0.9, top_p=0.9, seed=3))
    assert streamed == generate(model, idx, 25, 16, temperature=0.9, top_p=0.9, seed=3)[0, 4:].tolist()
    with pytest.raises(ValueError, match="streams one sequence"):
        next(generate_stream(model, prompt(batch=2), 3, 16))


def test_batched_prompts_of_different_lengths_equal_generating_each_alone(model):
    prompts = [prompt(n, seed=n)[0].tolist() for n in (2, 9, 15, 30)]  # 30 > the context of 16
    batched = generate_batch(model, prompts, 25, 16)
    for p, new in zip(prompts, batched):
        assert new == generate(model, torch.tensor([p]), 25, 16)[0, len(p):].tolist()
    eos = batched[1][3]
    with_eos = generate_batch(model, prompts, 25, 16, eos_id=eos)
    assert with_eos[1] == batched[1][:3]


def test_stream_text_keeps_characters_split_across_tokens_whole():
    tokenizer = get_tokenizer()
    text = "Zoë's café — naïve 🙂 done"
    ids = tokenizer.encode(text)
    assert any("\ufffd" in tokenizer.decode([i]) for i in ids)  # some tokens hold part of a character
    pieces = list(stream_text(ids, tokenizer))
    assert "".join(pieces) == text and not any("\ufffd" in p for p in pieces)


@pytest.mark.parametrize("kwargs, message", [
    ({"temperature": -1}, "temperature must be >= 0"),
    ({"top_k": 0}, "top_k must be a positive integer"),
    ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
])
def test_bad_sampling_settings_are_refused(model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate(model, prompt(), 3, 16, **kwargs)


# --- checkpoints --------------------------------------------------------------------------------------------------

def test_checkpoint_round_trip_and_atomic_overwrite(tmp_path, monkeypatch):
    model = tiny_model(2)
    optimizer = torch.optim.AdamW(model.parameters())
    path = save_checkpoint(tmp_path / "c.pth", model, optimizer=optimizer, step=3, tokenizer_name="embedded")
    copy = tiny_model(5)
    state = load_checkpoint(path, copy, tokenizer_name="embedded")
    assert state["step"] == 3 and all(torch.equal(a, b) for a, b in zip(model.parameters(), copy.parameters()))

    def crash(obj, f, *args, **kwargs):  # a run killed half way through writing
        f.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, tiny_model(9), step=4)
    monkeypatch.undo()
    assert load_checkpoint(path, copy)["step"] == 3  # the old checkpoint is intact
    assert [p.name for p in tmp_path.iterdir()] == ["c.pth"]  # no temporary file left behind


def test_broken_or_foreign_checkpoints_get_one_clear_error(tmp_path):
    model = tiny_model()
    good = save_checkpoint(tmp_path / "good.pth", model)
    (tmp_path / "cut.pth").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (tmp_path / "text.pth").write_text("<html>not found</html>")
    torch.save({"learning_rate": 0.1}, tmp_path / "other.pth")
    with pytest.raises(CheckpointError, match="cut.pth is not a readable checkpoint.*truncated"):
        load_checkpoint(tmp_path / "cut.pth", model)
    with pytest.raises(CheckpointError, match="text.pth is not a readable checkpoint"):
        load_checkpoint(tmp_path / "text.pth", model)
    with pytest.raises(CheckpointError, match="not a model checkpoint"):
        load_checkpoint(tmp_path / "other.pth", model)
    with pytest.raises(CheckpointError, match="no checkpoint at .*missing.pth"):
        load_checkpoint(tmp_path / "missing.pth", model)


def test_a_mismatched_checkpoint_lists_every_difference(tmp_path):
    path = save_checkpoint(tmp_path / "c.pth", tiny_model(), tokenizer_name="embedded")
    other = GPTModel({**TINY, "emb_dim": 32, "n_layers": 3})
    with pytest.raises(CheckpointError, match=r"(?s)another configuration:.*emb_dim: checkpoint 16, model 32.*"
                                              r"n_layers: checkpoint 2, model 3"):
        load_checkpoint(path, other)
    with pytest.raises(CheckpointError, match="trained with the 'embedded' tokenizer, not 'gpt2'"):
        load_checkpoint(path, tiny_model(), tokenizer_name="gpt2")
    rebuilt, state = load_model_from_checkpoint(path)
    assert rebuilt.cfg == tiny_model().cfg and not rebuilt.training


def test_the_books_plain_files_load(tmp_path):
    model = tiny_model(3)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.0004, weight_decay=0.1)
    torch.save(model.state_dict(), tmp_path / "model.pth")
    torch.save({"model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict()},
               tmp_path / "model_and_optimizer.pth")
    for name in ("model.pth", "model_and_optimizer.pth"):
        copy = tiny_model(4)
        load_checkpoint(tmp_path / name, copy)
        assert torch.equal(copy.tok_emb.weight, model.tok_emb.weight)


# --- train_model ---------------------------------------------------------------------------------------------------

def test_learning_rate_schedule():
    lrs = [lr_at_step(s, 100, 1.0, warmup_steps=10, min_lr=0.1) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)  # linear warmup
    assert lrs[10] == pytest.approx(1.0) and lrs[-1] == pytest.approx(0.1, abs=1e-3)  # cosine down to min_lr
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lr_at_step(50, 100, 0.5, schedule="constant") == 0.5


def run_training(out_dir, until_step=None, resume=False, **overrides):
    set_seed(1)
    model = tiny_model(1, drop_rate=0.1)
    train, val = loaders()
    config = TrainConfig(**{"epochs": 3, "lr": 1e-2, "warmup_steps": 3, "eval_every": 5, "grad_accum_steps": 2,
                            "out_dir": out_dir, "progress": False, **overrides})
    return train_model(model, train, val, config, tokenizer_name="embedded", until_step=until_step,
                       resume_from=Path(out_dir) / "last.pth" if resume else None)


def test_resuming_gives_exactly_the_losses_of_one_uninterrupted_run(tmp_path):
    whole = run_training(tmp_path / "whole")
    first = run_training(tmp_path / "split", until_step=7)
    assert first.steps == 7 and (tmp_path / "split" / "last.pth").is_file()
    rest = run_training(tmp_path / "split", resume=True)
    assert rest.steps == whole.steps == 3 * (len(loaders()[0]) // 2)
    assert rest.history["train_loss"] == whole.history["train_loss"]  # bit for bit
    assert rest.evals == whole.evals
    assert whole.history["train_loss"][-1] < whole.history["train_loss"][0] - 0.5


def test_resuming_with_other_settings_is_refused(tmp_path):
    run_training(tmp_path, until_step=2)
    with pytest.raises(CheckpointError, match="lr: checkpoint 0.01, now 0.02"):
        run_training(tmp_path, resume=True, lr=2e-2)


def test_a_non_finite_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path):
    set_seed(1)
    model = tiny_model(1)
    calls = {"n": 0}

    def poison(module, inputs, output):  # from the 7th forward pass on, the embeddings are NaN
        calls["n"] += 1
        return output * float("nan") if calls["n"] >= 7 else output

    model.tok_emb.register_forward_hook(poison)
    train, val = loaders()
    config = TrainConfig(epochs=2, lr=1e-3, checkpoint_every=2, out_dir=tmp_path, progress=False)
    with pytest.raises(TrainingDiverged, match=r"loss became nan at step 7.*last\.pth, is intact.*Lower the"):
        train_model(model, train, None, config)
    assert load_checkpoint(tmp_path / "last.pth", tiny_model())["step"] == 6


def test_train_config_reports_every_problem():
    with pytest.raises(ValueError) as info:
        TrainConfig(epochs=0, lr=-1, schedule="linear", precision="fp16", checkpoint_every=5)
    message = str(info.value)
    for expected in ("epochs must be an integer >= 1", "need 0 <= min_lr <= lr", "schedule must be one of",
                     "precision must be one of", "checkpoint_every needs out_dir"):
        assert expected in message


def test_gradient_accumulation_matches_one_big_batch():
    """Two accumulated batches of 4 take the same step as one batch of 8 (no dropout, same data order)."""
    text = load_corpus()[:6000]
    results = []
    for batch_size, accum in ((8, 1), (4, 2)):
        set_seed(1)
        model = tiny_model(1, drop_rate=0.0)
        train = create_dataloader_v1(text, batch_size=batch_size, max_length=16, stride=16, shuffle=False)
        config = TrainConfig(max_steps=3, lr=1e-2, grad_accum_steps=accum, progress=False, grad_clip=None)
        results.append(train_model(model, train, None, config).history["train_loss"])
    assert results[0] == pytest.approx(results[1], abs=1e-5)


# --- torchrun ----------------------------------------------------------------------------------------------------

def test_two_processes_train_on_different_data_and_end_with_equal_weights(tmp_path):
    probe = Path(__file__).parent / "ddp_probe.py"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(probe),
               str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert reports[0]["first_batch"] != reports[1]["first_batch"]  # each rank on its own shard
    assert reports[0]["weights"] == reports[1]["weights"]  # DDP kept the copies identical
    assert reports[0]["steps"] == reports[1]["steps"] == 4
    assert (tmp_path / "last.pth").is_file()


def test_gpt_train_script_runs_under_torchrun(tmp_path):
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               str(CH05 / "gpt_train.py"), "--preset", "tiny", "--max-steps", "4", "--out-dir", str(tmp_path),
               "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "x 2 process(es)" in done.stdout and "4 steps" in done.stdout
    assert load_checkpoint(tmp_path / "last.pth", GPTModel(get_config("tiny")))["step"] == 4


# --- scripts and the pretrained-model recipe ------------------------------------------------------------------------

def test_train_resume_and_generate_scripts(tmp_path, capsys):
    gpt_train, gpt_generate = load_script("gpt_train"), load_script("gpt_generate")
    args = ["--preset", "tiny", "--max-steps", "6", "--out-dir", str(tmp_path), "--no-progress"]
    assert gpt_train.main(args) == 0
    assert "6 steps" in capsys.readouterr().out
    assert gpt_train.main(args[:3] + ["8"] + args[4:] + ["--resume"]) == 2  # other settings: refused
    assert "an exact resume needs the same ones" in capsys.readouterr().err
    assert gpt_generate.main(["--checkpoint", str(tmp_path / "last.pth"), "--prompt", "The keeper",
                              "--max-new-tokens", "5", "--temperature", "1.0", "--seed", "1"]) == 0
    assert capsys.readouterr().out.startswith("The keeper")
    assert gpt_generate.main(["--checkpoint", str(tmp_path / "missing.pth")]) == 2
    assert "no checkpoint at" in capsys.readouterr().err


def test_the_pretrained_model_is_built_once_and_reused(tmp_path, monkeypatch):
    from shared import pretrained

    monkeypatch.setenv("LLM_BOOK_CHECKPOINTS", str(tmp_path))
    monkeypatch.setitem(pretrained.PRETRAIN_RECIPE, "preset", "tiny")
    monkeypatch.setitem(pretrained.PRETRAIN_RECIPE, "num_epochs", 1)
    monkeypatch.setitem(pretrained.PRETRAIN_RECIPE, "max_length", 16)
    monkeypatch.setitem(pretrained.PRETRAIN_RECIPE, "stride", 16)
    assert pretrained.checkpoints_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match="run ch05/ch05.ipynb"):
        pretrained.load_pretrained_embedded(build_if_missing=False)
    built = pretrained.load_pretrained_embedded()
    assert (tmp_path / pretrained.PRETRAINED_EMBEDDED).is_file()
    again = pretrained.pretrain_embedded_model(tmp_path / "again.pth")  # same recipe, same seed: same weights
    assert all(torch.equal(a, b) for a, b in zip(built.parameters(), again.parameters()))
    state = load_checkpoint(tmp_path / pretrained.PRETRAINED_EMBEDDED, built)
    assert state["tokenizer"] == "embedded" and state["trainer"]["recipe"]["num_epochs"] == 1


# --- notebooks -------------------------------------------------------------------------------------------------------

def test_importing_shared_in_a_notebook_prints_nothing(tmp_path):
    import nbformat
    from notebook_runner import execute_notebook as run_notebook

    path = tmp_path / "imports.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import shared")]), path)
    assert run_notebook(path).cells[0].outputs == []  # no TqdmWarning about IProgress (ipywidgets) on stderr


CH05_NOTEBOOKS = ["ch05.ipynb", "training-extras.ipynb", "exercise-solutions.ipynb"]


def test_the_chapter_has_its_notebooks():
    """A missing notebook fails here (an empty parametrization below would only be reported as skipped)."""
    assert [p.name for p in chapter_notebooks("ch05")] == CH05_NOTEBOOKS


def test_the_notebook_pretrains_with_the_recipe_and_saves_where_chapters_6_and_7_look():
    import nbformat

    source = "\n".join(c.source for c in nbformat.read(CH05 / "ch05.ipynb", as_version=4).cells)
    for needed in ("RECIPE = PRETRAIN_RECIPE", "MODEL_CONFIG = get_config(PRETRAIN_RECIPE[\"preset\"])",
                   "set_seed(RECIPE[\"seed\"])", "save_pretrained_embedded(model, train_losses, val_losses"):
        assert needed in source, needed


@pytest.mark.parametrize("path", chapter_notebooks("ch05"), ids=lambda p: p.name)
def test_notebook_runs(path: Path):
    execute_notebook(path)
