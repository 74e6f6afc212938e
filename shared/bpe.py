"""Byte-level byte-pair encoding (BPE), GPT-2 style, written from scratch (Chapter 2).

Usage:
    from shared import BPETokenizer
    bpe = BPETokenizer().train(text, vocab_size=512)         # 256 bytes + 255 merges + <|endoftext|>
    ids = bpe.encode("Hello<|endoftext|>", allowed_special="all")
    bpe.decode(ids)                                           # 'Hello<|endoftext|>'
    bpe.save("my-bpe"); BPETokenizer.load("my-bpe")           # my-bpe.tiktoken + my-bpe.json
    gpt2 = BPETokenizer.from_gpt2("encoder.json", "vocab.bpe")  # OpenAI's files, encodes like tiktoken

    python -m shared.embedded_bpe --retrain   # retrain shared/assets/embedded-bpe.{tiktoken,json}

A tokenizer is fully described by its ranks (token bytes -> id; the 256 single bytes plus one token per
merge, a lower id meaning an earlier merge) and its special tokens. Encoding a piece of text repeatedly
merges the adjacent pair of tokens whose concatenation has the lowest rank, exactly as tiktoken does.
"""

from __future__ import annotations

import base64
import heapq
import json
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from pathlib import Path
from typing import Literal

import regex
import tiktoken

from shared.gpt2_bpe_files import ENDOFTEXT, read_gpt2_ranks

# GPT-2's pre-tokenizer: contractions, words with an optional leading space, numbers, runs of punctuation,
# and whitespace (a whitespace run leaves its last space to the word after it). BPE never merges across pieces.
# tiktoken runs this pattern with Rust's regex engine, we run it with Python's `regex` module: the two agree
# on every character their Unicode tables share. A character newer than tiktoken's tables (such as one added
# in Unicode 17) may count as a letter for `regex` and as unassigned for tiktoken, and then pieces differ.
GPT2_SPLIT_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""

ASSETS = Path(__file__).resolve().parent / "assets"
EMBEDDED_CORPUS = ASSETS / "embedded-corpus.txt"
EMBEDDED_BPE = ASSETS / "embedded-bpe"  # + .tiktoken and .json
EMBEDDED_VOCAB_SIZE = 2048  # 256 bytes + 1,791 merges + <|endoftext|>

MergeCallback = Callable[[int, bytes, bytes, int], None]  # (new id, left bytes, right bytes, pair count)


