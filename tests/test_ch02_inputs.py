"""Chapter 2: book mode (the library's defaults become the book's) and the data pipeline's input checks.

Book mode is switched with LLM_BOOK_RESOURCES=1 or `use_book_resources()`; the book's files come from
../shared/data in CI (skipped locally when absent, a failure in CI).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from book_data import book_resource

from shared import (
    GPTDatasetV1,
    SimpleTokenizerV2,
    build_vocab,
    create_dataloader_v1,
    get_tokenizer,
    load_corpus,
)
from shared.resources import book_resources_enabled, use_book_resources
from shared.tokenizer import default_tokenizer_name

BOOK_FIRST_BATCH = [[40, 367, 2885, 1464], [1807, 3619, 402, 271], [10899, 2138, 257, 7026],
                    [15632, 438, 2016, 257], [922, 5891, 1576, 438], [568, 340, 373, 645],
                    [1049, 5975, 284, 502], [284, 3285, 326, 11]]


@pytest.fixture
def book_mode(monkeypatch):
    """Book mode for one test (the environment variable is restored afterwards)."""
    monkeypatch.setenv("LLM_BOOK_RESOURCES", "1")
    for name in ("the-verdict", "gpt2-vocab-bpe", "gpt2-encoder-json"):
        book_resource(name)


def test_default_mode_is_the_embedded_one(monkeypatch):
    monkeypatch.delenv("LLM_BOOK_RESOURCES", raising=False)
    assert not book_resources_enabled() and default_tokenizer_name() == "embedded"
    assert get_tokenizer().name == "embedded" and get_tokenizer().n_vocab == 2048
    assert load_corpus() == load_corpus("embedded")
    inputs, _ = next(iter(create_dataloader_v1(load_corpus(), batch_size=2, max_length=4, stride=4, shuffle=False)))
    assert inputs.max() < 2048


def test_book_code_gives_the_books_first_batch(book_mode):
    """The book's listing, typed as printed, with the library's defaults."""
    raw_text = load_corpus()
    assert raw_text.startswith("I HAD always thought Jack Gisburn") and len(raw_text) == 20479
    assert get_tokenizer().name == "gpt2" and len(get_tokenizer().encode(raw_text)) == 5145
    dataloader = create_dataloader_v1(raw_text, batch_size=8, max_length=4, stride=4, shuffle=False)
    inputs, targets = next(iter(dataloader))
    assert inputs.tolist() == BOOK_FIRST_BATCH
    assert targets[0].tolist() == [367, 2885, 1464, 1807]
    first = next(iter(create_dataloader_v1(raw_text, batch_size=1, max_length=4, stride=1, shuffle=False)))
    assert [t.tolist() for t in first] == [[[40, 367, 2885, 1464]], [[367, 2885, 1464, 1807]]]


def test_the_notebook_switch_sets_the_mode_for_child_processes(monkeypatch):
    monkeypatch.delenv("LLM_BOOK_RESOURCES", raising=False)
    use_book_resources(True)
    try:
        assert book_resources_enabled()
        child = subprocess.run([sys.executable, "-c", "from shared.resources import book_resources_enabled as f;"
                                "print(f())"], capture_output=True, text=True, env=os.environ.copy())
        assert child.stdout.strip() == "True"
    finally:
        use_book_resources(False)
    assert not book_resources_enabled() and default_tokenizer_name() == "embedded"


# --- inputs checked at the boundary -----------------------------------------------------------------------

def test_dataset_rejects_text_that_is_not_a_string(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("a b c d e f g")
    with pytest.raises(TypeError, match=r"text as a str, got PosixPath.*read the file first|got WindowsPath"):
        GPTDatasetV1(path, get_tokenizer(), 4, 4)
    with pytest.raises(TypeError, match="text as a str, got list"):
        GPTDatasetV1(["a", "b"], get_tokenizer(), 4, 4)
    with pytest.raises(TypeError, match="got bytes"):
        GPTDatasetV1(b"abc", get_tokenizer(), 4, 4)


def test_dataset_rejects_a_tokenizer_name_or_a_non_tokenizer():
    text = load_corpus()[:2000]
    with pytest.raises(TypeError, match=r"got the name 'gpt2': pass get_tokenizer\('gpt2'\)"):
        GPTDatasetV1(text, "gpt2", 4, 4)
    with pytest.raises(TypeError, match="must have an encode.*got dict"):
        GPTDatasetV1(text, {"a": 1}, 4, 4)
    with pytest.raises(TypeError, match="got the name"):
        create_dataloader_v1(text, batch_size=2, max_length=4, stride=4, tokenizer="embedded")


def test_dataset_accepts_the_chapter_2_word_tokenizer():
    text = load_corpus()[:3000]
    dataset = GPTDatasetV1(text, SimpleTokenizerV2(build_vocab(text)), max_length=6, stride=6)
    inputs, targets = dataset[0]
    assert inputs.shape == targets.shape == (6,) and inputs[1:].tolist() == targets[:-1].tolist()


@pytest.mark.parametrize("bad", [0, -1, 2.5, "4"])
def test_loader_sizes_must_be_positive_integers(bad):
    text = load_corpus()[:3000]
    with pytest.raises(ValueError, match="positive"):
        create_dataloader_v1(text, batch_size=bad, max_length=4, stride=4)
    with pytest.raises(ValueError, match="positive"):
        GPTDatasetV1(text, get_tokenizer(), max_length=bad, stride=4)
    with pytest.raises(ValueError, match="positive"):
        GPTDatasetV1(text, get_tokenizer(), max_length=4, stride=bad)


def test_get_tokenizer_rejects_a_tokenizer_object():
    with pytest.raises(TypeError, match="takes a tokenizer name"):
        get_tokenizer(get_tokenizer())

