"""Chapter 2's code, for use in Chapter 3 (re-exported from `shared`; nothing is defined here).

Usage, from a script or notebook in ch03/:
    from previous_chapters import create_dataloader_v1, get_tokenizer, load_corpus
"""

from shared import (
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    CharTokenizer,
    build_vocab,
    BPETokenizer,
    get_tokenizer,
    load_corpus,
    GPTDatasetV1,
    create_dataloader_v1,
)

__all__ = [
    "SimpleTokenizerV1",
    "SimpleTokenizerV2",
    "CharTokenizer",
    "build_vocab",
    "BPETokenizer",
    "get_tokenizer",
    "load_corpus",
    "GPTDatasetV1",
    "create_dataloader_v1",
]
