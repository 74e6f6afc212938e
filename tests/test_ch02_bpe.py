"""Chapter 2 tokenizers: word- and character-level tokenizers, the from-scratch BPE, and GPT-2 parity.

The GPT-2 parity tests need OpenAI's encoder.json and vocab.bpe in tiktoken's cache ($TIKTOKEN_CACHE_DIR, files
named by the SHA-1 of their URLs). Without them they skip locally and fail when $CI is set.
"""

from __future__ import annotations

import json
import os
import random
import unicodedata
from collections import Counter

import pytest
import tiktoken
from tiktoken.load import load_tiktoken_bpe

from shared import (
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    CharTokenizer,
    SimpleTokenizerV1,
    SimpleTokenizerV2,
    build_vocab,
)
from shared.bpe import EMBEDDED_BPE, EMBEDDED_CORPUS
from shared.embedded_bpe import main
from shared.gpt2_bpe_files import gpt2_files_in_tiktoken_cache

STORY = ("The keeper climbed the stairs -- all ninety of them -- and lit the lamp. "
         "\"Is it late?\" she asked. (It was.) Ships passed; nobody waved: the _sea_ was calm!")
VARIED = ("Plain words, and     runs of spaces.\n\n\tTabs\tand\r\nnewlines\n"
          "Contractions: I'm, you're, we've, they'll, she'd, it's, DON'T.\n"
          "Numbers 3.14159, 1,000,000 and 2024-06-01.\n"
          "Unicode: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 한국어.\n"
          "Emoji: 🎉 👩‍👩‍👧‍👦 🇫🇷 ❤️ — “quotes” … \u00a0nbsp \u200bzero-width\n")


# ---- word- and character-level tokenizers ------------------------------------------------------------------
def test_v1_round_trip_and_errors():
    tokenizer = SimpleTokenizerV1(build_vocab(STORY))
    ids = tokenizer.encode(STORY)
    assert len(ids) == 43
    # decoding drops every space before punctuation, so quotes and brackets come back lopsided (as in the book)
    assert tokenizer.decode(ids) == ("The keeper climbed the stairs -- all ninety of them -- and lit the lamp."
                                     "\" Is it late?\" she asked.( It was.) Ships passed; nobody waved: the _ sea _ was calm!")
    assert tokenizer.int_to_str[tokenizer.str_to_int["keeper"]] == "keeper"
    with pytest.raises(KeyError, match="'Hello' is not in the vocabulary"):
        tokenizer.encode("Hello, keeper.")
    with pytest.raises(KeyError, match="token id 9999"):
        tokenizer.decode([9999])


def test_build_vocab_is_sorted_with_specials_last():
    vocab = build_vocab("b a, c a")
    assert list(vocab) == [",", "a", "b", "c", "<|endoftext|>", "<|unk|>"]
    assert list(vocab.values()) == list(range(6))
    assert list(build_vocab("x <|endoftext|> y", special_tokens=["<|endoftext|>"])) == ["x", "y", "<|endoftext|>"]


def test_v2_unknown_words_and_endoftext():
    vocab = build_vocab(STORY)
    tokenizer = SimpleTokenizerV2(vocab)
    ids = tokenizer.encode("The keeper sang.<|endoftext|>Ships passed")
    assert ids.count(vocab["<|unk|>"]) == 1 and ids.count(vocab["<|endoftext|>"]) == 1
    assert tokenizer.decode(ids) == "The keeper <|unk|>. <|endoftext|> Ships passed"
    with pytest.raises(ValueError, match="<\\|unk\\|>"):
        SimpleTokenizerV2(build_vocab(STORY, special_tokens=["<|endoftext|>"]))


def test_char_tokenizer():
    tokenizer = CharTokenizer(VARIED)
    assert tokenizer.vocab_size == len(set(VARIED))
    assert tokenizer.decode(tokenizer.encode(VARIED)) == VARIED
    with pytest.raises(KeyError, match="'Q'"):
        tokenizer.encode("Q")
    with pytest.raises(KeyError, match="not in the vocabulary"):
        tokenizer.decode([tokenizer.vocab_size])


# ---- the from-scratch BPE ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small_bpe() -> BPETokenizer:
    return BPETokenizer().train(STORY * 3 + VARIED, vocab_size=400)


