"""Chapter 4: configurations, layers, GPTModel, greedy generation with and without the KV cache, the
Hugging Face GPT-2 weight loader (parity with transformers' GPT2LMHeadModel), the scripts, the notebooks."""

from __future__ import annotations

import importlib.util
import math
import subprocess
import sys

import pytest
import torch
from notebook_checks import chapter_notebooks, execute_notebook
from notebook_runner import REPO_ROOT

import shared
from shared import (
    GELU,
    GPT_CONFIG_124M,
    MODEL_CONFIGS,
    FeedForward,
    GPTModel,
    KVCache,
    LayerNorm,
    TransformerBlock,
    generate_text_simple,
    get_config,
    load_hf_gpt2_weights,
    validate_config,
)

CH04 = REPO_ROOT / "ch04"
TINY = get_config("tiny")
SMALL_HF = {"vocab_size": 97, "context_length": 24, "emb_dim": 32, "n_heads": 4, "n_layers": 3,
            "drop_rate": 0.0, "qkv_bias": True}


def load_script(name: str):
    """Import ch04/<name>.py as a fresh module (ch03 has a previous_chapters.py of its own)."""
    spec = importlib.util.spec_from_file_location(f"ch04_{name}", CH04 / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())  # a tied matrix is counted once


# --- configurations -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, untied, tied", [
    ("gpt2-small (124M)", 163_009_536, 124_412_160),
    ("gpt2-medium (355M)", 406_212_608, 354_749_440),
    ("gpt2-large (774M)", 838_220_800, 773_891_840),
    ("gpt2-xl (1558M)", 1_637_792_000, 1_557_380_800),
])
def test_gpt2_parameter_counts_match_the_book(name, untied, tied):
    with torch.device("meta"):  # no memory, no initialisation: only the shapes
        assert n_params(GPTModel(get_config(name))) == untied
        assert n_params(GPTModel(get_config(name, tie_weights=True))) == tied


def test_124m_preset_is_the_books():
    assert GPT_CONFIG_124M == {"vocab_size": 50257, "context_length": 1024, "emb_dim": 768, "n_heads": 12,
                               "n_layers": 12, "drop_rate": 0.1, "qkv_bias": False}
    assert get_config("gpt2-small (124M)") == GPT_CONFIG_124M


def test_small_presets_fit_the_embedded_tokenizer():
    vocab = shared.get_tokenizer("embedded").n_vocab
    assert get_config("small-cpu")["vocab_size"] == get_config("tiny")["vocab_size"] == vocab
    assert n_params(GPTModel(get_config("tiny"))) < 50_000
    assert n_params(GPTModel(get_config("small-cpu"))) < 5_000_000


def test_get_config_returns_a_copy_with_overrides():
    cfg = get_config("small-cpu", drop_rate=0.0, qkv_bias=True)
    cfg["emb_dim"] = 1
    assert MODEL_CONFIGS["small-cpu"]["emb_dim"] == 256 and MODEL_CONFIGS["small-cpu"]["drop_rate"] == 0.1
    with pytest.raises(ValueError, match="unknown model configuration 'gpt2'.*gpt2-small"):
        get_config("gpt2")
    with pytest.raises(ValueError, match="divisible"):
        get_config("tiny", n_heads=3)


def test_validate_config_fills_defaults_and_keeps_explicit_values():
    cfg = validate_config({**TINY, "drop_rate": 0.2, "drop_rate_attn": 0.0})
    assert cfg["tie_weights"] is False
    assert (cfg["drop_rate_emb"], cfg["drop_rate_attn"], cfg["drop_rate_shortcut"]) == (0.2, 0.0, 0.2)
    assert "tie_weights" not in TINY  # the input is not changed


@pytest.mark.parametrize("change, message", [
    ({"emb_dimension": 8}, r"unknown key 'emb_dimension' \(did you mean 'emb_dim'\?\)"),
    ({"n_heads": 3}, r"emb_dim \(8\) must be divisible by n_heads \(3\).*choose n_heads from \[1, 2, 4, 8\]"),
    ({"n_layers": 0}, r"'n_layers' must be a positive number"),
    ({"drop_rate": 1.0}, r"'drop_rate' is a probability and must be in \[0, 1\)"),
    ({"drop_rate_attn": -0.1}, r"'drop_rate_attn' is a probability"),
    ({"emb_dim": 8.0}, r"'emb_dim' must be int, got 8.0"),
    ({"qkv_bias": 1}, r"'qkv_bias' must be bool"),
])
def test_validate_config_rejects_bad_values(change, message):
    with pytest.raises(ValueError, match=message):
        validate_config({**TINY, **change})


