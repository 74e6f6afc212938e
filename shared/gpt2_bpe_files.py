"""Read OpenAI's GPT-2 tokenizer files, encoder.json and vocab.bpe, into byte-level BPE ranks (Chapter 2).

Usage:
    from shared import BPETokenizer
    gpt2 = BPETokenizer.from_gpt2("encoder.json", "vocab.bpe")   # calls read_gpt2_ranks below

GPT-2 stores its tokens as text, not bytes. Every byte 0..255 is shown as one printable Unicode character:
bytes that are already visible Latin-1 characters ('A', '!', 'é', ...) stand for themselves, and the 68 others
(control codes, the space, DEL, the no-break space, the soft hyphen) borrow the characters 256, 257, ...
in byte order. So the token " the" is written "Ġthe" in the files: 'Ġ' is chr(256 + 32), the stand-in for
the space byte 32.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path

from shared.resources import RESOURCES

ENDOFTEXT = "<|endoftext|>"


@cache
def byte_to_char() -> dict[int, str]:
    """GPT-2's stand-in character for each byte value."""
    visible = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping: dict[int, str] = {}
    borrowed = 256  # the next code point lent to a byte that has no visible character of its own
    for byte in range(256):
        if byte in visible:
            mapping[byte] = chr(byte)
        else:
            mapping[byte] = chr(borrowed)
            borrowed += 1
    return mapping


@cache
def char_to_byte() -> dict[str, int]:
    """The inverse of `byte_to_char`."""
    return {char: byte for byte, char in byte_to_char().items()}


def token_text_to_bytes(text: str) -> bytes:
    """'Ġthe' -> b' the'."""
    lookup = char_to_byte()
    return bytes(lookup[char] for char in text)


def read_gpt2_ranks(encoder_json_path: str | Path, vocab_bpe_path: str | Path) -> tuple[dict[bytes, int], int]:
    """Return (ranks: token bytes -> id, id of <|endoftext|>) and check that the two files agree.

    The ids in encoder.json are GPT-2's ranks: the 256 single bytes come first (not in byte order), then
    one id per line of vocab.bpe, in the order the merges were learned.
    """
    encoder = json.loads(Path(encoder_json_path).read_text(encoding="utf-8"))
    eot_id = encoder.pop(ENDOFTEXT)
    ranks = {token_text_to_bytes(text): token_id for text, token_id in encoder.items()}

    lines = Path(vocab_bpe_path).read_text(encoding="utf-8").split("\n")
    merges = [line.split(" ") for line in lines[1:] if line]  # line 0 is "#version: 0.2"
    single_bytes = [ranks.get(bytes([b])) for b in range(256)]
    if None in single_bytes or len(ranks) != 256 + len(merges):
        raise ValueError(f"{encoder_json_path} must hold the 256 single bytes plus one token per merge "
                         f"of {vocab_bpe_path} ({256 + len(merges)} tokens), it holds {len(ranks)}")
    for position, (left, right) in enumerate(merges):
        merged = token_text_to_bytes(left) + token_text_to_bytes(right)
        if ranks.get(merged) != 256 + position:
            raise ValueError(f"merge {position} of {vocab_bpe_path} ({left} {right}) should have id "
                             f"{256 + position} in {encoder_json_path}, it has {ranks.get(merged)}")
    return ranks, eot_id


def gpt2_files_in_tiktoken_cache() -> tuple[Path, Path] | None:
    """(encoder.json, vocab.bpe) from tiktoken's cache folder $TIKTOKEN_CACHE_DIR, or None if not both there.

    tiktoken names each cached file by the SHA-1 of its download URL.
    """
    folder = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not folder:
        return None
    paths = []
    for name in ("gpt2-encoder-json", "gpt2-vocab-bpe"):
        url = RESOURCES[name].urls[0]
        paths.append(Path(folder) / hashlib.sha1(url.encode()).hexdigest())
    return (paths[0], paths[1]) if all(p.is_file() for p in paths) else None