def test_bpe_round_trip_and_tiktoken_equivalence(small_bpe):
    assert small_bpe.vocab_size == 400 and small_bpe.special_tokens == {"<|endoftext|>": 399}
    assert sorted(small_bpe.ranks.values()) == list(range(399))
    enc = small_bpe.to_tiktoken("small")
    for text in [STORY, VARIED, "", " ", "\n\n\n", "     x", "unseen: Ωmega 🦜 \x00\x7f", "<|endoftext|>"]:
        ids = small_bpe.encode_ordinary(text)
        assert small_bpe.decode(ids) == text
        assert ids == enc.encode_ordinary(text)
    assert small_bpe.decode_bytes(small_bpe.encode("é")[:1]) == "é".encode()[:1]
    assert small_bpe.decode(small_bpe.encode("é")[:1]) == "\ufffd"  # half a character


def test_bpe_special_tokens(small_bpe):
    eot = small_bpe.special_tokens["<|endoftext|>"]
    with pytest.raises(ValueError, match="special token"):
        small_bpe.encode("one<|endoftext|>two")
    for allowed in ({"<|endoftext|>"}, "all"):
        ids = small_bpe.encode("one<|endoftext|>two", allowed_special=allowed)
        assert ids.count(eot) == 1 and small_bpe.decode(ids) == "one<|endoftext|>two"
    assert eot not in small_bpe.encode_ordinary("one<|endoftext|>two")
    with pytest.raises(ValueError, match="token id 400"):
        small_bpe.decode([400])


def test_encode_merges_the_lowest_rank_first():
    # 'abc' was learned as 'ab' + 'c', but 'bc' outranks 'ab': replaying the merges in order would stop at
    # ['a', 'bc']; the rank rule (tiktoken's) sees that 'a' + 'bc' spells the token 'abc'
    ranks = {bytes([b]): b for b in range(256)} | {b"bc": 256, b"ab": 257, b"abc": 258}
    tokenizer = BPETokenizer(ranks, {})
    assert tokenizer._encode_piece(b"abc") == [258] and tokenizer._encode_piece(b"abcbc") == [258, 256]
    assert tokenizer.encode("xabc abc") == tokenizer.to_tiktoken("abc").encode("xabc abc") == [120, 258, 32, 258]


def _naive_merges(text: str, n_merges: int) -> list[tuple[bytes, bytes]]:
    """Reference trainer: recount every pair after each merge; same tie-breaking (smallest pair of ids)."""
    import regex

    words = Counter(tuple(p.encode()) for p in regex.findall(GPT2_SPLIT_PATTERN, text))
    vocab = [bytes([b]) for b in range(256)]
    merges = []
    for _ in range(n_merges):
        counts: Counter = Counter()
        for word, freq in words.items():
            for pair in zip(word, word[1:]):
                counts[pair] += freq
        if not counts:
            break
        a, b = min(counts, key=lambda p: (-counts[p], p))
        merges.append((vocab[a], vocab[b]))
        new_id = vocab.index(vocab[a] + vocab[b]) if vocab[a] + vocab[b] in vocab else len(vocab)
        if new_id == len(vocab):
            vocab.append(vocab[a] + vocab[b])
        merged = Counter()
        for word, freq in words.items():
            out, i = [], 0
            while i < len(word):
                if word[i:i + 2] == (a, b):
                    out.append(new_id)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += freq
        words = merged
    return merges


def test_incremental_training_matches_full_recount():
    text = STORY * 2 + VARIED + "aaaaaaa aaaa abcabcabc " * 3
    seen = []
    BPETokenizer().train(text, 256 + 120, allowed_special=(), on_merge=lambda i, a, b, n: seen.append((a, b)))
    assert seen == _naive_merges(text, len(seen))
    assert len(seen) >= 120


def test_training_is_deterministic_and_verbose(capsys):
    first = BPETokenizer().train(VARIED, 300, verbose=True)
    assert "merge    1:" in capsys.readouterr().out
    second = BPETokenizer().train(VARIED, 300)
    assert first.ranks == second.ranks and first._file_texts("x") == second._file_texts("x")


def test_training_stops_when_nothing_is_left_to_merge():
    with pytest.warns(UserWarning, match="no pairs left"):
        tokenizer = BPETokenizer().train("ab ab", 300)
    assert tokenizer.vocab_size == 256 + 2 + 1  # 'ab', ' ab' and <|endoftext|>