def test_validate_config_names_all_missing_keys_at_once():
    with pytest.raises(ValueError, match=r"missing key\(s\) 'emb_dim', 'qkv_bias'") as err:
        validate_config({k: v for k, v in TINY.items() if k not in ("emb_dim", "qkv_bias")})
    assert str(err.value).count("\n") == 1  # one message, one line for the problem
    with pytest.raises(ValueError, match="must be a dict"):
        validate_config([("emb_dim", 8)])


def test_model_rejects_an_invalid_config():
    with pytest.raises(ValueError, match="unknown key 'embdim'"):
        GPTModel({**TINY, "embdim": 8})


# --- layers and model -----------------------------------------------------------------------------------

def test_layer_norm_fused_kernel_equals_the_formula_forward_and_backward():
    torch.manual_seed(0)
    norm = LayerNorm(16)
    with torch.no_grad():  # trained-looking scale and shift, so both take part
        norm.scale.uniform_(0.5, 1.5)
        norm.shift.uniform_(-0.5, 0.5)
    x = (torch.randn(2, 5, 16) * torch.tensor([3.0, 0.1]).view(2, 1, 1) + 1).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    out = norm(x)
    x64 = x_ref.double()  # the formula in float64, as the reference both float32 versions approximate
    mean = x64.mean(dim=-1, keepdim=True)
    var = x64.var(dim=-1, keepdim=True, unbiased=False)
    expected = norm.scale * (x64 - mean) / torch.sqrt(var + norm.eps) + norm.shift  # the chapter's formula
    torch.testing.assert_close(out, expected.float(), atol=1e-5, rtol=1e-5)
    weights = torch.randn_like(out)
    (grad_x,) = torch.autograd.grad((out * weights).sum(), x)
    (grad_ref,) = torch.autograd.grad((expected * weights).sum(), x_ref)
    torch.testing.assert_close(grad_x, grad_ref.float(), atol=1e-4, rtol=1e-4)
    plain = LayerNorm(16)(x_ref.detach())
    torch.testing.assert_close(plain.mean(dim=-1), torch.zeros(2, 5), atol=1e-5, rtol=0)
    torch.testing.assert_close(plain[0].var(dim=-1, unbiased=False), torch.ones(5), atol=1e-3, rtol=0)


def test_gelu_fused_kernel_equals_the_tanh_formula_forward_and_backward():
    x = torch.linspace(-6, 6, 241, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    expected = 0.5 * x_ref * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x_ref + 0.044715 * x_ref**3)))
    out = GELU()(x)
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=1e-6)
    (grad_x,) = torch.autograd.grad(out.sum(), x)
    (grad_ref,) = torch.autograd.grad(expected.sum(), x_ref)
    torch.testing.assert_close(grad_x, grad_ref, atol=1e-5, rtol=1e-5)


def test_shapes():
    cfg = get_config("small-cpu")
    x = torch.randn(2, 7, cfg["emb_dim"])
    assert FeedForward(cfg)(x).shape == (2, 7, 256)
    assert FeedForward(cfg).layers[0].weight.shape == (1024, 256)
    assert TransformerBlock(cfg)(x).shape == (2, 7, 256)
    ids = torch.randint(0, cfg["vocab_size"], (2, 7))
    assert GPTModel(cfg)(ids).shape == (2, 7, cfg["vocab_size"])


def test_book_attribute_names():
    model = GPTModel(TINY)
    for name in ("tok_emb", "pos_emb", "drop_emb", "trf_blocks", "final_norm", "out_head"):
        assert hasattr(model, name)
    block = model.trf_blocks[0]
    for name in ("att", "ff", "norm1", "norm2", "drop_shortcut"):
        assert hasattr(block, name)
    assert model.out_head.bias is None and len(model.trf_blocks) == TINY["n_layers"]


def test_weight_tying_shares_one_matrix():
    model = GPTModel({**TINY, "tie_weights": True})
    assert model.out_head.weight is model.tok_emb.weight
    assert n_params(GPTModel(TINY)) - n_params(model) == TINY["vocab_size"] * TINY["emb_dim"]


