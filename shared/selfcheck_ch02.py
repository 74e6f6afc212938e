"""Self-checks for the word tokenizers, the dataset and the data loader (Chapter 2), used through
`shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(SimpleTokenizerV1); check(SimpleTokenizerV2)   # vocabulary from shared.build_vocab
    check(GPTDatasetV1); check(create_dataloader_v1)     # the embedded tokenizer, a short text

Tokenizers are compared on texts with punctuation, quotes, `--`, unknown words and `<|endoftext|>`;
the dataset and loader on every window, target and batch for several `max_length`/`stride` values.
A difference is compared with the reference with one usual mistake (a key of MISTAKES) put in.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import torch

from shared.data import GPTDatasetV1, create_dataloader_v1, load_corpus
from shared.resources import ResourceError
from shared.selfcheck import Checker, Raised, register_check
from shared.simple_tokenizers import ENDOFTEXT, UNK, SimpleTokenizerV1, SimpleTokenizerV2, build_vocab
from shared.tokenizer import get_tokenizer

SPLIT_PATTERN = r'([,.:;?_!"()\']|--|\s)'  # the book's final splitting rule
WRONG_SPLITS = {
    "split_whitespace": r"(\s)",
    "split_comma_period": r"([,.]|\s)",
    "split_no_double_dash": r'([,.:;?_!"()\']|\s)',
}
SPLIT_FIX = "split with re.split(r'([,.:;?_!\"()\\']|--|\\s)', text) and keep the non-empty stripped pieces"
MISTAKES = {
    "split_whitespace": "the text is split at whitespace only, so punctuation sticks to the words: " + SPLIT_FIX,
    "split_comma_period": "only commas and periods are split off, not ; : ? _ ! \" ( ) ' or --: " + SPLIT_FIX,
    "split_no_double_dash": "the double dash -- is not split off as a token of its own: " + SPLIT_FIX,
    "decode_spaces": "decode leaves a space before punctuation: remove it with "
                     "re.sub(r'\\s+([,.?!\"()\\'])', r'\\1', text)",
    "decode_no_spaces": "decode joins the tokens without spaces: \" \".join(...), then remove the space before "
                        "punctuation",
    "unknown_raises": "an unknown word raises KeyError; SimpleTokenizerV2 replaces it with <|unk|>: "
                      "self.str_to_int.get(token, self.str_to_int['<|unk|>'])",
    "unknown_dropped": "unknown words are dropped; SimpleTokenizerV2 replaces each with <|unk|>",
    "targets_not_shifted": "the targets are the inputs themselves: take token_ids[i + 1:i + max_length + 1]",
    "stride_ignored": "windows start every token, not every stride tokens: "
                      "range(0, len(token_ids) - max_length, stride)",
    "step_max_length": "windows start every max_length tokens, not every stride tokens: "
                       "range(0, len(token_ids) - max_length, stride)",
    "one_window_too_many": "the last window has a target one token short: the loop must stop at "
                           "len(token_ids) - max_length (range(0, len(token_ids) - max_length, stride))",
    "shuffle_ignored": "shuffle is not passed on to the DataLoader: DataLoader(..., shuffle=shuffle)",
    "drop_last_ignored": "drop_last is not passed on to the DataLoader: DataLoader(..., drop_last=drop_last)",
}
KNOWN_TEXT = ('The keeper lit the lamp, and the harbour was quiet. "Is it far, then?" she asked--(not really) '
              "it's near! Wait: the tide; the boats_and the bell.")
TEXTS = {
    "words, commas and periods": "The keeper lit the lamp, and the harbour was quiet.",
    "quotes, ?, !, brackets, an apostrophe and --": "\"Is it far, then?\" she asked--(not really) it's near!",
    "colon, semicolon and underscore": "Wait: the tide; the boats_and the bell.",
}
DECODED = ["words, commas and periods", "quotes, ?, !, brackets, an apostrophe and --"]  # the book's decode
# leaves a space before : and ; (the project's removes it), so decoding is checked without them
UNKNOWN_TEXT = "The quokka lit the lamp, and the walrus was quiet."
SPECIAL_TEXT = f"The keeper lit the lamp. {ENDOFTEXT} The harbour was quiet."


def encode_variant(vocab: dict[str, int], text: str, mistake: str = "", unknown: str = "raise") -> list[int]:
    """Split `text` (with the split of `mistake`, if it is one) and look the pieces up; unknown pieces raise
    KeyError, become <|unk|> or are dropped (`unknown`, or the mistake "unknown_raises"/"unknown_dropped")."""
    pieces = [p.strip() for p in re.split(WRONG_SPLITS.get(mistake, SPLIT_PATTERN), text) if p.strip()]
    unknown = {"unknown_raises": "raise", "unknown_dropped": "drop"}.get(mistake, unknown)
    if unknown == "unk":
        return [vocab.get(p, vocab[UNK]) for p in pieces]
    return [vocab[p] for p in pieces if unknown == "raise" or p in vocab]


def decode_variant(vocab: dict[str, int], ids: list[int], mistake: str = "") -> str:
    words = {i: s for s, i in vocab.items()}
    text = ("" if mistake == "decode_no_spaces" else " ").join(words[i] for i in ids)
    return text if mistake in ("decode_spaces", "decode_no_spaces") else re.sub(r'\s+([,.:;?!"()\'])', r"\1", text)


def _vocab() -> dict[str, int]:
    """build_vocab(KNOWN_TEXT) plus the pieces that the wrong splits cut, so that a wrong split gives other ids
    (telling the wrong splits apart) rather than a KeyError."""
    vocab = build_vocab(KNOWN_TEXT)
    for pattern in WRONG_SPLITS.values():
        for text in [*TEXTS.values(), SPECIAL_TEXT]:
            for piece in filter(None, (p.strip() for p in re.split(pattern, text))):
                vocab.setdefault(piece, len(vocab))
    return vocab


def _check_tokenizer(candidate: type, checker: Checker, reference_cls: type, unknown: str) -> None:
    vocab = _vocab()
    name = reference_cls.__name__
    tokenizer = checker.call(f"builds as {name}(vocab)", candidate, dict(vocab),
                             hint=f"the book builds it from a dict token -> id: {name}(vocab)")
    reference = reference_cls(vocab)
    texts = dict(TEXTS)
    if unknown == "unk":
        texts |= {"unknown words become <|unk|>": UNKNOWN_TEXT, "<|endoftext|> between two texts": SPECIAL_TEXT}
    encode_keys = [*WRONG_SPLITS, "unknown_raises", "unknown_dropped"] if unknown == "unk" else [*WRONG_SPLITS]
    for what, text in texts.items():
        variants = {MISTAKES[key]: lambda key=key, text=text: encode_variant(vocab, text, key, unknown)
                    for key in encode_keys}
        checker.compare(f"encode: {what}", checker.outcome(tokenizer.encode, text), reference.encode(text), variants)
    if unknown == "raise":
        checker.compare("encode: an unknown word raises KeyError (V1 has no <|unk|>)",
                        checker.outcome(tokenizer.encode, UNKNOWN_TEXT), Raised("KeyError", "quokka"))
    for what in DECODED:
        ids = reference.encode(TEXTS[what])
        variants = {MISTAKES[key]: lambda key=key, ids=ids: decode_variant(vocab, ids, key)
                    for key in ("decode_spaces", "decode_no_spaces")}
        checker.compare(f"decode: {what}", checker.outcome(tokenizer.decode, ids), reference.decode(ids), variants)


@register_check("SimpleTokenizerV1", chapter=2)
def check_simple_tokenizer_v1(candidate: type, checker: Checker) -> None:
    _check_tokenizer(candidate, checker, SimpleTokenizerV1, unknown="raise")


@register_check("SimpleTokenizerV2", chapter=2)
def check_simple_tokenizer_v2(candidate: type, checker: Checker) -> None:
    _check_tokenizer(candidate, checker, SimpleTokenizerV2, unknown="unk")


def windows_variant(token_ids: list[int], max_length: int, stride: int, mistake: str = "") -> list[tuple]:
    """The (input, target) windows of GPTDatasetV1, with `mistake` put in."""
    stop = len(token_ids) - max_length + (1 if mistake == "one_window_too_many" else 0)
    step = {"stride_ignored": 1, "step_max_length": max_length}.get(mistake, stride)
    shift = 0 if mistake == "targets_not_shifted" else 1
    return [(token_ids[i:i + max_length], token_ids[i + shift:i + shift + max_length]) for i in range(0, stop, step)]


def _sample_text() -> str:
    corpus = load_corpus()
    return f"{corpus[:160]} {ENDOFTEXT} {corpus[2000:2100]}"


def _as_lists(dataset: Any) -> list[tuple]:
    return [tuple(torch.as_tensor(t).tolist() for t in dataset[i]) for i in range(len(dataset))]


@register_check("GPTDatasetV1", chapter=2)
def check_gpt_dataset_v1(candidate: type, checker: Checker) -> None:
    tokenizer, text = get_tokenizer("embedded"), _sample_text()
    token_ids = tokenizer.encode(text, allowed_special={ENDOFTEXT})
    keys = ["targets_not_shifted", "stride_ignored", "step_max_length", "one_window_too_many"]
    for max_length, stride in ((4, 4), (4, 1), (6, 3), (5, 8)):
        call = f"GPTDatasetV1(txt, tokenizer, max_length={max_length}, stride={stride})"
        dataset = checker.call(f"builds as {call}", candidate, text, tokenizer, max_length, stride,
                               hint="the book's signature: GPTDatasetV1(txt, tokenizer, max_length, stride); "
                                    "the text holds <|endoftext|>: tokenizer.encode(txt, "
                                    "allowed_special={'<|endoftext|>'})")
        variants = {MISTAKES[key]: lambda key=key, m=max_length, s=stride: windows_variant(token_ids, m, s, key)
                    for key in keys}
        expected = _as_lists(GPTDatasetV1(text, tokenizer, max_length, stride))
        checker.compare(f"{call}: every (input, target) window", checker.outcome(_as_lists, dataset), expected,
                        variants)


def _batches(loader: Any) -> list[tuple]:
    torch.manual_seed(0)  # the shuffled order, the same for yours and the reference
    return [tuple(batch) for batch in loader]


def _reference_batches(text: str, tokenizer: Any, **kwargs: Any) -> list[tuple]:
    return _batches(create_dataloader_v1(text, **kwargs, tokenizer=tokenizer))


@register_check("create_dataloader_v1", chapter=2)
def check_create_dataloader_v1(candidate: Callable, checker: Checker) -> None:
    text = _sample_text()
    takes_tokenizer = "tokenizer" in inspect.signature(candidate).parameters
    try:
        tokenizer = get_tokenizer("embedded" if takes_tokenizer else "gpt2")
    except ResourceError as error:
        checker.stop("the book's tokenizer (GPT-2)", f"{error}", (
            "without a tokenizer parameter your function must use GPT-2's tokenizer, like the book's; "
            "give it a parameter tokenizer=None to check it with the embedded tokenizer",))
    extra = {"tokenizer": tokenizer} if takes_tokenizer else {}
    for kwargs in ({"batch_size": 3, "max_length": 4, "stride": 2, "shuffle": False},
                   {"batch_size": 4, "max_length": 5, "stride": 5, "shuffle": False, "drop_last": False},
                   {"batch_size": 2, "max_length": 3, "stride": 3, "shuffle": True}):
        call = f"create_dataloader_v1(txt, {', '.join(f'{k}={v}' for k, v in kwargs.items())})"
        loader = checker.call(call, candidate, text, **kwargs, **extra)
        flipped = {key: {**kwargs, arg: not kwargs.get(arg, True)}  # True: the book's default for both
                   for key, arg in (("shuffle_ignored", "shuffle"), ("drop_last_ignored", "drop_last"))}
        variants = {MISTAKES[key]: lambda changed=changed: _reference_batches(text, tokenizer, **changed)
                    for key, changed in flipped.items()}
        order = "in the same shuffled order (same seed)" if kwargs["shuffle"] else "in order"
        checker.compare(f"{call}: every batch, {order}", checker.outcome(_batches, loader),
                        _reference_batches(text, tokenizer, **kwargs), variants)