def test_save_load_and_tiktoken_reads_our_file(tmp_path, small_bpe, monkeypatch):
    small_bpe.save(tmp_path / "small")
    meta = json.loads((tmp_path / "small.json").read_text())
    assert meta == {"name": "small", "pat_str": GPT2_SPLIT_PATTERN,
                    "special_tokens": {"<|endoftext|>": 399}, "vocab_size": 400}
    loaded = BPETokenizer.load(tmp_path / "small")
    assert loaded.ranks == small_bpe.ranks and loaded.special_tokens == small_bpe.special_tokens
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # read the local file directly, cache nothing
    assert load_tiktoken_bpe(str(tmp_path / "small.tiktoken")) == small_bpe.ranks


# ---- the committed embedded tokenizer --------------------------------------------------------------------------
def test_embedded_files_match_a_retrain(capsys):
    assert main(["--check"]) == 0, capsys.readouterr().out


def test_embedded_tokenizer_equals_its_tiktoken_encoding():
    bpe = BPETokenizer.load(EMBEDDED_BPE)
    assert bpe.vocab_size == 2048 and bpe.special_tokens == {"<|endoftext|>": 2047}
    corpus = EMBEDDED_CORPUS.read_text(encoding="utf-8")
    ids = bpe.encode(corpus, allowed_special="all")
    assert ids == bpe.to_tiktoken("embedded").encode(corpus, allowed_special="all")
    assert bpe.decode(ids) == corpus


# ---- GPT-2's files: exactly what tiktoken does -------------------------------------------------------------------
@pytest.fixture(scope="module")
def gpt2_pair() -> tuple[BPETokenizer, tiktoken.Encoding]:
    paths = gpt2_files_in_tiktoken_cache()
    if paths is None:
        why = ("GPT-2's encoder.json and vocab.bpe are not in tiktoken's cache "
               f"(TIKTOKEN_CACHE_DIR={os.environ.get('TIKTOKEN_CACHE_DIR')!r})")
        if os.environ.get("CI"):
            pytest.fail(f"{why}; CI must provide them (e.g. TIKTOKEN_CACHE_DIR=../shared/data/tiktoken)")
        pytest.skip(why)
    return BPETokenizer.from_gpt2(*paths), tiktoken.get_encoding("gpt2")


TRICKY = [
    "", " ", "  ", "\n", "\n\n\n", "\t\t x", "x   ", "a  b   c    d", " \n \n  a", "trailing\n",
    "Hello, world!", "I'm sure you'll see they've done it, haven't they? 'quoted' ''",
    "I'M SHOUTING'S", "1234567890 3.14 1,000 0x1F 2nd 42nd", "CamelCaseWordsAndALLCAPS snake_case",
    "naïve café Straße Ελληνικά русский 日本語 한국어 עברית العربية हिन्दी",
    "🎉🎉🎉 👩‍👩‍👧‍👦 🇫🇷 ❤️ 🤖 🦜", "\u00a0\u2028\u3000\u200b\ufeff", "\x00\x01\x1c\x1f\x7f\x85",
    "<|endoftext|>", "a<|endoftext|>b<|endoftext|>", "<|endoftext", "<|endoftext|><|endoftext|>",
    "https://example.com/path?q=1&r=2#frag", "def f(x):\n    return x ** 2  # square\n",
    "--------========........!!!!!!", "'s 's's 'll've", " ".join(["word"] * 50),
]


def test_gpt2_matches_tiktoken_on_tricky_strings(gpt2_pair):
    bpe, reference = gpt2_pair
    assert bpe.vocab_size == reference.n_vocab == 50257
    for text in TRICKY:
        assert bpe.encode(text, allowed_special="all") == reference.encode(text, allowed_special="all"), text
        assert bpe.encode_ordinary(text) == reference.encode_ordinary(text), text
        assert bpe.decode(reference.encode(text, allowed_special="all")) == text
    with pytest.raises(ValueError):
        reference.encode("x<|endoftext|>")
    with pytest.raises(ValueError):
        bpe.encode("x<|endoftext|>")