def test_separate_dropout_rates_reach_their_modules():
    model = GPTModel({**TINY, "drop_rate": 0.1, "drop_rate_emb": 0.2, "drop_rate_attn": 0.3,
                      "drop_rate_shortcut": 0.4})
    block = model.trf_blocks[0]
    assert (model.drop_emb.p, block.att.dropout_p, block.drop_shortcut.p) == (0.2, 0.3, 0.4)


def test_explicit_and_sdpa_attention_agree():
    torch.manual_seed(0)
    cfg = get_config("tiny", context_length=32)
    explicit, fused = GPTModel(cfg, use_sdpa=False).eval(), GPTModel(cfg, use_sdpa=True).eval()
    fused.load_state_dict(explicit.state_dict())
    ids = torch.randint(0, cfg["vocab_size"], (3, 32))
    with torch.no_grad():
        torch.testing.assert_close(explicit(ids), fused(ids), atol=1e-5, rtol=1e-5)


def test_too_long_input_and_wrong_rank_raise_clear_errors():
    model = GPTModel(TINY)
    with pytest.raises(ValueError, match="got 17 tokens.*context_length=16.*crop the input to its last 16"):
        model(torch.zeros(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\(batch, num_tokens\).*unsqueeze\(0\)"):
        model(torch.zeros(5, dtype=torch.long))
    cache = KVCache.for_model(model, batch_size=1)
    model(torch.zeros(1, 10, dtype=torch.long), kv_cache=cache)
    with pytest.raises(ValueError, match="holds 10 tokens and has room for 16.*reset"):
        model(torch.zeros(1, 7, dtype=torch.long), kv_cache=cache)


# --- KV cache and generation ----------------------------------------------------------------------------

@pytest.mark.parametrize("use_sdpa", [False, True], ids=["explicit", "sdpa"])
@pytest.mark.parametrize("static", [False, True], ids=["eager", "static"])
def test_cached_forward_continues_positions(use_sdpa, static):
    torch.manual_seed(0)
    model = GPTModel(get_config("tiny"), use_sdpa=use_sdpa).eval()
    ids = torch.randint(0, 2048, (2, 12))
    cache = KVCache.for_model(model, batch_size=2, static=static)
    with torch.no_grad():
        full = model(ids)
        pieces = [model(ids[:, :5], kv_cache=cache)] + [model(ids[:, i:i + 1], kv_cache=cache) for i in range(5, 12)]
    assert cache.max_length() == 12 and cache.lengths.tolist() == [12, 12]
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=1e-5)
    cache.reset()
    assert cache.max_length() == 0


@pytest.mark.parametrize("use_sdpa", [False, True], ids=["explicit", "sdpa"])
@pytest.mark.parametrize("static", [False, True], ids=["eager", "static"])
def test_rows_of_different_lengths_share_one_cache(use_sdpa, static):
    """Right-padded prompts of lengths 3, 7 and 5 in one batch: every row gets the logits it gets alone."""
    torch.manual_seed(3)
    model = GPTModel(get_config("tiny"), use_sdpa=use_sdpa).eval()
    lengths = [3, 7, 5]
    rows = [torch.randint(0, 2048, (n + 4,)) for n in lengths]  # each row: its prompt, then 4 more tokens
    padded = torch.zeros(3, max(lengths), dtype=torch.long)
    for i, (row, n) in enumerate(zip(rows, lengths)):
        padded[i, :n] = row[:n]
    cache = KVCache.for_model(model, batch_size=3, static=static)
    with torch.no_grad():
        prefill = model(padded, kv_cache=cache)
        cache.set_lengths(lengths)
        steps = [model(torch.stack([row[n + s] for row, n in zip(rows, lengths)])[:, None], kv_cache=cache)
                 for s in range(4)]
        for i, (row, n) in enumerate(zip(rows, lengths)):
            alone = model(row[None])  # (1, n + 4, vocab)
            torch.testing.assert_close(prefill[i, n - 1], alone[0, n - 1], atol=1e-5, rtol=1e-5)
            for s, step in enumerate(steps):
                torch.testing.assert_close(step[i, 0], alone[0, n + s], atol=1e-5, rtol=1e-5)
    assert cache.lengths.tolist() == [7, 11, 9]


def test_kv_cache_rejects_bad_sizes_and_lengths():
    with pytest.raises(ValueError, match="must be positive"):
        KVCache(2, 0, 2, 4, 16)
    cache = KVCache(1, 2, 2, 4, 16)
    with pytest.raises(ValueError, match="need 2 lengths between 0 and 16"):
        cache.set_lengths([3, 17])
    model = GPTModel(TINY)
    with pytest.raises(ValueError, match="room for 32 tokens but the model only has 16 positions"):
        model(torch.zeros(1, 2, dtype=torch.long), kv_cache=KVCache(2, 1, 2, 4, 32))


@pytest.mark.parametrize("use_sdpa", [False, True], ids=["explicit", "sdpa"])
@pytest.mark.parametrize("prompt_len, new_tokens, context_size", [
    (4, 8, 16),    # stays inside the context
    (5, 40, 16),   # runs far past the context: the window slides
    (30, 12, 16),  # the prompt alone is longer than the context
    (6, 20, 8),    # a context_size smaller than the model's
    (3, 0, 16),    # nothing to generate
])
def test_cache_gives_exactly_the_uncached_tokens(use_sdpa, prompt_len, new_tokens, context_size):
    torch.manual_seed(1)
    model = GPTModel(get_config("tiny", emb_dim=16), use_sdpa=use_sdpa).eval()
    idx = torch.randint(0, 2048, (2, prompt_len))
    plain = generate_text_simple(model, idx, new_tokens, context_size)
    cached = generate_text_simple(model, idx, new_tokens, context_size, use_cache=True)
    assert plain.shape == (2, prompt_len + new_tokens)
    assert torch.equal(plain[:, :prompt_len], idx)  # the full prompt is kept, even when cropped for the model
    assert torch.equal(plain, cached)


def test_generation_is_greedy_and_leaves_the_mode_alone():
    torch.manual_seed(0)
    model = GPTModel(TINY).eval()
    idx = torch.randint(0, 2048, (1, 4))
    out = generate_text_simple(model, idx, 1, 16)
    with torch.no_grad():
        assert out[0, -1] == model(idx)[0, -1].argmax()
    model.train()
    generate_text_simple(model, idx, 2, 16)
    assert model.training


def test_generation_errors():
    model = GPTModel(TINY)
    with pytest.raises(ValueError, match="context_size must be a positive integer"):
        generate_text_simple(model, torch.zeros(1, 2, dtype=torch.long), 3, 0)
    with pytest.raises(TypeError, match="takes no kv_cache argument"):
        generate_text_simple(torch.nn.Sequential(torch.nn.Embedding(5, 5)), torch.zeros(1, 2, dtype=torch.long),
                             3, 4, use_cache=True)


# --- Hugging Face GPT-2 weights -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def hf_model():
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(123)
    config = transformers.GPT2Config(
        vocab_size=SMALL_HF["vocab_size"], n_positions=SMALL_HF["context_length"], n_embd=SMALL_HF["emb_dim"],
        n_head=SMALL_HF["n_heads"], n_layer=SMALL_HF["n_layers"], resid_pdrop=0.0, embd_pdrop=0.0,
        attn_pdrop=0.0, activation_function="gelu_new", layer_norm_epsilon=1e-5, bos_token_id=0, eos_token_id=0,
    )
    config._attn_implementation = "eager"
    model = transformers.GPT2LMHeadModel(config).eval()
    with torch.no_grad():  # move the LayerNorms and biases away from their 1 / 0 start values
        for name, p in model.named_parameters():
            if "ln_" in name or name.endswith(".bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model


def hf_greedy(hf, idx: torch.Tensor, steps: int, context_size: int) -> torch.Tensor:
    with torch.no_grad():
        for _ in range(steps):
            logits = hf(idx[:, -context_size:]).logits
            idx = torch.cat([idx, logits[:, -1].argmax(dim=-1, keepdim=True)], dim=1)
    return idx


@pytest.mark.parametrize("prefix", [True, False], ids=["transformer-prefix", "no-prefix"])
@pytest.mark.parametrize("use_sdpa", [False, True], ids=["explicit", "sdpa"])
def test_hf_gpt2_parity(hf_model, use_sdpa, prefix):
    state = hf_model.state_dict()
    if not prefix:  # the layout of OpenAI's safetensors files: no prefix, no lm_head
        state = {k.removeprefix("transformer."): v for k, v in state.items() if k != "lm_head.weight"}
    model = load_hf_gpt2_weights(GPTModel(SMALL_HF, use_sdpa=use_sdpa).eval(), state)

    torch.manual_seed(0)
    ids = torch.randint(0, SMALL_HF["vocab_size"], (2, SMALL_HF["context_length"]))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), hf_model(ids).logits, atol=1e-4, rtol=0)
    prompt = ids[:, :5]
    expected = hf_greedy(hf_model, prompt, 20, SMALL_HF["context_length"])
    for use_cache in (False, True):
        got = generate_text_simple(model, prompt, 20, SMALL_HF["context_length"], use_cache=use_cache)
        assert torch.equal(got, expected)


