"""Load GPT-2 weights in Hugging Face's layout into a `GPTModel` (Chapter 4; used for OpenAI's weights in Chapter 5).

Usage:
    from shared import GPTModel, get_config, load_hf_gpt2_weights
    from safetensors.torch import load_file
    model = GPTModel(get_config("gpt2-small (124M)", qkv_bias=True))
    load_hf_gpt2_weights(model, load_file("gpt2-124M.safetensors"))       # or hf_model.state_dict()

Hugging Face's GPT-2 differs from `GPTModel` in names and in three details of layout:
- its linear layers are `Conv1D` modules that store the weight as (in_features, out_features), the
  transpose of `nn.Linear`'s (out_features, in_features);
- the query, key and value projections are one fused `c_attn` layer of width 3 * emb_dim, split here
  into `W_query`, `W_key`, `W_value` (in that order);
- the output head `lm_head` is tied to the token embedding `wte` (OpenAI's files do not store it).
The causal-mask buffers some versions save (`attn.bias`, `attn.masked_bias`) are not weights and are
skipped. Keys may carry the `transformer.` prefix (a `GPT2LMHeadModel` state dict) or not (the files).
Every key and shape is checked before anything is copied; a mismatch raises ValueError listing all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from shared.config import MODEL_CONFIGS
from shared.model import GPTModel

_MAX_LISTED = 12  # per kind of problem in the error message
_SKIP = re.compile(r"^h\.\d+\.attn\.(bias|masked_bias)$")


def _transpose(w: torch.Tensor) -> torch.Tensor:
    return w.t()  # Conv1D (in, out) -> nn.Linear (out, in)


def _same(w: torch.Tensor) -> torch.Tensor:
    return w


# Hugging Face name inside block h.<i> -> [(our name inside trf_blocks.<i>, conversion)]
_BLOCK_MAP: dict[str, list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]]] = {
    "ln_1.weight": [("norm1.scale", _same)],
    "ln_1.bias": [("norm1.shift", _same)],
    "attn.c_attn.weight": [(f"att.{n}.weight", lambda w, i=i: w.t().chunk(3, dim=0)[i])
                           for i, n in enumerate(("W_query", "W_key", "W_value"))],
    "attn.c_attn.bias": [(f"att.{n}.bias", lambda b, i=i: b.chunk(3, dim=0)[i])
                         for i, n in enumerate(("W_query", "W_key", "W_value"))],
    "attn.c_proj.weight": [("att.out_proj.weight", _transpose)],
    "attn.c_proj.bias": [("att.out_proj.bias", _same)],
    "ln_2.weight": [("norm2.scale", _same)],
    "ln_2.bias": [("norm2.shift", _same)],
    "mlp.c_fc.weight": [("ff.layers.0.weight", _transpose)],
    "mlp.c_fc.bias": [("ff.layers.0.bias", _same)],
    "mlp.c_proj.weight": [("ff.layers.2.weight", _transpose)],
    "mlp.c_proj.bias": [("ff.layers.2.bias", _same)],
}
_TOP_MAP = {"wte.weight": "tok_emb.weight", "wpe.weight": "pos_emb.weight", "ln_f.weight": "final_norm.scale",
            "ln_f.bias": "final_norm.shift", "lm_head.weight": "out_head.weight"}


def _convert(hf_key: str, tensor: torch.Tensor) -> list[tuple[str, torch.Tensor]] | None:
    """Our (key, tensor) pairs for one Hugging Face entry, or None if the name is unknown."""
    if hf_key in _TOP_MAP:
        return [(_TOP_MAP[hf_key], tensor)]
    match = re.fullmatch(r"h\.(\d+)\.(.+)", hf_key)
    if match and match.group(2) in _BLOCK_MAP:
        if match.group(2) == "attn.c_attn.weight" and tensor.dim() == 2 and tensor.shape[1] % 3 != 0:
            return [(f"trf_blocks.{match.group(1)}.att.W_query.weight", tensor)]  # let the shape check report it
        return [(f"trf_blocks.{match.group(1)}.{name}", fn(tensor)) for name, fn in _BLOCK_MAP[match.group(2)]]
    return None


def _guess_checkpoint(state: dict[str, torch.Tensor]) -> str:
    """'the checkpoint looks like <preset>' from its embedding shapes and depth, or '' if none fits."""
    if "wte.weight" not in state or "wpe.weight" not in state:
        return ""
    n_layers = 1 + max((int(k.split(".")[1]) for k in state if re.match(r"h\.\d+\.", k)), default=-1)
    (vocab, emb), ctx = state["wte.weight"].shape, state["wpe.weight"].shape[0]
    for name, cfg in MODEL_CONFIGS.items():
        if (cfg["vocab_size"], cfg["emb_dim"], cfg["context_length"], cfg["n_layers"]) == (vocab, emb, ctx, n_layers):
            return f"the checkpoint looks like {name!r}: build the model with get_config({name!r}, qkv_bias=True)"
    return (f"the checkpoint has vocab_size={vocab}, emb_dim={emb}, context_length={ctx}, n_layers={n_layers}; "
            f"build the model with a config that matches")


def load_hf_gpt2_weights(model: GPTModel, state_dict: dict[str, torch.Tensor]) -> GPTModel:
    """Copy a Hugging Face GPT-2 state dict into `model` (built with the matching config and qkv_bias=True).

    Returns the model. Raises ValueError, copying nothing, if any key or shape does not fit.
    """
    state = {k.removeprefix("transformer."): v for k, v in state_dict.items()}
    state = {k: v for k, v in state.items() if not _SKIP.match(k)}
    if "lm_head.weight" not in state and "wte.weight" in state:
        state["lm_head.weight"] = state["wte.weight"]  # GPT-2 ties the output head to the token embedding

    ours = model.state_dict()
    converted: dict[str, torch.Tensor] = {}
    unexpected, mismatched, mismatched_keys = [], [], set()
    for hf_key, tensor in state.items():
        pairs = _convert(hf_key, tensor)
        if pairs is None:
            unexpected.append(hf_key)
            continue
        for key, value in pairs:
            if key not in ours:
                unexpected.append(f"{hf_key} (would fill {key})")
            elif value.shape != ours[key].shape:
                mismatched.append(f"{hf_key} -> {key}: checkpoint gives {tuple(value.shape)}, "
                                  f"model has {tuple(ours[key].shape)}")
                mismatched_keys.add(key)
            else:
                converted[key] = value
    missing = [k for k in ours if k not in converted and k not in mismatched_keys]

    tied = model.out_head.weight is model.tok_emb.weight
    head, emb = converted.get("out_head.weight"), converted.get("tok_emb.weight")
    if tied and head is not None and emb is not None and not torch.equal(head, emb):
        mismatched.append("lm_head.weight differs from wte.weight, but the model ties them; "
                          "build it with tie_weights=False")

    if missing or unexpected or mismatched:
        lines = ["the state dict does not fit this GPTModel:"]
        for title, items in (("missing (the model needs them)", missing),
                             ("unexpected (the model has no place for them)", unexpected),
                             ("shape mismatches", mismatched)):
            if items:
                lines.append(f"  {len(items)} {title}:")
                lines.extend(f"    {item}" for item in items[:_MAX_LISTED])
                if len(items) > _MAX_LISTED:
                    lines.append(f"    ... and {len(items) - _MAX_LISTED} more")
        bias_only = all(".att.W_" in k and k.endswith(".bias)") for k in unexpected)
        if unexpected and bias_only:
            lines.append("  hint: GPT-2 has query/key/value biases: build the model with qkv_bias=True")
        elif missing and all(".att.W_" in k and k.endswith(".bias") for k in missing):
            lines.append("  hint: the checkpoint has no query/key/value biases: build the model with qkv_bias=False")
        elif _guess_checkpoint(state):
            lines.append(f"  hint: {_guess_checkpoint(state)}")
        raise ValueError("\n".join(lines))

    params = {**dict(model.named_parameters(remove_duplicate=False)), **dict(model.named_buffers())}
    with torch.no_grad():
        for key, value in converted.items():
            params[key].copy_(value)  # copy_ also converts dtype (fp16/bf16 files) and device
    return model
