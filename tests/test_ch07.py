"""Chapter 7: prompt formats, the embedded instruction set and its generator, the split (the book's 935/110/55),
the collate function on the book's example, masking, response extraction, the offline metrics, fine-tuning
and generating responses, the self-checks, the scripts and the notebooks."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch
from book_data import book_resource
from notebook_checks import chapter_notebooks, execute_notebook

import shared
from shared.checkpoint import load_checkpoint
from shared.instruction_data import (
    ALPACA_PREAMBLE,
    PERSONA_INSTRUCTIONS,
    InstructionDataset,
    custom_collate_fn,
    extract_response,
    format_input,
    format_response,
    load_instruction_data,
    load_instruction_model,
    split_instruction_data,
)
from shared.instruction_eval import (
    RULE_BASED_FAMILIES,
    evaluate_responses,
    exact_match,
    rouge_l,
    token_f1,
)
from shared.instruction_finetune import (
    BOOK_RECIPE,
    INSTRUCT_RECIPE,
    generate_responses,
    instruction_loaders,
    save_responses_json,
    warmup_cosine,
)
from shared.near_duplicates import near_duplicate_share
from shared.resources import RESOURCES, ResourceError, instruction_file_problem
from shared.selfcheck import check

REPO_ROOT = Path(__file__).resolve().parents[1]
CH07 = REPO_ROOT / "ch07"
BOOK_ENTRY = {"instruction": "Identify the correct spelling of the following word.", "input": "Ocassion",
              "output": "The correct spelling is 'Occasion.'"}
NO_INPUT = {"instruction": "What is an antonym of 'complicated'?", "input": "",
            "output": "An antonym of 'complicated' is 'simple'."}
BOOK_BATCH = [[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]]
BOOK_INPUTS = [[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256, 50256]]
BOOK_TARGETS = [[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100], [8, 9, 50256, -100, -100]]
NEAR_DUPLICATE_BOUND = 0.37  # the generator reports 35.7%: templated rule-based entries resemble each other


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"ch07_{name}", CH07 / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def embedded():
    return load_instruction_data("embedded")


# --- formats -------------------------------------------------------------------------------------------

def test_alpaca_format_with_and_without_input():
    assert ALPACA_PREAMBLE == ("Below is an instruction that describes a task. Write a response that "
                               "appropriately completes the request.")
    assert format_input(BOOK_ENTRY) == (f"{ALPACA_PREAMBLE}\n\n### Instruction:\nIdentify the correct spelling of "
                                        f"the following word.\n\n### Input:\nOcassion")
    assert format_input(NO_INPUT) == f"{ALPACA_PREAMBLE}\n\n### Instruction:\nWhat is an antonym of 'complicated'?"
    assert format_response(BOOK_ENTRY) == "\n\n### Response:\nThe correct spelling is 'Occasion.'"


def test_phi3_format():
    assert format_input(BOOK_ENTRY, "phi3") == "<|user|>\nIdentify the correct spelling of the following word.\nOcassion"
    assert format_input(NO_INPUT, "phi3") == "<|user|>\nWhat is an antonym of 'complicated'?"
    assert format_response(BOOK_ENTRY, "phi3") == "\n<|assistant|>:\nThe correct spelling is 'Occasion.'"


def test_bad_entries_and_styles_say_what_is_wrong():
    with pytest.raises(ValueError, match="unknown prompt style 'chatml'; choose one of alpaca, phi3"):
        format_input(BOOK_ENTRY, "chatml")
    with pytest.raises(KeyError, match="lacks \\['input'\\]"):
        format_input({"instruction": "Say hi."})


def test_persona_prompt_is_a_plain_entry():
    prompt = format_input({"instruction": PERSONA_INSTRUCTIONS["pirate"], "input": "Hello my friend."})
    assert prompt.endswith("### Instruction:\nTalk like a pirate.\n\n### Input:\nHello my friend.")


@pytest.mark.parametrize("style", ["alpaca", "phi3"])
def test_extract_response(style):
    prompt = format_input(BOOK_ENTRY, style)
    full = prompt + format_response(BOOK_ENTRY, style)
    assert extract_response(full, prompt, style) == "The correct spelling is 'Occasion.'"
    assert extract_response(full + "<|endoftext|>and more", prompt, style) == "The correct spelling is 'Occasion.'"
    assert extract_response(full + "\n\n### Instruction:\nnext", prompt, style) == "The correct spelling is 'Occasion.'"
    assert extract_response("  just text ", "", style) == "just text"  # no marker: the text itself


# --- the collate function --------------------------------------------------------------------------------

def test_collate_on_the_books_example_gives_the_books_tensors():
    inputs, targets = custom_collate_fn(BOOK_BATCH, pad_token_id=50256)
    assert inputs.tolist() == BOOK_INPUTS and targets.tolist() == BOOK_TARGETS
    assert inputs.dtype == targets.dtype == torch.int64


def test_collate_default_pad_is_the_default_tokenizers_end_of_text(monkeypatch):
    monkeypatch.setenv("LLM_BOOK_RESOURCES", "0")
    inputs, targets = custom_collate_fn(BOOK_BATCH)
    assert inputs[1].tolist() == [5, 6, 2047, 2047, 2047] and targets[1].tolist() == [6, 2047, -100, -100, -100]


def test_collate_allowed_max_length_and_ignore_index():
    inputs, targets = custom_collate_fn(BOOK_BATCH, pad_token_id=50256, allowed_max_length=3, ignore_index=-1)
    assert inputs.tolist() == [row[:3] for row in BOOK_INPUTS]
    assert targets.tolist() == [[1, 2, 3], [6, 50256, -1], [8, 9, 50256]]


def test_collate_keeps_the_books_rule_for_an_end_of_text_inside_a_text():
    # the book masks every target equal to the pad id after the first, wherever it is
    _, targets = custom_collate_fn([[1, 50256, 2]], pad_token_id=50256)
    assert targets.tolist() == [[50256, 2, -100]]


def test_collate_masks_the_instruction():
    batch = [(3, [0, 1, 2, 3, 4]), (1, [5, 6]), (2, [7, 8, 9])]
    inputs, targets = custom_collate_fn(batch, pad_token_id=50256, mask_instruction=True)
    assert inputs.tolist() == BOOK_INPUTS
    assert targets.tolist() == [[-100, -100, 3, 4, 50256], [6, 50256, -100, -100, -100], [-100, 9, 50256, -100, -100]]
    assert custom_collate_fn(batch, pad_token_id=50256)[1].tolist() == BOOK_TARGETS  # pairs, no masking
    with pytest.raises(ValueError, match="with_prompt_length=True"):
        custom_collate_fn(BOOK_BATCH, mask_instruction=True)
    with pytest.raises(ValueError, match="empty batch"):
        custom_collate_fn([])


def test_masked_targets_start_at_the_response(embedded):
    tokenizer = shared.get_tokenizer("embedded")
    dataset = InstructionDataset(embedded[:4], tokenizer, with_prompt_length=True)
    _, targets = custom_collate_fn([dataset[i] for i in range(4)], pad_token_id=2047, mask_instruction=True)
    for row, entry in zip(targets, embedded[:4]):
        kept = [t for t in row.tolist() if t != -100]
        assert tokenizer.decode(kept) == format_response(entry) + "<|endoftext|>"


def test_instruction_dataset_encodes_prompt_and_response(embedded):
    tokenizer = shared.get_tokenizer("embedded")
    dataset = InstructionDataset(embedded[:3], tokenizer)
    assert len(dataset) == 3
    for i, entry in enumerate(embedded[:3]):
        assert tokenizer.decode(dataset[i]) == format_input(entry) + format_response(entry)
        assert dataset.prompt_lengths[i] == len(tokenizer.encode(format_input(entry)))


# --- the data sets and the split ------------------------------------------------------------------------------

def test_embedded_set_has_every_kind_of_task(embedded):
    assert len(embedded) >= 1100
    assert all(set(e) == {"instruction", "input", "output", "family"} for e in embedded)
    families = Counter(e["family"] for e in embedded)
    assert set(RULE_BASED_FAMILIES) <= set(families) and len(families) > len(RULE_BASED_FAMILIES)
    assert sum(families[f] for f in RULE_BASED_FAMILIES) / len(embedded) >= 0.5
    assert len({json.dumps(e, sort_keys=True) for e in embedded}) == len(embedded)


def test_embedded_set_near_duplicates_are_as_reported(embedded):
    texts = [" ".join((e["instruction"], e["input"], e["output"])) for e in embedded]
    assert near_duplicate_share(texts) <= NEAR_DUPLICATE_BOUND


def test_pirate_entries_follow_the_fixed_rules(embedded):
    generator = load_script("make_instruction_dataset")
    assert generator.pirate("Hello my friend, you are late.") == "Ahoy me matey, ye be late. Arr!"
    pirate = [e for e in embedded if e["family"] == "persona_pirate"]
    assert len(pirate) >= 100
    assert all(e["instruction"] == PERSONA_INSTRUCTIONS["pirate"] and e["output"] == generator.pirate(e["input"])
               for e in pirate)


def test_generator_rewrites_the_committed_file_exactly():
    result = subprocess.run([sys.executable, str(CH07 / "make_instruction_dataset.py"), "--check"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_embedded_split_is_seeded_disjoint_and_holds_out_every_family(embedded):
    train, test, val = split_instruction_data(embedded, shuffle=True, seed=123)
    assert (train, test, val) == split_instruction_data(embedded, shuffle=True, seed=123)
    assert len(train) + len(test) + len(val) == len(embedded)
    assert abs(len(train) / len(embedded) - 0.85) < 0.01 and abs(len(test) / len(embedded) - 0.10) < 0.01
    key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
    assert not {key(e) for e in train} & {key(e) for e in test + val}
    families = {e["family"] for e in embedded}
    assert {e["family"] for e in test} == families and {e["family"] for e in val} == families
    assert split_instruction_data(embedded, shuffle=True, seed=1)[1] != test


def test_unshuffled_split_is_the_books_rule():
    data = [{"instruction": str(i), "input": "", "output": ""} for i in range(1100)]
    train, test, val = split_instruction_data(data, shuffle=False)
    assert (len(train), len(test), len(val)) == (935, 110, 55)
    assert train == data[:935] and test == data[935:1045] and val == data[1045:]
    with pytest.raises(ValueError, match="fractions"):
        split_instruction_data(data, train_portion=0.9, test_portion=0.2)


def test_books_instruction_data_in_book_mode(monkeypatch):
    path = book_resource("instruction-data")
    monkeypatch.setenv("LLM_BOOK_DATA", str(path.parent))
    monkeypatch.setenv("LLM_BOOK_RESOURCES", "1")
    data = load_instruction_data()
    assert len(data) == 1100 and set(data[0]) == {"instruction", "input", "output"}
    train, test, val = split_instruction_data(data)  # book mode: the book's unshuffled split
    assert (len(train), len(test), len(val)) == (935, 110, 55) and train[0] == data[0] and val[-1] == data[-1]
    assert data[50]["instruction"] == BOOK_ENTRY["instruction"] and data[50]["input"] == "Ocassion"


def test_unknown_data_set_name():
    with pytest.raises(ValueError, match="'embedded', 'book' or 'alpaca'"):
        load_instruction_data("dolly")


# --- metrics ----------------------------------------------------------------------------------------------------

def test_exact_match_ignores_only_surrounding_space():
    assert exact_match(" cats\n", "cats") and not exact_match("Cats", "cats") and not exact_match("cats.", "cats")


def test_token_f1_and_rouge_l_on_hand_made_cases():
    assert token_f1("the cat sat", "the cat sat") == 1.0
    assert token_f1("a dog", "the cat") == 0.0
    assert token_f1("the cat", "the cat sat on the mat") == pytest.approx(2 * 1 * (2 / 6) / (1 + 2 / 6))
    assert token_f1("", "") == 1.0 and token_f1("", "x") == 0.0
    assert rouge_l("the cat sat on the mat", "the cat sat on the mat") == 1.0
    # LCS of "cat the sat" and "the cat sat" is 2 words ("the sat" or "cat sat")
    assert rouge_l("cat the sat", "the cat sat") == pytest.approx(2 / 3)
    assert token_f1("cat the sat", "the cat sat") == 1.0  # order does not count for F1
    assert rouge_l("Ahoy, matey!", "ahoy matey") == 1.0  # case and punctuation do not count


def test_evaluate_responses_per_family():
    entries = [{"output": "1, 5, 9", "family": "sort"}, {"output": "9, 5, 1", "family": "sort"},
               {"output": "7", "family": "word_count"}, {"output": "A tide is the sea.", "family": "explain"}]
    scores = evaluate_responses(entries, ["1, 5, 9", "9, 1, 5", "7", "The tide is the sea."])
    assert scores["families"]["sort"]["exact"] == 0.5 and scores["families"]["word_count"]["exact"] == 1.0
    assert scores["rule_based_exact"] == pytest.approx(2 / 3) and scores["rule_based_n"] == 3
    assert scores["families"]["explain"]["f1"] == pytest.approx(0.8)
    assert scores["exact"] == 0.5
    with pytest.raises(ValueError, match="one response per entry"):
        evaluate_responses(entries, ["cats"])


# --- fine-tuning and responses ----------------------------------------------------------------------------------

def _tiny_model() -> shared.GPTModel:
    torch.manual_seed(0)
    return shared.GPTModel(shared.get_config("tiny", context_length=160))


def test_loaders_batch_and_a_training_step_lowers_the_loss(embedded):
    tokenizer = shared.get_tokenizer("embedded")
    train, val, test = instruction_loaders(embedded[:16], embedded[16:20], embedded[20:24], tokenizer, batch_size=4,
                                           allowed_max_length=160)
    inputs, targets = next(iter(train))
    assert inputs.shape == targets.shape and inputs.shape[0] == 4 and inputs.shape[1] <= 160
    assert len(train) == 4 and len(val) == 1 and len(test) == 1
    model = _tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    before = shared.calc_loss_batch(inputs, targets, model, "cpu").item()
    for _ in range(5):
        optimizer.zero_grad()
        shared.calc_loss_batch(inputs, targets, model, "cpu").backward()
        optimizer.step()
    assert shared.calc_loss_batch(inputs, targets, model, "cpu").item() < before


def test_warmup_cosine_rises_then_falls_to_its_floor():
    optimizer = torch.optim.AdamW(_tiny_model().parameters(), lr=2e-3)
    scheduler = warmup_cosine(optimizer, total_steps=100, warmup_steps=10, min_lr_ratio=0.1)
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[0] == pytest.approx(2e-4) and lrs[9] == pytest.approx(2e-3)  # linear warmup over 10 steps
    assert lrs[10] == pytest.approx(2e-3) and all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[55] == pytest.approx(2e-4 + 0.5 * 1.8e-3)  # half-way down the cosine
    assert optimizer.param_groups[0]["lr"] == pytest.approx(2e-4)  # a tenth of the peak at the end


def test_train_model_simple_steps_the_scheduler_once_per_optimizer_step(embedded):
    tokenizer = shared.get_tokenizer("embedded")
    train, val, _ = instruction_loaders(embedded[:16], embedded[16:20], embedded[20:24], tokenizer, batch_size=4,
                                        style="phi3", allowed_max_length=160, mask_instruction=True)
    model = _tiny_model()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = warmup_cosine(optimizer, total_steps=2 * len(train), warmup_steps=2)
    shared.train_model_simple(model, train, val, optimizer, "cpu", 2, 100, 1, "Hi", tokenizer, lr_scheduler=scheduler)
    assert scheduler.last_epoch == 2 * len(train) and optimizer.param_groups[0]["lr"] == pytest.approx(0.0)


def test_recipes_are_the_small_models_and_the_books():
    assert INSTRUCT_RECIPE["style"] == "phi3" and INSTRUCT_RECIPE["mask_instruction"]
    assert INSTRUCT_RECIPE["schedule"] == "cosine" and INSTRUCT_RECIPE["data"] == "embedded"
    assert BOOK_RECIPE["style"] == "alpaca" and not BOOK_RECIPE["mask_instruction"]
    assert (BOOK_RECIPE["lr"], BOOK_RECIPE["num_epochs"], BOOK_RECIPE["batch_size"]) == (5e-5, 2, 8)
    assert BOOK_RECIPE["schedule"] == "constant"


def test_generate_responses_and_save_them(embedded, tmp_path):
    tokenizer = shared.get_tokenizer("embedded")
    model = _tiny_model()
    responses = generate_responses(model, embedded[:5], tokenizer, max_new_tokens=6, batch_size=2)
    assert len(responses) == 5 and all(isinstance(r, str) for r in responses)
    # batched generation gives each prompt what it gets alone
    assert responses[:1] == generate_responses(model, embedded[:1], tokenizer, max_new_tokens=6)
    path = save_responses_json(embedded[:5], responses, tmp_path / "with-response.json")
    rows = json.loads(path.read_text(encoding="utf-8"))
    assert [r["model_response"] for r in rows] == responses and rows[0]["output"] == embedded[0]["output"]


def test_missing_instruction_model_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_CHECKPOINTS", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="run ch07/ch07.ipynb or python ch07/gpt_instruction_finetuning.py"):
        load_instruction_model(build_if_missing=False)


# --- self-checks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["format_input", "custom_collate_fn"])
def test_shared_passes_its_own_check(name):
    assert check(getattr(shared, name), verbose=False)


def test_every_ch07_hint_is_backed_by_a_planted_mistake():
    from shared import selfcheck_ch07
    for key, hint in selfcheck_ch07.MISTAKES.items():
        name = selfcheck_ch07.MISTAKE_CHECK[key]
        planted = selfcheck_ch07.planted(key)
        result = check(planted, name, verbose=False)
        assert not result and result.hints == [hint], (key, result.hints)


# --- scripts, notebooks -------------------------------------------------------------------------------------------

def test_previous_chapters_only_reexports_shared():
    previous_chapters = load_script("previous_chapters")
    for name in previous_chapters.__all__:
        assert getattr(previous_chapters, name) is getattr(shared, name)


def test_finetuning_script_runs_a_tiny_model(tmp_path):
    result = subprocess.run([sys.executable, str(CH07 / "gpt_instruction_finetuning.py"), "--preset", "tiny",
                             "--num-epochs", "1", "--train-subset", "24", "--test-subset", "6",
                             "--out-dir", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads((tmp_path / "instruction-data-with-response.json").read_text(encoding="utf-8"))
    assert len(rows) == 6 and all("model_response" in r for r in rows)
    assert "exact match" in result.stdout and (tmp_path / "instruct-tiny.pth").is_file()




def fake_alpaca_file(folder: Path, n: int = 52_002) -> Path:
    """A stand-in for Stanford Alpaca's alpaca_data.json: the same structure, made-up entries."""
    entries = [{"instruction": f"Add {i % 10} and {i % 7}.", "input": "" if i % 3 else "numbers",
                "output": str(i % 10 + i % 7)} for i in range(n)]
    path = folder / "alpaca_data.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.mark.parametrize("exercise", ["alpaca_style", "unmasked", "lora", "alpaca52k"])
