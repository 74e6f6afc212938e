"""Chapter 2's first tokenizers: word-level (V1, V2 with special tokens) and character-level.

Usage:
    from shared import SimpleTokenizerV2, build_vocab, CharTokenizer
    tokenizer = SimpleTokenizerV2(build_vocab(text))
    ids = tokenizer.encode("Hello, do you like tea? <|endoftext|> In the sunlit terraces")
    tokenizer.decode(ids)             # unknown words come back as <|unk|>
    chars = CharTokenizer(text)       # one id per character: a tiny vocabulary, long sequences

The word splitter cuts at whitespace, at double dashes and before/after each of , . : ; ? _ ! " ( ) '
and keeps the punctuation as tokens of their own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ENDOFTEXT, UNK = "<|endoftext|>", "<|unk|>"
_SPLIT = re.compile(r'([,.:;?_!"()\']|--|\s)')
_SPACE_BEFORE_PUNCTUATION = re.compile(r'\s+([,.:;?!"()\'])')


def split_words(text: str) -> list[str]:
    """'Hello, world.' -> ['Hello', ',', 'world', '.'] (whitespace dropped)."""
    return [piece.strip() for piece in _SPLIT.split(text) if piece.strip()]


def build_vocab(text: str, special_tokens: Iterable[str] = (ENDOFTEXT, UNK)) -> dict[str, int]:
    """Every distinct word of `text` in sorted order, then the special tokens: token -> id."""
    special_tokens = list(special_tokens)
    words = sorted(set(split_words(text)) - set(special_tokens))
    return {token: i for i, token in enumerate(words + special_tokens)}


def _join_words(words: Iterable[str]) -> str:
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(words))


class SimpleTokenizerV1:
    """Word-level tokenizer over a fixed vocabulary; a word outside the vocabulary raises KeyError."""

    def __init__(self, vocab: dict[str, int]):
        self.str_to_int = dict(vocab)
        self.int_to_str = {i: s for s, i in vocab.items()}

    def encode(self, text: str) -> list[int]:
        ids = []
        for word in split_words(text):
            if word not in self.str_to_int:
                raise KeyError(f"{word!r} is not in the vocabulary (SimpleTokenizerV2 maps unknown words to {UNK})")
            ids.append(self.str_to_int[word])
        return ids

    def decode(self, ids: Iterable[int]) -> str:
        words = []
        for i in ids:
            if i not in self.int_to_str:
                raise KeyError(f"token id {i} is not in the vocabulary")
            words.append(self.int_to_str[i])
        return _join_words(words)


class SimpleTokenizerV2(SimpleTokenizerV1):
    """V1 plus two special tokens: <|unk|> stands for unknown words, <|endoftext|> separates documents."""

    def __init__(self, vocab: dict[str, int]):
        missing = [s for s in (ENDOFTEXT, UNK) if s not in vocab]
        if missing:
            raise ValueError(f"SimpleTokenizerV2 needs the special tokens {missing} in its vocabulary; "
                             f"build it with build_vocab(text), which appends them")
        super().__init__(vocab)

    def encode(self, text: str) -> list[int]:
        ids = []
        # <|endoftext|> is found even when it touches words ("tea.<|endoftext|>The"); the rest is split as in V1
        for n, part in enumerate(text.split(ENDOFTEXT)):
            if n > 0:
                ids.append(self.str_to_int[ENDOFTEXT])
            ids.extend(self.str_to_int.get(word, self.str_to_int[UNK]) for word in split_words(part))
        return ids


class CharTokenizer:
    """Character-level tokenizer: the vocabulary is every distinct character of `text`, sorted."""

    def __init__(self, text: str):
        chars = sorted(set(text))
        self.str_to_int = {c: i for i, c in enumerate(chars)}
        self.int_to_str = dict(enumerate(chars))

    @property
    def vocab_size(self) -> int:
        return len(self.str_to_int)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.str_to_int.keys())
        if unknown:
            raise KeyError(f"characters not in the vocabulary: {unknown}")
        return [self.str_to_int[c] for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        ids = list(ids)
        unknown = [i for i in ids if i not in self.int_to_str]
        if unknown:
            raise KeyError(f"token ids not in the vocabulary (0..{self.vocab_size - 1}): {unknown}")
        return "".join(self.int_to_str[i] for i in ids)