def test_hf_loader_skips_mask_buffers_and_fills_a_tied_model(hf_model):
    state = {k.removeprefix("transformer."): v for k, v in hf_model.state_dict().items()}
    state["h.0.attn.bias"] = torch.ones(1, 1, 24, 24)  # the causal-mask buffers older checkpoints carry
    state["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    model = load_hf_gpt2_weights(GPTModel({**SMALL_HF, "tie_weights": True}).eval(), state)
    assert model.out_head.weight is model.tok_emb.weight
    ids = torch.randint(0, SMALL_HF["vocab_size"], (1, 9))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), hf_model(ids).logits, atol=1e-4, rtol=0)


def test_hf_loader_lists_what_does_not_fit(hf_model):
    state = dict(hf_model.state_dict())
    with pytest.raises(ValueError) as err:
        load_hf_gpt2_weights(GPTModel({**SMALL_HF, "qkv_bias": False}), state)
    message = str(err.value)
    assert "9 unexpected" in message and "transformer.h.0.attn.c_attn.bias" not in message  # prefix stripped
    assert "h.0.attn.c_attn.bias (would fill trf_blocks.0.att.W_query.bias)" in message
    assert "build the model with qkv_bias=True" in message

    wider = GPTModel({**SMALL_HF, "emb_dim": 48})
    before = wider.tok_emb.weight.clone()
    with pytest.raises(ValueError) as err:
        load_hf_gpt2_weights(wider, state)
    message = str(err.value)
    assert "wte.weight -> tok_emb.weight: checkpoint gives (97, 32), model has (97, 48)" in message
    assert "shape mismatches" in message and "... and" in message  # long lists are shortened
    assert "emb_dim=32" in message
    assert torch.equal(wider.tok_emb.weight, before)  # nothing was copied

    partial = {k: v for k, v in state.items() if "h.2." not in k}
    partial["transformer.extra.weight"] = torch.zeros(3)
    with pytest.raises(ValueError) as err:
        load_hf_gpt2_weights(GPTModel(SMALL_HF), partial)
    message = str(err.value)
    assert "16 missing" in message and "trf_blocks.2.att.W_query.weight" in message
    assert "1 unexpected" in message and "extra.weight" in message


