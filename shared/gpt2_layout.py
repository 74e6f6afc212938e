"""What a GPT-2 safetensors file must hold, checked from its header alone (Chapter 5).

Usage:
    from shared import get_config
    from shared.gpt2_layout import gpt2_file_problem
    problem = gpt2_file_problem("gpt2-124M.safetensors", get_config("gpt2-small (124M)"))
    # None if the file fits the model, else one sentence saying what is wrong

A safetensors file is an 8-byte little-endian number N, a header of N bytes of JSON, then the raw tensor
data. The header maps each tensor's name to its dtype, its shape and the [begin, end) byte range of its
data; an optional "__metadata__" entry holds strings. The check reads only the header (some kilobytes, even
for GPT-2 XL's 6.4 GB file) and verifies that
  - the header parses, and every entry has a known dtype, a shape and a byte range;
  - each byte range is exactly as long as its dtype and shape need, and the ranges tile the data section
    without gaps or overlaps, ending exactly at the end of the file (a truncated file fails here);
  - the tensor names and shapes are those of the expected model, in Hugging Face's GPT-2 naming (with or
    without the `transformer.` prefix). The causal-mask buffers `h.<i>.attn.bias` / `attn.masked_bias`
    and an output head `lm_head.weight` (tied to `wte` in GPT-2) may be present too.
It is how `shared.resources` accepts a downloaded weight file into the cache, and how a copy found on disk
is checked without hashing gigabytes.
"""

from __future__ import annotations

import json
import math
import os
import re
import struct
from pathlib import Path
from typing import Any

MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
_OPTIONAL = re.compile(r"h\.\d+\.attn\.(bias|masked_bias)")  # buffers, not weights: any shape
_MAX_LISTED = 3


def read_safetensors_header(path: str | Path) -> dict[str, dict[str, Any]]:
    """The tensor entries of a safetensors file's header (without "__metadata__"), after checking that their
    byte ranges fit the file exactly. Raises ValueError saying what is wrong; reads only the header."""
    file_size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError(f"it has {file_size} bytes, too few for a safetensors file")
        (header_bytes,) = struct.unpack("<Q", prefix)
        if header_bytes > min(MAX_HEADER_BYTES, file_size - 8):
            raise ValueError(f"its first 8 bytes announce a {header_bytes:,}-byte header in a {file_size:,}-byte "
                             f"file: not a safetensors file (an HTML page? a cut-off download?)")
        raw = f.read(header_bytes)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"its header is not valid JSON ({err})") from None
    if not isinstance(header, dict):
        raise ValueError("its header is not a JSON object")
    header.pop("__metadata__", None)
    _check_byte_ranges(header, data_bytes=file_size - 8 - header_bytes)
    return header


def _check_byte_ranges(entries: dict[str, Any], data_bytes: int) -> None:
    ranges = []
    for name, entry in entries.items():
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
            valid = (dtype in DTYPE_BYTES and all(isinstance(n, int) and n >= 0 for n in [*shape, begin, end]))
        except (KeyError, TypeError, ValueError):
            valid = False
        if not valid:
            raise ValueError(f"its header entry for {name!r} is malformed: {str(entry)[:120]}")
        if end - begin != DTYPE_BYTES[dtype] * math.prod(shape):
            raise ValueError(f"tensor {name!r} ({dtype}, shape {shape}) needs "
                             f"{DTYPE_BYTES[dtype] * math.prod(shape):,} bytes, its byte range has {end - begin:,}")
        ranges.append((begin, end, name))
    position = 0
    for begin, end, name in sorted(ranges):
        if begin != position:
            raise ValueError(f"the data of tensor {name!r} starts at byte {begin:,}, expected {position:,} "
                             f"(a gap or an overlap)")
        position = end
    if position != data_bytes:
        raise ValueError(f"its tensors need {position:,} bytes of data, the file holds {data_bytes:,} "
                         f"({'cut off' if data_bytes < position else 'extra bytes at the end'})")


def gpt2_tensor_shapes(cfg: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """The weight tensors of a GPT-2 checkpoint for the model configuration `cfg`, in Hugging Face's names
    and layout (Conv1D weights stored as (in_features, out_features)), without the tied lm_head."""
    vocab, context, emb = cfg["vocab_size"], cfg["context_length"], cfg["emb_dim"]
    shapes: dict[str, tuple[int, ...]] = {"wte.weight": (vocab, emb), "wpe.weight": (context, emb)}
    for i in range(cfg["n_layers"]):
        for norm in ("ln_1", "ln_2"):
            shapes[f"h.{i}.{norm}.weight"] = shapes[f"h.{i}.{norm}.bias"] = (emb,)
        for layer, n_in, n_out in (("attn.c_attn", emb, 3 * emb), ("attn.c_proj", emb, emb),
                                   ("mlp.c_fc", emb, 4 * emb), ("mlp.c_proj", 4 * emb, emb)):
            shapes[f"h.{i}.{layer}.weight"] = (n_in, n_out)
            shapes[f"h.{i}.{layer}.bias"] = (n_out,)
    shapes["ln_f.weight"] = shapes["ln_f.bias"] = (emb,)
    return shapes


def _listed(items: list[str]) -> str:
    more = f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def gpt2_file_problem(path: str | Path, cfg: dict[str, Any]) -> str | None:
    """None if the safetensors file at `path` holds a GPT-2 checkpoint for `cfg`, else what is wrong."""
    try:
        entries = read_safetensors_header(path)
    except (OSError, ValueError) as err:
        return f"not a readable safetensors file: {err}"
    expected = {**gpt2_tensor_shapes(cfg), "lm_head.weight": (cfg["vocab_size"], cfg["emb_dim"])}
    found: dict[str, tuple[int, ...]] = {}
    unexpected = []
    for name, entry in entries.items():
        short = name.removeprefix("transformer.")
        if short in found or (short not in expected and not _OPTIONAL.fullmatch(short)):
            unexpected.append(name)
        else:
            found[short] = tuple(entry["shape"])
    missing = [name for name in expected if name not in found and name != "lm_head.weight"]
    wrong = [f"{name} {found[name]} instead of {shape}" for name, shape in expected.items()
             if name in found and found[name] != shape]
    if not (missing or unexpected or wrong):
        return None
    model = ", ".join(f"{key}={cfg[key]}" for key in ("vocab_size", "context_length", "emb_dim", "n_layers"))
    problems = [f"{len(items)} {title} ({_listed(items)})" for title, items in
                (("missing", missing), ("unexpected", unexpected), ("with other shapes", wrong)) if items]
    return f"it does not hold the GPT-2 tensors of the expected model ({model}): {'; '.join(problems)}"