class BPETokenizer:
    """A byte-level BPE tokenizer: train it, or load GPT-2's files or a saved one; then encode and decode."""

    def __init__(self, ranks: dict[bytes, int] | None = None, special_tokens: dict[str, int] | None = None):
        # by default the smallest possible byte-level tokenizer: the 256 single bytes, no merges
        self.ranks = dict(ranks) if ranks is not None else {bytes([b]): b for b in range(256)}
        self.special_tokens = dict(special_tokens or {})
        self._pattern = regex.compile(GPT2_SPLIT_PATTERN)
        self._reset_tables()

    def _reset_tables(self) -> None:
        self.id_to_bytes = {i: token for token, i in self.ranks.items()}
        self.id_to_bytes.update({i: s.encode("utf-8") for s, i in self.special_tokens.items()})
        self._cache: dict[bytes, list[int]] = {}  # piece -> ids, filled by encode

    @property
    def vocab_size(self) -> int:
        return len(self.ranks) + len(self.special_tokens)

    # ---- training ----------------------------------------------------------------------------------------
    def train(self, text: str, vocab_size: int, allowed_special: Collection[str] = frozenset({ENDOFTEXT}),
              verbose: bool = False, on_merge: MergeCallback | None = None) -> BPETokenizer:
        """Learn `vocab_size - 256 - len(allowed_special)` merges from `text`; return self.

        The special tokens are cut out of the text (never merged) and get the ids after the last merge.
        Ties between equally frequent pairs go to the smallest pair of ids, so training is deterministic.
        """
        allowed_special = _special_set(allowed_special, "allowed_special")
        n_merges = vocab_size - 256 - len(allowed_special)
        if n_merges < 0:
            raise ValueError(f"vocab_size must be at least 256 + {len(allowed_special)} special tokens")
        pieces: Counter[bytes] = Counter()
        for part, is_special in _split_on_specials(text, allowed_special):
            if not is_special:
                pieces.update(p.encode("utf-8") for p in self._pattern.findall(part))
        if verbose:
            on_merge = on_merge or _print_merge
        vocab = _learn_merges(pieces, n_merges, on_merge)  # id -> bytes, ids 0..255 are the bytes
        self.ranks = {token: i for i, token in enumerate(vocab)}
        self.special_tokens = {s: len(vocab) + k for k, s in enumerate(sorted(allowed_special))}
        self._reset_tables()
        return self

    # ---- encoding and decoding -----------------------------------------------------------------------------
    def encode(self, text: str, allowed_special: Collection[str] | Literal["all"] = frozenset()) -> list[int]:
        """Text -> token ids. A special token in `text` that is not allowed raises ValueError (as in tiktoken)."""
        if not isinstance(text, str):
            raise TypeError(f"encode takes a str, got {type(text).__name__}")
        allowed = set(self.special_tokens) if allowed_special == "all" else _special_set(allowed_special,
                                                                                          "allowed_special")
        for token in self.special_tokens.keys() - allowed:
            if token in text:
                raise ValueError(f"the text contains the special token {token!r}, which is not allowed; pass "
                                 f"allowed_special={{{token!r}}} (or 'all') to encode it as one token, or "
                                 f"encode_ordinary() to treat it as plain text")
        ids: list[int] = []
        for part, is_special in _split_on_specials(text, allowed & self.special_tokens.keys()):
            ids.extend([self.special_tokens[part]] if is_special else self.encode_ordinary(part))
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Text -> token ids, reading special tokens as plain text."""
        ids: list[int] = []
        for piece in self._pattern.findall(text):
            piece_bytes = piece.encode("utf-8")
            if piece_bytes not in self._cache:
                self._cache[piece_bytes] = self._encode_piece(piece_bytes)
            ids.extend(self._cache[piece_bytes])
        return ids

    def _encode_piece(self, piece: bytes) -> list[int]:
        if piece in self.ranks:  # a whole piece that is one token stays one token (tiktoken's shortcut)
            return [self.ranks[piece]]
        parts = [bytes([b]) for b in piece]
        while len(parts) > 1:
            # find the adjacent pair whose merged bytes were learned earliest (lowest rank; leftmost on ties)
            best_rank, best_at = None, -1
            for i in range(len(parts) - 1):
                rank = self.ranks.get(parts[i] + parts[i + 1])
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best_at = rank, i
            if best_rank is None:
                break
            parts[best_at:best_at + 2] = [parts[best_at] + parts[best_at + 1]]
        return [self.ranks[p] for p in parts]

    def decode_bytes(self, ids: Iterable[int]) -> bytes:
        out = []
        for i in _as_id_list(ids):
            if i not in self.id_to_bytes:
                raise ValueError(f"token id {i} is not in this vocabulary (ids 0..{self.vocab_size - 1})")
            out.append(self.id_to_bytes[i])
        return b"".join(out)

    def decode(self, ids: Iterable[int]) -> str:
        """Token ids -> text; bytes that are not valid UTF-8 (a cut-off character) become '\ufffd'."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    # ---- interoperability: tiktoken and files -------------------------------------------------------------
    def check_ids(self) -> None:
        """Raise ValueError unless the ids are exactly 0 .. vocab_size - 1, each used once (what tiktoken needs)."""
        ids = list(self.ranks.values()) + list(self.special_tokens.values())
        duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
        missing = sorted(set(range(len(ids))) - set(ids))
        if duplicates or missing:
            what = f"ids used twice: {duplicates[:5]}" if duplicates else f"ids missing: {missing[:5]}"
            raise ValueError(f"this tokenizer's ids must run from 0 to {len(ids) - 1} without gaps or repeats "
                             f"({what}); special tokens take the ids after the last merge")
        if any(bytes([b]) not in self.ranks for b in range(256)):
            raise ValueError("a byte-level BPE needs all 256 single bytes among its tokens")

    def to_tiktoken(self, name: str) -> tiktoken.Encoding:
        """The same tokenizer as a `tiktoken.Encoding` (tiktoken's fast Rust encoder)."""
        self.check_ids()
        return tiktoken.Encoding(name, pat_str=GPT2_SPLIT_PATTERN, mergeable_ranks=self.ranks,
                                 special_tokens=self.special_tokens, explicit_n_vocab=self.vocab_size)

    def _file_texts(self, name: str) -> tuple[str, str]:
        """The contents of <path>.tiktoken (base64 of a token's bytes, space, rank; by rank) and <path>.json."""
        lines = [f"{base64.b64encode(token).decode('ascii')} {rank}\n"
                 for token, rank in sorted(self.ranks.items(), key=lambda item: item[1])]
        meta = {"name": name, "pat_str": GPT2_SPLIT_PATTERN, "special_tokens": self.special_tokens,
                "vocab_size": self.vocab_size}
        return "".join(lines), json.dumps(meta, indent=2, ensure_ascii=False) + "\n"

    def save(self, path: str | Path, name: str | None = None) -> None:
        """Write <path>.tiktoken (readable by tiktoken.load.load_tiktoken_bpe) and <path>.json."""
        path = Path(path)
        ranks_text, meta_text = self._file_texts(name or path.name)
        _with_suffix(path, ".tiktoken").write_text(ranks_text, encoding="ascii", newline="\n")
        _with_suffix(path, ".json").write_text(meta_text, encoding="utf-8", newline="\n")

    @classmethod
    def load(cls, path: str | Path) -> BPETokenizer:
        """Read <path>.tiktoken and <path>.json written by `save`."""
        path = Path(path)
        meta_path, ranks_path = _with_suffix(path, ".json"), _with_suffix(path, ".tiktoken")
        for needed in (meta_path, ranks_path):
            if not needed.is_file():
                raise FileNotFoundError(f"{needed} does not exist; a saved tokenizer is two files, "
                                        f"{path.name}.tiktoken and {path.name}.json (see BPETokenizer.save)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            pattern, special_tokens, vocab_size = meta["pat_str"], meta["special_tokens"], meta["vocab_size"]
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(f"{meta_path} is not a tokenizer description written by BPETokenizer.save "
                             f"({type(err).__name__}: {err})") from None
        if pattern != GPT2_SPLIT_PATTERN:
            raise ValueError(f"{meta_path} uses another pre-tokenizer pattern; BPETokenizer only knows GPT-2's")
        ranks = {}
        for number, line in enumerate(ranks_path.read_bytes().decode("ascii", errors="replace").splitlines(), 1):
            if line:
                token, rank = _parse_rank_line(line, ranks_path, number)
                ranks[token] = rank
        tokenizer = cls(ranks, special_tokens)
        if tokenizer.vocab_size != vocab_size:
            raise ValueError(f"{path}: the .json says vocab_size {vocab_size} but the files hold "
                             f"{tokenizer.vocab_size} tokens; the .tiktoken file may be truncated")
        try:
            tokenizer.check_ids()
        except ValueError as err:
            raise ValueError(f"{ranks_path}: {err}") from None
        return tokenizer

    @classmethod
    def from_gpt2(cls, encoder_json_path: str | Path, vocab_bpe_path: str | Path) -> BPETokenizer:
        """GPT-2's tokenizer from OpenAI's encoder.json and vocab.bpe (50,257 tokens)."""
        ranks, eot_id = read_gpt2_ranks(encoder_json_path, vocab_bpe_path)
        return cls(ranks, {ENDOFTEXT: eot_id})


# ---- helpers --------------------------------------------------------------------------------------------------
def _special_set(value: Collection[str], argument: str) -> set[str]:
    """A set of special-token strings; one string is one token (never split into its characters)."""
    if isinstance(value, str):
        return {value}
    items = set(value)
    if not all(isinstance(item, str) for item in items):
        raise TypeError(f"{argument} must be special-token strings such as {{'<|endoftext|>'}}, got {value!r}")
    return items


def _as_id_list(ids: Iterable[int]) -> list[int]:
    """Token ids as a list of ints: accepts a list, a 1-D tensor or array; rejects text and batches clearly."""
    if isinstance(ids, (str, bytes)):
        raise TypeError(f"decode takes token ids (ints), got a {type(ids).__name__}: to turn text into ids use encode")
    if hasattr(ids, "tolist") and hasattr(ids, "ndim"):  # torch tensor or numpy array
        if ids.ndim > 1:
            raise ValueError(f"decode takes one sequence of ids, got a batch of shape {tuple(ids.shape)}: "
                             f"decode each row, e.g. decode(ids[0].tolist())")
        ids = ids.tolist()
    ids = [ids] if isinstance(ids, int) else list(ids)
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        bad = next(i for i in ids if not isinstance(i, int) or isinstance(i, bool))
        raise TypeError(f"decode takes integer token ids, got {bad!r} ({type(bad).__name__}) among them")
    return ids


def _parse_rank_line(line: str, path: Path, number: int) -> tuple[bytes, int]:
    """(token bytes, rank) of one '<base64> <rank>' line of a .tiktoken file, or a ValueError naming the line."""
    parts = line.split()
    try:
        if len(parts) != 2:
            raise ValueError("expected '<base64 bytes> <rank>'")
        return base64.b64decode(parts[0], validate=True), int(parts[1])
    except ValueError as err:
        raise ValueError(f"{path}, line {number}: {line[:60]!r} is not a valid token line ({err}); "
                         f"the file is damaged or not a .tiktoken rank file") from None


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)  # not with_suffix: "gpt.v2" must not lose its ".v2"