def test_hf_loader_recognises_a_gpt2_checkpoint():
    with torch.device("meta"):
        medium = GPTModel(get_config("gpt2-medium (355M)", qkv_bias=True))
        small = GPTModel(get_config("gpt2-small (124M)", qkv_bias=True))
    fake = {"wte.weight": medium.tok_emb.weight, "wpe.weight": medium.pos_emb.weight}
    fake.update({f"h.{i}.ln_1.weight": medium.trf_blocks[i].norm1.scale for i in range(24)})
    with pytest.raises(ValueError, match=r"looks like 'gpt2-medium \(355M\)'"):
        load_hf_gpt2_weights(small, fake)


# --- scripts, notebooks ---------------------------------------------------------------------------------

def test_gpt_script_runs_offline_from_another_folder(tmp_path):
    result = subprocess.run([sys.executable, str(CH04 / "gpt.py"), "--max-new-tokens", "12", "--use-cache",
                             "--prompt", "The keeper"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "1. tokenizer 'embedded'" in result.stdout and "generated 12 tokens" in result.stdout
    assert "Generated text: 'The keeper" in result.stdout


def test_gpt_script_is_importable_and_deterministic(capsys):
    gpt = load_script("gpt")
    assert capsys.readouterr().out == ""  # importing runs nothing
    args = ["--preset", "tiny", "--max-new-tokens", "20"]
    assert gpt.main(args) == gpt.main(args) == gpt.main([*args, "--use-cache"])


def test_kv_cache_benchmark_runs():
    result = subprocess.run([sys.executable, str(CH04 / "kv_cache_benchmark.py"), "--preset", "tiny",
                             "--max-new-tokens", "30"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "speed-up" in result.stdout and "same tokens: True" in result.stdout


def test_previous_chapters_only_reexports_shared():
    previous_chapters = load_script("previous_chapters")
    for name in previous_chapters.__all__:
        assert getattr(previous_chapters, name) is getattr(shared, name)


@pytest.mark.parametrize("path", chapter_notebooks("ch04"), ids=lambda p: p.name)
def test_notebook_runs(path):
    execute_notebook(path)


# --- inputs checked at the boundary -----------------------------------------------------------------------------

def test_token_ids_outside_the_vocabulary_name_the_tokenizer_mismatch():
    model = GPTModel(TINY)
    gpt2_ids = torch.tensor([[40, 367, 2885, 1464]])  # "I HAD always thought" in GPT-2's tokenizer
    with pytest.raises(ValueError, match=r"token id 2885 is outside this model's vocabulary \[0, 2048\).*"
                                         r"tokenizer that does not match the model.*vocab_size=tokenizer.n_vocab"):
        model(gpt2_ids)
    with pytest.raises(ValueError, match="token id -1 is outside"):
        model(torch.tensor([[3, -1]]))
    with pytest.raises(ValueError, match="must be integers.*float32"):
        model(torch.zeros(1, 3))
    with pytest.raises(ValueError, match=r"tensor of shape \(batch, num_tokens\), got list"):
        model([[1, 2, 3]])


@pytest.mark.parametrize("prompt, expected", [
    ("The lighthouse", r"got a str.*torch.tensor\(\[tokenizer.encode\(text\)\]\)"),
    ([5, 6, 7], r"got a list"),
    (torch.tensor([5, 6, 7]), r"got a tensor of shape \(3,\).*a batch of one"),
    (torch.zeros(1, 0, dtype=torch.long), r"at least one integer token id"),
])
def test_generation_says_what_prompt_shape_it_expects(prompt, expected):
    with pytest.raises(ValueError, match=expected):
        generate_text_simple(GPTModel(TINY), prompt, 3, 16)


def test_generation_fails_before_generating_when_context_size_is_too_large():
    model = GPTModel(TINY)
    with pytest.raises(ValueError, match=r"context_size=1024 is larger than the model's context_length=16.*"
                                         r"context_size=16"):
        generate_text_simple(model, torch.zeros(1, 2, dtype=torch.long), 3, 1024)


def test_editing_a_preset_in_place_does_not_change_get_config():
    from shared import GPT_CONFIG_TINY
    original = GPT_CONFIG_TINY["emb_dim"]
    try:
        GPT_CONFIG_TINY["emb_dim"] = 4096
        assert get_config("tiny")["emb_dim"] == original
    finally:
        GPT_CONFIG_TINY["emb_dim"] = original
    with pytest.raises(TypeError):
        MODEL_CONFIGS["tiny"]["emb_dim"] = 1  # the registry itself is read-only


def test_validate_config_reports_every_problem_in_one_message():
    bad = {"vocab_size": -1, "context_length": 16, "emb_dim": 10, "n_heads": 3, "n_layers": "2",
           "drop_rate": 1.5, "qkv_bias": False, "embdim": 8}
    with pytest.raises(ValueError) as info:
        validate_config(bad)
    message = str(info.value)
    for expected in ["unknown key 'embdim' (did you mean 'emb_dim'?)", "'n_layers' must be int",
                     "'vocab_size' must be a positive number", "emb_dim (10) must be divisible by n_heads (3)",
                     "'drop_rate' is a probability"]:
        assert expected in message
    assert message.count("\n  - ") == 5


def test_padded_vocabulary_keeps_the_logits_and_is_never_sampled():
    cfg = get_config("tiny", padded_vocab_size=64 * -(-get_config("tiny")["vocab_size"] // 64) + 64)
    torch.manual_seed(0)
    model = GPTModel(cfg).eval()
    assert model.out_head.weight.shape[0] == cfg["padded_vocab_size"]
    with torch.no_grad():
        model.out_head.weight[cfg["vocab_size"]:] = 100.0  # padding rows that would win every argmax
    ids = torch.randint(0, cfg["vocab_size"], (2, 5))
    logits = model(ids)
    assert logits.shape == (2, 5, cfg["vocab_size"])
    out = generate_text_simple(model, ids, 20, cfg["context_length"])
    assert int(out.max()) < cfg["vocab_size"]
    unpadded = GPTModel(get_config("tiny"))
    unpadded.load_state_dict({k: (v[:cfg["vocab_size"]] if k in ("tok_emb.weight", "out_head.weight") else v)
                              for k, v in model.state_dict().items()})
    torch.testing.assert_close(unpadded.eval()(ids), logits)
    with pytest.raises(ValueError, match="padded_vocab_size"):
        get_config("tiny", padded_vocab_size=cfg["vocab_size"] - 1 - 64)
