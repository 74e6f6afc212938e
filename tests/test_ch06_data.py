"""Chapter 6, the data side: the embedded SMS dataset and its generator, balancing, splitting, SpamDataset,
and the book's numbers on the UCI SMS Spam Collection (a book resource: skipped locally when absent)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import torch
from book_data import book_resource

from shared import get_tokenizer
from shared.near_duplicates import near_duplicate_pairs, near_duplicate_share
from shared.resources import ResourceError
from shared.spam_data import (
    EMBEDDED_SMS,
    LABEL_IDS,
    SpamDataset,
    create_balanced_dataset,
    download_and_unzip_spam_data,
    load_sms_data,
    random_split,
    write_split_csvs,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
GENERATOR = REPO_ROOT / "ch06" / "make_sms_dataset.py"
# the generator reports 1.6% for the whole file, 2.6% among ham, 0.5% among spam, and 1.3% of the test
# messages with a near-copy in train
NEAR_DUPLICATE_BOUND = 0.02
LABEL_NEAR_DUPLICATE_BOUND = 0.03


@pytest.fixture(scope="module")
def sms() -> pd.DataFrame:
    return load_sms_data("embedded")


@pytest.fixture(scope="module")
def split_paths(tmp_path_factory) -> dict[str, Path]:
    return write_split_csvs(tmp_path_factory.mktemp("splits"))


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --- the generator and the committed file ------------------------------------------------------------


def test_generator_check_reproduces_the_committed_file():
    result = subprocess.run([sys.executable, str(GENERATOR), "--check"], capture_output=True, text=True,
                            cwd=REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "up to date" in result.stdout


def test_generator_check_fails_on_a_changed_file(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("make_sms_dataset", GENERATOR)
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    changed = tmp_path / "embedded-sms.tsv"
    changed.write_bytes(EMBEDDED_SMS.read_bytes().replace(b"ham\t", b"spam\t", 1))
    monkeypatch.setattr(generator, "EMBEDDED_SMS", changed)
    assert generator.main(["--check"]) == 1
    monkeypatch.setattr(generator, "EMBEDDED_SMS", tmp_path / "missing.tsv")
    assert generator.main(["--check"]) == 1


def test_file_is_in_the_uci_format_and_reads_back_line_for_line(sms):
    lines = EMBEDDED_SMS.read_text(encoding="utf-8").splitlines()
    assert all(re.fullmatch(r"(ham|spam)\t[^\t]+", line) for line in lines)
    assert len(sms) == len(lines)  # pandas' quoting merged no lines
    assert list(sms.columns) == ["Label", "Text"]
    assert sms["Text"].map(lambda t: isinstance(t, str) and t.strip() != "").all()
    assert sms["Text"].str.lower().nunique() == len(sms)  # no exact duplicates, not even in case


def test_label_counts_are_about_half_and_half(sms):
    counts = sms["Label"].value_counts().to_dict()
    assert counts == {"ham": 860, "spam": 780}
    assert len(sms) >= 1500
    assert 0.45 <= counts["spam"] / len(sms) <= 0.55


def test_messages_vary_in_length(sms):
    lengths = sms["Text"].str.len()
    assert lengths.min() <= 5 and lengths.max() >= 200
    assert (lengths < 30).sum() >= 50 and (lengths > 120).sum() >= 200


def test_near_duplicates_are_rare(sms):
    assert near_duplicate_share(sms["Text"].tolist()) < NEAR_DUPLICATE_BOUND
    for label in LABEL_IDS:
        texts = sms.loc[sms["Label"] == label, "Text"].tolist()
        assert near_duplicate_share(texts) < LABEL_NEAR_DUPLICATE_BOUND


def test_test_split_barely_overlaps_training(sms):
    train_df, _, test_df = random_split(create_balanced_dataset(sms), 0.7, 0.1)
    train, test = train_df["Text"].tolist(), test_df["Text"].tolist()
    assert not set(train) & set(test)
    near_copies = {j for i, j, _ in near_duplicate_pairs(train + test) if i < len(train) <= j}
    assert len(near_copies) / len(test) < NEAR_DUPLICATE_BOUND


def test_no_single_word_gives_the_label_away(sms):
    in_spam, in_ham = Counter(), Counter()  # messages holding each word, per label
    for label, text in zip(sms["Label"], sms["Text"]):
        (in_spam if label == "spam" else in_ham).update(set(re.findall(r"[a-z0-9']+", text.lower())))
    num_ham = (sms["Label"] == "ham").sum()
    for word in in_spam | in_ham:
        accuracy = (in_spam[word] + num_ham - in_ham[word]) / len(sms)  # the rule "spam if the word is in it"
        best = max(accuracy, 1 - accuracy)  # ... or "ham if it is"
        assert best < 0.85, f"{word!r} alone classifies {best:.0%} of the messages"


def test_phone_numbers_and_links_are_obviously_fake(sms):
    uk_number = re.compile(r"(?:\+44 ?|\b0)\d{3,4} ?\d{3} ?\d{3,4}\b")
    us_number = re.compile(r"\b\d{3}-\d{4}\b")
    domain = re.compile(r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b")
    numbers = links = 0
    for text in sms["Text"]:
        for number in uk_number.findall(text):
            digits = number.replace(" ", "").replace("+44", "0")
            assert digits[:8] in {"07700900", "01632960", "08081570"} and len(digits) == 11, number
            numbers += 1
        for number in us_number.findall(text):
            assert number.startswith("555-01"), number
        for host in domain.findall(text.lower()):
            assert re.search(r"(^|\.)example(\.com|\.net|\.org)?$", host), host
            links += 1
    assert numbers >= 50 and links >= 300


# --- balancing and splitting --------------------------------------------------------------------------


def test_balancing_keeps_every_spam_and_samples_the_ham(sms):
    balanced = create_balanced_dataset(sms)
    assert balanced["Label"].value_counts().to_dict() == {"ham": 780, "spam": 780}
    assert balanced["Label"].tolist() == ["ham"] * 780 + ["spam"] * 780
    assert set(balanced.index) <= set(sms.index)
    assert set(balanced.index[balanced["Label"] == "spam"]) == set(sms.index[sms["Label"] == "spam"])
    assert balanced.equals(create_balanced_dataset(sms))  # seeded


def test_balancing_samples_the_spam_when_spam_is_the_majority():
    df = pd.DataFrame({"Label": ["spam"] * 5 + ["ham"] * 2, "Text": [f"message {i}" for i in range(7)]})
    assert create_balanced_dataset(df)["Label"].tolist() == ["ham", "ham", "spam", "spam"]


def test_split_sizes_cover_the_data_once(sms):
    balanced = create_balanced_dataset(sms)
    train, validation, test = random_split(balanced, 0.7, 0.1)
    assert (len(train), len(validation), len(test)) == (1092, 156, 312)
    texts = pd.concat([train, validation, test])["Text"]
    assert sorted(texts) == sorted(balanced["Text"])
    assert train.equals(random_split(balanced, 0.7, 0.1)[0])


def test_write_split_csvs_writes_the_three_book_files(split_paths):
    assert sorted(p.name for p in split_paths.values()) == ["test.csv", "train.csv", "validation.csv"]
    frames = {name: pd.read_csv(path, keep_default_na=False) for name, path in split_paths.items()}
    assert {name: len(df) for name, df in frames.items()} == {"train": 1092, "validation": 156, "test": 312}
    for df in frames.values():
        assert list(df.columns) == ["Label", "Text"] and set(df["Label"]) == {0, 1}
    assert not set(frames["train"]["Text"]) & set(frames["test"]["Text"])


@pytest.mark.parametrize("fractions", [(0.0, 0.1), (1.0, 0.0), (0.7, -0.1), (0.8, 0.3)])
def test_bad_split_fractions_are_a_clear_error(sms, fractions):
    with pytest.raises(ValueError, match="train_frac must be in"):
        random_split(sms, *fractions)


def test_balancing_rejects_bad_frames():
    with pytest.raises(ValueError, match="needs the columns Label and Text"):
        create_balanced_dataset(pd.DataFrame({"label": ["ham"], "Text": ["hi"]}))
    with pytest.raises(ValueError, match="labels must be 'ham' or 'spam'"):
        create_balanced_dataset(pd.DataFrame({"Label": [0, 1], "Text": ["hi", "win"]}))
    with pytest.raises(ValueError, match="needs both labels; got 2 ham and 0 spam"):
        create_balanced_dataset(pd.DataFrame({"Label": ["ham", "ham"], "Text": ["hi", "yo"]}))


def test_unknown_source_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown SMS source 'sms'"):
        load_sms_data("sms")


# --- SpamDataset --------------------------------------------------------------------------------------


def test_dataset_pads_to_the_longest_training_message(split_paths):
    tokenizer = get_tokenizer()
    train = SpamDataset(split_paths["train"], tokenizer)
    texts = pd.read_csv(split_paths["train"], keep_default_na=False)["Text"]
    lengths = [len(tokenizer.encode(t)) for t in texts]
    assert train.max_length == max(lengths) and train.num_truncated == 0
    shortest = lengths.index(min(lengths))
    ids, label = train[shortest]
    assert ids.shape == (train.max_length,) and ids.dtype == torch.long and label.dtype == torch.long
    assert ids[:min(lengths)].tolist() == tokenizer.encode(texts[shortest])
    assert set(ids[min(lengths):].tolist()) == {tokenizer.eot_token} == {2047}
    assert len(train) == 1092 and sum(int(train[i][1]) for i in range(len(train))) == 543


def test_dataset_truncates_to_max_length(split_paths):
    tokenizer = get_tokenizer()
    test = SpamDataset(split_paths["test"], tokenizer, max_length=8, pad_token_id=0)
    texts = pd.read_csv(split_paths["test"], keep_default_na=False)["Text"]
    assert all(test[i][0].shape == (8,) for i in range(len(test)))
    assert test.num_truncated == sum(len(tokenizer.encode(t)) > 8 for t in texts) > 0
    longest = max(range(len(texts)), key=lambda i: len(texts[i]))
    assert test[longest][0].tolist() == tokenizer.encode(texts[longest])[:8]
    short = next(i for i, t in enumerate(texts) if len(tokenizer.encode(t)) < 8)
    assert test[short][0].tolist()[-1] == 0  # the pad id that was given


def test_dataset_defaults_to_the_embedded_tokenizer(tmp_path):
    path = write_csv(tmp_path / "two.csv", "Label,Text\n1,WIN a prize now\n0,ok\n")
    dataset = SpamDataset(path)
    ids, short_ids = get_tokenizer().encode("WIN a prize now"), get_tokenizer().encode("ok")
    assert dataset[0][0].tolist() == ids and dataset.max_length == len(ids)
    assert dataset[1][0].tolist() == short_ids + [2047] * (len(ids) - len(short_ids))
    assert [int(dataset[i][1]) for i in range(2)] == [1, 0]


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("Label,Text\n", "has a header but no messages"),
    ("Label,Message\n0,hi\n", r"needs a header with the columns Label and Text; \['Text'\] missing"),
    ("Label,Text\nham,hi\nspam,win\n", r"must be 0 \(ham\) or 1 \(spam\), found e.g. \['ham', 'spam'\]"),
    ("Label,Text\n0,hi\n2,win\n", r"found e.g. \[2\]"),
    ("Label,Text\n0,hi\n1,\n", "1 message\\(s\\) .* tokenize to nothing .* data row 2"),
])
def test_bad_csv_files_are_a_clear_error(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        SpamDataset(write_csv(tmp_path / "bad.csv", content), get_tokenizer())


@pytest.mark.parametrize("pad_token_id", [2048, -1, 3.0, True])
def test_pad_id_outside_the_vocabulary_is_a_clear_error(tmp_path, pad_token_id):
    path = write_csv(tmp_path / "ok.csv", "Label,Text\n0,hi\n")
    with pytest.raises(ValueError, match=r"pad_token_id must be a token id in \[0, 2048\)"):
        SpamDataset(path, get_tokenizer(), pad_token_id=pad_token_id)


@pytest.mark.parametrize("max_length", [0, -5, 2.5])
def test_bad_max_length_is_a_clear_error(tmp_path, max_length):
    path = write_csv(tmp_path / "ok.csv", "Label,Text\n0,hi\n")
    with pytest.raises(ValueError, match="max_length must be a positive number of tokens"):
        SpamDataset(path, get_tokenizer(), max_length=max_length)


def test_na_like_messages_stay_text(tmp_path):
    path = write_csv(tmp_path / "na.csv", "Label,Text\n0,NA\n0,null\n")
    assert len(SpamDataset(path, get_tokenizer())) == 2


# --- the book's numbers on the UCI SMS Spam Collection ------------------------------------------------


def test_uci_collection_gives_the_books_numbers(tmp_path):
    book_resource("sms-spam-collection")
    df = load_sms_data("uci")
    assert len(df) == 5572 and (df["Label"] == "spam").sum() == 747
    balanced = create_balanced_dataset(df)
    assert balanced["Label"].value_counts().to_dict() == {"ham": 747, "spam": 747}
    train, validation, test = random_split(balanced, 0.7, 0.1)
    assert (len(train), len(validation), len(test)) == (1045, 149, 300)

    book_resource("gpt2-vocab-bpe")
    book_resource("gpt2-encoder-json")
    tokenizer = get_tokenizer("gpt2")
    paths = write_split_csvs(tmp_path, source="uci")
    train_dataset = SpamDataset(paths["train"], tokenizer)
    assert train_dataset.max_length == 120  # the longest training message, in GPT-2 tokens
    assert train_dataset[0][0].tolist()[-1] == tokenizer.eot_token == 50256
    validation_dataset = SpamDataset(paths["validation"], tokenizer, max_length=train_dataset.max_length)
    assert validation_dataset[0][0].shape == (120,)
    assert len(SpamDataset(paths["test"], tokenizer, max_length=120)) == 300


def test_uci_download_goes_through_the_resource_layer(tmp_path):
    wrong = write_csv(tmp_path / "SMSSpamCollection", "ham\thello\n")
    with pytest.raises(ResourceError, match="SMSSpamCollection"):  # checked against the registry's checksum
        download_and_unzip_spam_data(wrong)
    local = book_resource("sms-spam-collection")
    assert download_and_unzip_spam_data(local) == local
