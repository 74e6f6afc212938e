"""Chapters 2 to 4's code, for use in Chapter 5 (re-exported from `shared`; nothing is defined here).

Usage, from a script or notebook in ch05/:
    from previous_chapters import GPTModel, create_dataloader_v1, generate_text_simple, get_tokenizer
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
    GPT_CONFIG_124M,
    get_config,
    LayerNorm,
    GELU,
    FeedForward,
    KVCache,
    TransformerBlock,
    GPTModel,
    generate_text_simple,
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
    "GPT_CONFIG_124M",
    "get_config",
    "LayerNorm",
    "GELU",
    "FeedForward",
    "KVCache",
    "TransformerBlock",
    "GPTModel",
    "generate_text_simple",
]
