"""The project's own tokenizer: retrain or check the embedded BPE files in shared/assets (Chapter 2).

Usage:
    python -m shared.embedded_bpe --retrain   # retrain on embedded-corpus.txt, rewrite embedded-bpe.{tiktoken,json}
    python -m shared.embedded_bpe --check     # exit 1 if a retrain would change those files
    make tokenizer                            # the same as --retrain

Training is deterministic, so a retrain on the same corpus reproduces the committed files byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shared.bpe import EMBEDDED_BPE, EMBEDDED_CORPUS, EMBEDDED_VOCAB_SIZE, BPETokenizer, _with_suffix


def train_embedded(corpus: Path = EMBEDDED_CORPUS) -> BPETokenizer:
    """The project's embedded tokenizer: 2,048 tokens trained on shared/assets/embedded-corpus.txt."""
    return BPETokenizer().train(corpus.read_text(encoding="utf-8"), EMBEDDED_VOCAB_SIZE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Retrain or check the embedded BPE tokenizer (shared/assets).")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--retrain", action="store_true", help="retrain it and rewrite its two files")
    action.add_argument("--check", action="store_true", help="exit 1 if a retrain differs from the files")
    args = parser.parse_args(argv)

    if not EMBEDDED_CORPUS.is_file():
        print(f"error: the training corpus {EMBEDDED_CORPUS} is missing", file=sys.stderr)
        return 2
    tokenizer = train_embedded()
    if args.retrain:
        tokenizer.save(EMBEDDED_BPE, name="embedded")
        print(f"wrote {EMBEDDED_BPE}.tiktoken and .json ({tokenizer.vocab_size} tokens)")
        return 0
    expected = tokenizer._file_texts("embedded")
    for suffix, text in zip((".tiktoken", ".json"), expected):
        path = _with_suffix(EMBEDDED_BPE, suffix)
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            print(f"{path} differs from a fresh retrain: run python -m shared.embedded_bpe --retrain")
            return 1
    print("the embedded tokenizer files match a fresh retrain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
