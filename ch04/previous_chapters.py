"""Chapters 2 and 3's code, for use in Chapter 4 (re-exported from `shared`; nothing is defined here).

Usage, from a script or notebook in ch04/:
    from previous_chapters import MultiHeadAttention, create_dataloader_v1, get_tokenizer
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
    SelfAttention_v1,
    SelfAttention_v2,
    CausalAttention,
    MultiHeadAttentionWrapper,
    MultiHeadAttention,
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
    "SelfAttention_v1",
    "SelfAttention_v2",
    "CausalAttention",
    "MultiHeadAttentionWrapper",
    "MultiHeadAttention",
]
