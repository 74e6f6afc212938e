"""How fast is the from-scratch BPE? Training time for the embedded vocabulary, and encoding speed
against tiktoken (the same ranks run by tiktoken's Rust encoder). Chapter 2.

Usage (from the repository root, a few seconds):
    python ch02/bpe_benchmark.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from shared import BPETokenizer
from shared.bpe import EMBEDDED_CORPUS, EMBEDDED_VOCAB_SIZE

REPEATS = 5


def best_time(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of `repeats` runs, in seconds (the least disturbed by other programs)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    text = EMBEDDED_CORPUS.read_text(encoding="utf-8")
    megabytes = len(text.encode("utf-8")) / 1e6
    print(f"corpus: {EMBEDDED_CORPUS.name}, {len(text):,} characters, {megabytes * 1e3:.1f} kB")

    seconds = best_time(lambda: BPETokenizer().train(text, EMBEDDED_VOCAB_SIZE), repeats=3)
    bpe = BPETokenizer().train(text, EMBEDDED_VOCAB_SIZE)
    n_merges = len(bpe.ranks) - 256
    print(f"training {EMBEDDED_VOCAB_SIZE} tokens ({n_merges} merges): {seconds:.2f} s, "
          f"{n_merges / seconds:,.0f} merges/s")

    encoding = bpe.to_tiktoken("embedded")
    assert bpe.encode(text, allowed_special="all") == encoding.encode(text, allowed_special="all")

    def fresh_encode() -> None:  # a new tokenizer: every piece is encoded for the first time
        BPETokenizer(bpe.ranks, bpe.special_tokens).encode(text, allowed_special="all")

    rows = [
        ("BPETokenizer, empty cache", fresh_encode),
        ("BPETokenizer, warm cache", lambda: bpe.encode(text, allowed_special="all")),
        ("tiktoken, same ranks", lambda: encoding.encode(text, allowed_special="all")),
    ]
    print(f"\n{'encoding the corpus':<28}{'ms':>8}{'MB/s':>9}")
    for label, fn in rows:
        seconds = best_time(fn)
        print(f"{label:<28}{seconds * 1e3:8.1f}{megabytes / seconds:9.2f}")


if __name__ == "__main__":
    main()
