"""SMS spam data for the classifier: load, balance, split, write the CSVs, pad into a Dataset (Chapter 6).

Usage:
    from shared.spam_data import LABEL_IDS, SpamDataset, create_balanced_dataset, load_sms_data, random_split
    df = load_sms_data()                            # "embedded" (default) or "uci"; columns Label, Text
    balanced_df = create_balanced_dataset(df)       # as many ham messages as spam messages
    balanced_df["Label"] = balanced_df["Label"].map(LABEL_IDS)               # "ham" -> 0, "spam" -> 1
    train_df, validation_df, test_df = random_split(balanced_df, 0.7, 0.1)   # test: the last 20%
    paths = write_split_csvs("data")                # all of the above in one call: train/validation/test.csv
    train_dataset = SpamDataset(paths["train"])     # the embedded tokenizer unless you pass one
    val_dataset = SpamDataset(paths["validation"], max_length=train_dataset.max_length)
    token_ids, label = train_dataset[0]             # (max_length,) ids, padded; label 0 or 1

Two sources, one format (the UCI file's: `label<TAB>text` per line, labels `ham`/`spam`, no header):
  "embedded"  shared/assets/embedded-sms.tsv, written for this project by ch06/make_sms_dataset.py
  "uci"       the UCI SMS Spam Collection, a book resource (LLM_BOOK_DATA, the user cache or a download)
Both are read exactly as the book reads the UCI file, with pandas' default quoting (it merges a few lines
of the UCI file, so 5,574 lines give 5,572 messages). Every seeded step uses the book's random_state=123,
so with the UCI file the book's numbers come out: 747 spam, 747 + 747 balanced, 1045/149/300 split.

`SpamDataset` pads every message with `pad_token_id` (the tokenizer's <|endoftext|> unless given) to the
longest message of its file, or to `max_length` when given; longer messages are then cut to their first
`max_length` tokens (`num_truncated` says how many). Pass the training set's `max_length` to the
validation and test sets so all three have the same width.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import tiktoken
import torch
from torch.utils.data import Dataset

from shared.resources import resolve
from shared.tokenizer import get_tokenizer

EMBEDDED_SMS = Path(__file__).parent / "assets" / "embedded-sms.tsv"
SMS_SOURCES = ("embedded", "uci")
LABEL_IDS = {"ham": 0, "spam": 1}
RANDOM_STATE = 123  # the book's seed for every sample() below
SPLIT_NAMES = ("train", "validation", "test")


def download_and_unzip_spam_data(path: str | Path | None = None) -> Path:
    """The UCI SMS Spam Collection as a local, verified file: found, or downloaded, unzipped and cached once.

    `path` points at a copy you already have; without it the resource layer looks in LLM_BOOK_DATA and the
    user cache before it downloads (see shared/resources.py).
    """
    return resolve("sms-spam-collection", path=path)


def read_sms_file(path: str | Path) -> pd.DataFrame:
    """A `label<TAB>text` file as a DataFrame with columns Label and Text, read the way the book reads it."""
    return pd.read_csv(path, sep="\t", header=None, names=["Label", "Text"])


def load_sms_data(name: str = "embedded") -> pd.DataFrame:
    """All messages of a source: "embedded" (the project's own, offline) or "uci" (book resource)."""
    if name == "embedded":
        return read_sms_file(EMBEDDED_SMS)
    if name == "uci":
        return read_sms_file(download_and_unzip_spam_data())
    raise ValueError(f"unknown SMS source {name!r}; choose one of {SMS_SOURCES}")


def _check_text_labels(df: pd.DataFrame) -> None:
    missing = [column for column in ("Label", "Text") if column not in df.columns]
    if missing:
        raise ValueError(f"the DataFrame needs the columns Label and Text; {missing} missing "
                         f"(it has {list(df.columns)}). Read the data with load_sms_data()")
    unknown = sorted(set(df["Label"].astype(str)) - set(LABEL_IDS))
    if unknown:
        raise ValueError(f"labels must be 'ham' or 'spam', found {unknown[:5]}; balance the text labels "
                         f"before mapping them to ids with LABEL_IDS")


def create_balanced_dataset(df: pd.DataFrame) -> pd.DataFrame:
    """Every message of the rarer label and as many, sampled, of the other; ham rows first, then spam."""
    _check_text_labels(df)
    ham, spam = df[df["Label"] == "ham"], df[df["Label"] == "spam"]
    if len(ham) == 0 or len(spam) == 0:
        raise ValueError(f"balancing needs both labels; got {len(ham)} ham and {len(spam)} spam messages")
    if len(ham) >= len(spam):  # the book's case: keep every spam message, sample the ham
        ham = ham.sample(len(spam), random_state=RANDOM_STATE)
    else:
        spam = spam.sample(len(ham), random_state=RANDOM_STATE)
    return pd.concat([ham, spam])


def random_split(df: pd.DataFrame, train_frac: float,
                 validation_frac: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffle (seeded) and cut into train, validation and test; the test split gets what is left."""
    if not 0 < train_frac < 1 or not 0 <= validation_frac < 1 or train_frac + validation_frac > 1:
        raise ValueError(f"train_frac must be in (0, 1) and validation_frac in [0, 1), with a sum of at "
                         f"most 1; got {train_frac} and {validation_frac}")
    df = df.sample(frac=1, random_state=RANDOM_STATE).reset_index(drop=True)
    train_end = int(len(df) * train_frac)
    validation_end = train_end + int(len(df) * validation_frac)
    return df[:train_end], df[train_end:validation_end], df[validation_end:]


def write_split_csvs(folder: str | Path, source: str = "embedded", train_frac: float = 0.7,
                     validation_frac: float = 0.1) -> dict[str, Path]:
    """The book's preparation in one call: load, balance, labels to 0/1, split, write three CSV files.

    Returns {"train": folder/train.csv, "validation": ..., "test": ...}; each file has the header
    Label,Text. The test split is held out: train on train.csv, choose settings on validation.csv.
    """
    balanced_df = create_balanced_dataset(load_sms_data(source))
    balanced_df["Label"] = balanced_df["Label"].map(LABEL_IDS)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, split_df in zip(SPLIT_NAMES, random_split(balanced_df, train_frac, validation_frac)):
        paths[name] = folder / f"{name}.csv"
        split_df.to_csv(paths[name], index=None)
    return paths


def _read_split_csv(csv_file: str | Path) -> pd.DataFrame:
    """A split file written by `write_split_csvs`, checked: columns Label and Text, labels 0/1, some rows."""
    try:
        # keep_default_na=False: an empty or "NA" message stays text instead of becoming NaN
        data = pd.read_csv(csv_file, dtype={"Text": str}, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{csv_file} is empty; write the split files with write_split_csvs()") from None
    missing = [column for column in ("Label", "Text") if column not in data.columns]
    if missing:
        raise ValueError(f"{csv_file} needs a header with the columns Label and Text; {missing} missing "
                         f"(found {list(data.columns)})")
    if len(data) == 0:
        raise ValueError(f"{csv_file} has a header but no messages")
    bad_labels = data["Label"][~data["Label"].isin([0, 1])]
    if len(bad_labels):
        raise ValueError(f"labels in {csv_file} must be 0 (ham) or 1 (spam), found e.g. "
                         f"{bad_labels.tolist()[:3]}; map text labels first: df['Label'].map(LABEL_IDS)")
    return data


class SpamDataset(Dataset):
    """Each message of a split file as `max_length` token ids, padded with `pad_token_id`, and its label.

    `max_length=None` pads to the file's longest message; a given `max_length` also cuts longer messages
    to their first `max_length` tokens (`num_truncated` counts them). Labels are 0 (ham) or 1 (spam).
    """

    def __init__(self, csv_file: str | Path, tokenizer: tiktoken.Encoding | None = None,
                 max_length: int | None = None, pad_token_id: int | None = None):
        tokenizer = tokenizer or get_tokenizer()
        pad_token_id = tokenizer.eot_token if pad_token_id is None else pad_token_id
        if isinstance(pad_token_id, bool) or not isinstance(pad_token_id, int) \
                or not 0 <= pad_token_id < tokenizer.n_vocab:
            raise ValueError(f"pad_token_id must be a token id in [0, {tokenizer.n_vocab}) of this "
                             f"tokenizer, got {pad_token_id!r}; leave it out to pad with <|endoftext|> "
                             f"({tokenizer.eot_token})")
        if max_length is not None and (isinstance(max_length, bool) or not isinstance(max_length, int)
                                       or max_length <= 0):
            raise ValueError(f"max_length must be a positive number of tokens or None, got {max_length!r}")

        self.data = _read_split_csv(csv_file)
        self.encoded_texts = [tokenizer.encode(text) for text in self.data["Text"]]
        empty = [row for row, ids in enumerate(self.encoded_texts) if not ids]
        if empty:
            raise ValueError(f"{len(empty)} message(s) in {csv_file} tokenize to nothing (empty text), "
                             f"first at data row {empty[0] + 1}; remove them before building the dataset")

        self.max_length = max(len(ids) for ids in self.encoded_texts) if max_length is None else max_length
        self.num_truncated = sum(len(ids) > self.max_length for ids in self.encoded_texts)
        truncated = [ids[:self.max_length] for ids in self.encoded_texts]
        self.encoded_texts = [ids + [pad_token_id] * (self.max_length - len(ids)) for ids in truncated]
        self.labels = self.data["Label"].astype(int).tolist()

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return (torch.tensor(self.encoded_texts[index], dtype=torch.long),  # (max_length,)
                torch.tensor(self.labels[index], dtype=torch.long))          # ()

    def __len__(self) -> int:
        return len(self.data)