def test_gpt2_matches_tiktoken_on_random_strings(gpt2_pair):
    bpe, reference = gpt2_pair
    rng = random.Random(1234)
    alphabet = list(" \t\n\r'sdtmlvreASDTMLVRE0123456789.,!?-_\"()éßΩж日本🎉\x00\x85\xa0\u2028\u3000\u200b<|>")
    texts = ["".join(rng.choices(alphabet, k=rng.randint(1, 40))) for _ in range(4000)]
    # any code point Python's Unicode tables know (not surrogates, which UTF-8 cannot encode): characters newer
    # than the Unicode version of tiktoken's Rust regex may be classified differently (see shared/bpe.py)
    assigned = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) not in ("Cn", "Cs")]
    texts += ["".join(rng.choices(assigned, k=20)) for _ in range(1500)]
    for text in texts:
        assert bpe.encode(text, allowed_special="all") == reference.encode(text, allowed_special="all"), repr(text)


def test_gpt2_to_tiktoken_equals_tiktokens_own(gpt2_pair):
    bpe, reference = gpt2_pair
    ours = bpe.to_tiktoken("gpt2-from-scratch")
    assert ours._mergeable_ranks == reference._mergeable_ranks
    assert ours._special_tokens == reference._special_tokens


# ---- inputs checked at the boundary ----------------------------------------------------------------------------
def test_a_special_token_given_as_one_string_is_one_token():
    text = "The lamp was lit.<|endoftext|>The sea was calm."
    from_string = BPETokenizer().train(text, 270, allowed_special="<|endoftext|>")
    from_set = BPETokenizer().train(text, 270, allowed_special={"<|endoftext|>"})
    assert from_string.special_tokens == from_set.special_tokens == {"<|endoftext|>": 269}
    assert from_string.encode(text, allowed_special="<|endoftext|>") == from_set.encode(text, allowed_special="all")
    with pytest.raises(TypeError, match="special-token strings"):
        BPETokenizer().train(text, 270, allowed_special=[1, 2])


def test_to_tiktoken_explains_broken_ids(small_bpe):
    broken = BPETokenizer(dict(small_bpe.ranks), dict(small_bpe.special_tokens))
    broken.ranks[b"zzqq"] = 5  # a second token with id 5
    with pytest.raises(ValueError, match=r"ids must run from 0.*used twice: \[5\]"):
        broken.to_tiktoken("broken")
    gap = BPETokenizer({bytes([b]): b for b in range(256)}, {"<|endoftext|>": 300})
    with pytest.raises(ValueError, match=r"ids missing: \[256"):
        gap.to_tiktoken("gap")


def test_loading_damaged_files_names_the_file_and_line(tmp_path, small_bpe):
    small_bpe.save(tmp_path / "tok")
    ranks_file = tmp_path / "tok.tiktoken"
    lines = ranks_file.read_text().splitlines(keepends=True)
    ranks_file.write_text("".join(lines[:10]) + "not-base64!! 10\n" + "".join(lines[11:]))
    with pytest.raises(ValueError, match=r"tok.tiktoken, line 11: 'not-base64!! 10' is not a valid token line"):
        BPETokenizer.load(tmp_path / "tok")
    ranks_file.write_text("".join(lines[:10]) + "QQ==\n")
    with pytest.raises(ValueError, match="line 11.*expected '<base64 bytes> <rank>'"):
        BPETokenizer.load(tmp_path / "tok")
    ranks_file.write_text("".join(lines[: len(lines) // 2]))  # cut off half way
    with pytest.raises(ValueError, match="the .tiktoken file may be truncated"):
        BPETokenizer.load(tmp_path / "tok")
    (tmp_path / "tok.json").write_text("{not json")
    with pytest.raises(ValueError, match="tok.json is not a tokenizer description"):
        BPETokenizer.load(tmp_path / "tok")
    with pytest.raises(FileNotFoundError, match="two files"):
        BPETokenizer.load(tmp_path / "missing")


def test_decode_accepts_tensors_and_rejects_text_and_batches(small_bpe):
    import torch

    ids = small_bpe.encode("The keeper climbed the stairs")
    assert small_bpe.decode(torch.tensor(ids)) == small_bpe.decode(ids) == "The keeper climbed the stairs"
    with pytest.raises(TypeError, match="got a str: to turn text into ids use encode"):
        small_bpe.decode("The keeper")
    with pytest.raises(TypeError, match=r"integer token ids, got 'a'"):
        small_bpe.decode(["a", "b"])
    with pytest.raises(ValueError, match=r"one sequence of ids, got a batch of shape \(1, 5\).*ids\[0\]"):
        small_bpe.decode(torch.tensor([ids]))