def test_exercise_experiments_run_a_tiny_model(exercise, tmp_path):
    fake_alpaca_file(tmp_path)
    env = {**os.environ, "LLM_BOOK_DATA": str(tmp_path), "LLM_BOOK_OFFLINE": "1"}
    result = subprocess.run([sys.executable, str(CH07 / "exercise_experiments.py"), "--exercise_solution", exercise,
                             "--preset", "tiny", "--num-epochs", "1", "--train-subset", "16", "--test-subset", "4",
                             "--out-dir", str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"exercise {exercise}" in result.stdout and "after fine-tuning" in result.stdout
    rows = json.loads((tmp_path / "instruction-data-with-response.json").read_text(encoding="utf-8"))
    assert len(rows) == 4
    if exercise == "alpaca52k":
        assert "alpaca data: 16 train / 4 test" in result.stdout
    if exercise == "lora":
        assert "LoRA rank 16, alpha 16" in result.stdout
        plain = shared.GPTModel(shared.get_config("tiny", context_length=256))
        load_checkpoint(tmp_path / "instruct-tiny.pth", plain)  # merged: loads into a plain GPTModel


def test_alpaca_missing_offline_names_the_file_and_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_OFFLINE", "1")
    monkeypatch.setenv("LLM_BOOK_DATA", str(tmp_path))
    monkeypatch.setenv("LLM_BOOK_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ResourceError, match="alpaca_data.json"):
        load_instruction_data("alpaca")


def test_alpaca_file_is_checked_by_its_structure(tmp_path):
    path = fake_alpaca_file(tmp_path, n=3)
    assert instruction_file_problem(path) is None
    assert "at least 52,000 entries, got 3" in instruction_file_problem(path, min_entries=52_000)
    path.write_text('[{"instruction": "x", "output": "y"}]', encoding="utf-8")
    assert "entry 0 is not an object" in instruction_file_problem(path)
    path.write_text("[{", encoding="utf-8")
    assert "not valid JSON" in instruction_file_problem(path)
    assert RESOURCES["alpaca-52k"].check is not None and "non-commercial" in RESOURCES["alpaca-52k"].license


@pytest.mark.parametrize("path", chapter_notebooks("ch07"), ids=lambda p: p.name)
def test_notebook_runs(path):
    execute_notebook(path)