def _split_on_specials(text: str, specials: Collection[str]) -> list[tuple[str, bool]]:
    """Cut `text` at the given special tokens: [(part, is_special), ...], empty parts dropped."""
    if not specials:
        return [(text, False)]
    # longest first, so that a special token that contains another one wins
    alternatives = "|".join(regex.escape(s) for s in sorted(specials, key=len, reverse=True))
    parts = regex.split(f"({alternatives})", text)
    return [(part, i % 2 == 1) for i, part in enumerate(parts) if part]


def _merge_pair(word: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `word` (left to right, not overlapping) by `new_id`."""
    merged, i = [], 0
    while i < len(word):
        if i + 1 < len(word) and (word[i], word[i + 1]) == pair:
            merged.append(new_id)
            i += 2
        else:
            merged.append(word[i])
            i += 1
    return merged


def _learn_merges(pieces: Counter[bytes], n_merges: int, on_merge: MergeCallback | None) -> list[bytes]:
    """The BPE training loop; returns the vocabulary as a list: position = id, value = token bytes.

    Counting every pair in the whole corpus again after each merge would be slow. Instead we keep:
      pair_counts  (a, b) -> how often a is followed by b, each distinct piece weighted by its frequency
      where        (a, b) -> the pieces that contain it,
    and after a merge we recount only the pieces that contained the merged pair. A heap gives the most
    frequent pair; entries made stale by later count changes are skipped when they come up.
    """
    words = [list(piece) for piece in pieces]  # each distinct piece once, as a list of ids (bytes at first)
    freqs = list(pieces.values())
    vocab = [bytes([b]) for b in range(256)]
    id_of = {token: i for i, token in enumerate(vocab)}

    pair_counts: Counter[tuple[int, int]] = Counter()
    where: defaultdict[tuple[int, int], set[int]] = defaultdict(set)
    for w, word in enumerate(words):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += freqs[w]
            where[pair].add(w)
    heap = [(-count, pair) for pair, count in pair_counts.items()]  # min-heap: highest count, then smallest pair
    heapq.heapify(heap)

    while len(vocab) < 256 + n_merges:
        while heap and pair_counts.get(heap[0][1]) != -heap[0][0]:
            heapq.heappop(heap)  # stale entry
        if not heap:
            warnings.warn(f"the text has no pairs left to merge: stopping at {len(vocab) - 256} merges", stacklevel=3)
            break
        count, pair = -heap[0][0], heap[0][1]
        merged = vocab[pair[0]] + vocab[pair[1]]
        new_id = id_of.get(merged)  # the same bytes may already be a token, built from another pair
        if new_id is None:
            new_id = id_of[merged] = len(vocab)
            vocab.append(merged)
        if on_merge:
            on_merge(new_id, vocab[pair[0]], vocab[pair[1]], count)

        for w in sorted(where[pair]):
            old, new = words[w], _merge_pair(words[w], pair, new_id)
            words[w] = new
            old_pairs, new_pairs = Counter(zip(old, old[1:])), Counter(zip(new, new[1:]))
            for p in old_pairs.keys() | new_pairs.keys():
                change = (new_pairs[p] - old_pairs[p]) * freqs[w]
                if change:
                    pair_counts[p] += change
                    if pair_counts[p]:
                        heapq.heappush(heap, (-pair_counts[p], p))
                    else:
                        del pair_counts[p]
                if p not in new_pairs:
                    where[p].discard(w)
                elif p not in old_pairs:
                    where[p].add(w)
    return vocab


def _print_merge(new_id: int, left: bytes, right: bytes, count: int) -> None:
    def show(b: bytes) -> str:
        return repr(b.decode("utf-8", errors="replace"))
    print(f"merge {new_id - 255:>4}: {show(left):>10} + {show(right):<10} -> id {new_id:>5} "
          f"{show(left + right):<14} ({count} times)")
