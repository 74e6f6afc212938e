"""Model configurations: the GPT-2 sizes, a small CPU model and a tiny test model (Chapter 4).

Usage:
    from shared import GPT_CONFIG_124M, get_config, validate_config
    cfg = get_config("small-cpu")                          # a copy you may change freely
    cfg = get_config("gpt2-small (124M)", qkv_bias=True)   # overrides, checked like everything else
    cfg = validate_config(my_dict)                         # raises ValueError saying what is wrong

A configuration is a plain dict with the book's seven keys:

    vocab_size      number of token ids the model knows (rows of the embedding table)
    context_length  the longest input, in tokens (rows of the position-embedding table)
    emb_dim         width of every token vector inside the model
    n_heads         attention heads per block (emb_dim must be divisible by it)
    n_layers        transformer blocks stacked on top of each other
    drop_rate       dropout probability, in [0, 1)
    qkv_bias        whether the query/key/value projections have a bias (GPT-2's weights do)

and a few optional keys that `validate_config` fills in when they are absent:

    tie_weights         False: the output head shares its weight matrix with the token embedding (GPT-2 does)
    drop_rate_emb       dropout after the embeddings            (default: drop_rate)
    drop_rate_attn      dropout on the attention weights        (default: drop_rate)
    drop_rate_shortcut  dropout before each shortcut addition   (default: drop_rate)
    padded_vocab_size   (absent: none) embedding/output rows rounded up, e.g. 50304 for GPT-2: faster on a GPU;
                        the extra rows are never used and the logits keep vocab_size columns
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

REQUIRED_KEYS: dict[str, type] = {
    "vocab_size": int, "context_length": int, "emb_dim": int, "n_heads": int, "n_layers": int,
    "drop_rate": float, "qkv_bias": bool,
}
OPTIONAL_KEYS: dict[str, type] = {
    "tie_weights": bool, "drop_rate_emb": float, "drop_rate_attn": float, "drop_rate_shortcut": float,
    "padded_vocab_size": int,
}
DROP_KEYS = ("drop_rate", "drop_rate_emb", "drop_rate_attn", "drop_rate_shortcut")

GPT_CONFIG_124M = {
    "vocab_size": 50257,     # GPT-2's BPE vocabulary
    "context_length": 1024,  # GPT-2's longest input
    "emb_dim": 768,
    "n_heads": 12,
    "n_layers": 12,
    "drop_rate": 0.1,
    "qkv_bias": False,       # loading OpenAI's weights needs True (Chapter 5)
}
GPT_CONFIG_355M = {**GPT_CONFIG_124M, "emb_dim": 1024, "n_heads": 16, "n_layers": 24}
GPT_CONFIG_774M = {**GPT_CONFIG_124M, "emb_dim": 1280, "n_heads": 20, "n_layers": 36}
GPT_CONFIG_1558M = {**GPT_CONFIG_124M, "emb_dim": 1600, "n_heads": 25, "n_layers": 48}

# ~4.2M parameters: pretrains on the embedded corpus (~18k tokens) in minutes on a laptop CPU
GPT_CONFIG_SMALL = {
    "vocab_size": 2048,      # the embedded tokenizer, get_tokenizer("embedded")
    "context_length": 256,
    "emb_dim": 256,
    "n_heads": 4,
    "n_layers": 4,
    "drop_rate": 0.1,
    "qkv_bias": False,
}
# ~35k parameters (almost all of them in the two 2048-row embedding/output matrices): for tests
GPT_CONFIG_TINY = {
    "vocab_size": 2048,
    "context_length": 16,
    "emb_dim": 8,
    "n_heads": 2,
    "n_layers": 2,
    "drop_rate": 0.0,
    "qkv_bias": False,
}

# the registry keeps its own frozen copies: editing GPT_CONFIG_TINY["emb_dim"] in a notebook changes that
# dict only, never what get_config("tiny") returns later
MODEL_CONFIGS: Mapping[str, Mapping[str, Any]] = MappingProxyType({
    name: MappingProxyType(dict(cfg)) for name, cfg in {
        "gpt2-small (124M)": GPT_CONFIG_124M,
        "gpt2-medium (355M)": GPT_CONFIG_355M,
        "gpt2-large (774M)": GPT_CONFIG_774M,
        "gpt2-xl (1558M)": GPT_CONFIG_1558M,
        "small-cpu": GPT_CONFIG_SMALL,
        "tiny": GPT_CONFIG_TINY,
    }.items()
})


def _type_ok(value: Any, expected: type) -> bool:
    if expected is bool:
        return isinstance(value, bool)
    if expected is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, (int, float)) and not isinstance(value, bool)  # a rate may be written as 0


def validate_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Check `cfg` and return a new dict with the optional keys filled in; raise ValueError if it is unusable.

    All problems are reported together in one message, each with what to change.
    """
    if not isinstance(cfg, Mapping):
        raise ValueError(f"a model configuration must be a dict, got {type(cfg).__name__}; "
                         f"start from get_config('small-cpu') or GPT_CONFIG_124M")
    known = {**REQUIRED_KEYS, **OPTIONAL_KEYS}
    problems = []
    for key in cfg:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known keys: {', '.join(known)}"
            problems.append(f"unknown key {key!r} ({hint})")
    missing = [key for key in REQUIRED_KEYS if key not in cfg]
    if missing:
        problems.append(f"missing key(s) {', '.join(map(repr, missing))} (every configuration needs "
                        f"{', '.join(REQUIRED_KEYS)}; start from a preset: get_config('small-cpu', ...))")
    usable = {}  # the keys present with the right type: their values are checked below
    for key, expected in known.items():
        if key not in cfg:
            continue
        if _type_ok(cfg[key], expected):
            usable[key] = cfg[key]
        else:
            problems.append(f"{key!r} must be {expected.__name__}, got {cfg[key]!r} ({type(cfg[key]).__name__})")

    for key in ("vocab_size", "context_length", "emb_dim", "n_heads", "n_layers"):
        if key in usable and usable[key] <= 0:
            problems.append(f"{key!r} must be a positive number, got {usable[key]}")
    emb_dim, n_heads = usable.get("emb_dim", 0), usable.get("n_heads", 0)
    if emb_dim > 0 and n_heads > 0 and emb_dim % n_heads != 0:
        divisors = [h for h in range(1, min(emb_dim, 64) + 1) if emb_dim % h == 0]
        problems.append(f"emb_dim ({emb_dim}) must be divisible by n_heads ({n_heads}) so each head gets "
                        f"emb_dim // n_heads dimensions; choose n_heads from {divisors}")
    padded, vocab_size = usable.get("padded_vocab_size"), usable.get("vocab_size", 0)
    if padded is not None and padded < vocab_size:
        problems.append(f"'padded_vocab_size' ({padded}) must be at least vocab_size ({vocab_size}); GPU kernels "
                        f"like a multiple of 64: {-(-vocab_size // 64) * 64}")
    for key in DROP_KEYS:
        if key in usable and not 0.0 <= usable[key] < 1.0:
            problems.append(f"{key!r} is a probability and must be in [0, 1), got {usable[key]}")
    if problems:
        raise ValueError("invalid model configuration:\n  - " + "\n  - ".join(problems))

    filled = {"tie_weights": False, **{key: cfg["drop_rate"] for key in DROP_KEYS[1:]}}
    return {**filled, **cfg}


def get_config(name: str, **overrides: Any) -> dict[str, Any]:
    """A fresh copy of the preset `name` (see MODEL_CONFIGS) with `overrides` applied, validated.

    The copy holds the preset's keys plus the overrides (no filled-in defaults), so it prints like the book.
    """
    if name not in MODEL_CONFIGS:
        raise ValueError(f"unknown model configuration {name!r}; choose one of {list(MODEL_CONFIGS)}")
    cfg = {**MODEL_CONFIGS[name], **overrides}
    validate_config(cfg)
    return cfg
