"""Self-checks for the GPT model's parts and greedy generation (Chapter 4), used through `shared.selfcheck.check`.

Usage:
    from shared.selfcheck import check
    check(LayerNorm); check(GELU); check(FeedForward); check(TransformerBlock); check(GPTModel)
    check(generate_text_simple)

The layers, block and model are built from one small configuration (the book's seven keys), given the
same (randomized) weights as the reference and compared on seeded inputs, in eval mode and in training
mode with the same dropout seed. A wrong output is compared with the reference with one usual mistake
(a key of MISTAKES) put in, or with one of its dropout layers switched off; a match names the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from shared.generation import generate_text_simple
from shared.layers import GELU, FeedForward, LayerNorm
from shared.model import GPTModel, TransformerBlock
from shared.selfcheck import Checker, register_check
from shared.selfcheck_modules import build_like, compare_outputs, randomize, without

CFG = {"vocab_size": 40, "context_length": 8, "emb_dim": 12, "n_heads": 3, "n_layers": 2, "drop_rate": 0.3,
       "qkv_bias": False}
GELU_TANH = "0.5 * x * (1 + tanh(√(2/π) * (x + 0.044715 * x³)))"
MISTAKES = {
    "unbiased_variance": "the variance is the unbiased one (divided by n - 1): use "
                         "x.var(dim=-1, keepdim=True, unbiased=False)",
    "no_eps": "eps is missing, so a constant vector gives 0/0 = NaN: divide by torch.sqrt(var + self.eps)",
    "eps_outside_sqrt": "eps is added outside the square root: torch.sqrt(var + self.eps), not torch.sqrt(var) + eps",
    "std_plus_eps": "x - mean is divided by x.std() + eps: x.std() is the unbiased standard deviation and eps "
                    "belongs inside the square root: torch.sqrt(x.var(dim=-1, keepdim=True, unbiased=False) + eps)",
    "no_sqrt": "x - mean is divided by the variance, not by the standard deviation: torch.sqrt(var + self.eps)",
    "wrong_dim": "mean and variance are taken over the wrong dimension: dim=-1 (each token's embedding)",
    "scale_shift_swapped": "scale and shift are swapped: return self.scale * norm_x + self.shift",
    "no_scale_shift": "the trained scale and shift are not applied: return self.scale * norm_x + self.shift",
    "gelu_erf": f"this is the exact GELU (erf; nn.GELU()'s default), GPT-2 uses the tanh approximation {GELU_TANH}",
    "gelu_sigmoid": f"this is the sigmoid approximation x * sigmoid(1.702 * x); the book uses {GELU_TANH}",
    "gelu_no_cube": "the 0.044715 * x³ term inside the tanh is missing: tanh(√(2/π) * (x + 0.044715 * x ** 3))",
    "gelu_square": "the term inside the tanh uses x² instead of x³: x + 0.044715 * x ** 3",
    "gelu_no_sqrt": "the factor inside the tanh is 2/π instead of √(2/π): math.sqrt(2 / math.pi)",
    "gelu_no_half": "the factor 0.5 in front is missing: 0.5 * x * (1 + tanh(...))",
    "relu": f"this is ReLU, not GELU: the book uses GELU in the tanh approximation {GELU_TANH}",
    "ff_gelu_erf": "the activation is the exact GELU (nn.GELU() defaults to erf); the book uses the tanh "
                   "approximation: its GELU class or nn.GELU(approximate='tanh')",
    "no_activation": "there is no activation between the two linear layers: nn.Sequential(Linear, GELU(), Linear)",
    "post_norm": "the layer norms come after the shortcut additions (post-norm); GPT-2 normalizes first: "
                 "x = x + drop_shortcut(att(norm1(x)))",
    "shortcut_after_norm": "the shortcut adds the normalized x: keep shortcut = x before x = self.norm1(x)",
    "no_shortcut": "the shortcut connections are missing: add the block's input back (x = x + shortcut)",
    "norms_swapped": "norm1 and norm2 are swapped: norm1 before the attention, norm2 before the feed-forward",
    "no_pos_emb": "the positional embeddings are missing: x = tok_emb(in_idx) + pos_emb(torch.arange(seq_len))",
    "no_final_norm": "final_norm is not applied before out_head",
    "no_crop": "the model is given more than context_size tokens: crop its input to idx[:, -context_size:]",
    "crop_front": "the context is cropped to the first context_size tokens: use idx[:, -context_size:]",
    "last_token_only": "the model sees only the newest token: give it idx[:, -context_size:]",
    "first_position": "the next token is taken from the first position's logits: use logits[:, -1, :]",
    "new_tokens_only": "only the new tokens are returned: append each one to idx and return the whole sequence",
}
DROPOUTS = {
    "drop_emb": "the dropout after the embeddings (drop_emb) is missing",
    "att.dropout": "the dropout on the attention weights is missing",
    "drop_shortcut": "the dropout before each shortcut addition (drop_shortcut) is missing",
}
NAMING_BLOCK = "att (MultiHeadAttention), ff (FeedForward), norm1, norm2 (LayerNorm), drop_shortcut"
NAMING_MODEL = ("tok_emb, pos_emb (nn.Embedding), drop_emb, trf_blocks (nn.Sequential of TransformerBlock), "
                "final_norm, out_head (nn.Linear without bias)")


def layer_norm_variant(module: LayerNorm, x: torch.Tensor, train: bool, mistake: str = "") -> torch.Tensor:
    dim = -2 if mistake == "wrong_dim" else -1
    mean = x.mean(dim=dim, keepdim=True)
    var = x.var(dim=dim, keepdim=True, unbiased=mistake in ("unbiased_variance", "std_plus_eps"))
    eps = 0.0 if mistake == "no_eps" else module.eps
    if mistake in ("eps_outside_sqrt", "std_plus_eps"):
        norm_x = (x - mean) / (torch.sqrt(var) + eps)
    else:
        norm_x = (x - mean) / (var + eps if mistake == "no_sqrt" else torch.sqrt(var + eps))
    if mistake == "no_scale_shift":
        return norm_x
    if mistake == "scale_shift_swapped":
        return module.shift * norm_x + module.scale
    return module.scale * norm_x + module.shift


def gelu_variant(x: torch.Tensor, mistake: str = "") -> torch.Tensor:
    if mistake in ("gelu_erf", "ff_gelu_erf"):
        return F.gelu(x)
    if mistake == "gelu_sigmoid":
        return x * torch.sigmoid(1.702 * x)
    if mistake == "relu":
        return torch.relu(x)
    factor = 2 / math.pi if mistake == "gelu_no_sqrt" else math.sqrt(2 / math.pi)
    cubic = {"gelu_no_cube": 0.0, "gelu_square": 0.044715 * x**2}.get(mistake, 0.044715 * x**3)
    inner = factor * (x + cubic)
    return (1.0 if mistake == "gelu_no_half" else 0.5) * x * (1 + torch.tanh(inner))


def feed_forward_variant(module: FeedForward, x: torch.Tensor, train: bool, mistake: str = "") -> torch.Tensor:
    first, last = module.layers[0], module.layers[2]
    hidden = first(x)  # (b, num_tokens, 4 * emb_dim)
    return last(hidden if mistake == "no_activation" else gelu_variant(hidden, mistake))


def block_variant(module: TransformerBlock, x: torch.Tensor, train: bool, mistake: str = "") -> torch.Tensor:
    norm1, norm2 = (module.norm2, module.norm1) if mistake == "norms_swapped" else (module.norm1, module.norm2)
    for layer, norm in ((module.att, norm1), (module.ff, norm2)):
        if mistake == "post_norm":
            x = norm(x + module.drop_shortcut(layer(x)))
        elif mistake == "shortcut_after_norm":
            x = norm(x)
            x = x + module.drop_shortcut(layer(x))
        else:
            x = (0 if mistake == "no_shortcut" else x) + module.drop_shortcut(layer(norm(x)))
    return x


def model_variant(module: GPTModel, in_idx: torch.Tensor, train: bool, mistake: str = "") -> torch.Tensor:
    x = module.tok_emb(in_idx)  # (b, num_tokens, emb_dim)
    if mistake != "no_pos_emb":
        x = x + module.pos_emb(torch.arange(in_idx.shape[1]))
    x = module.trf_blocks(module.drop_emb(x))
    return module.out_head(x if mistake == "no_final_norm" else module.final_norm(x))


def generate_variant(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                     mistake: str = "") -> torch.Tensor:
    prompt_length = idx.shape[1]
    for _ in range(max_new_tokens):
        window = {"crop_front": idx[:, :context_size], "last_token_only": idx[:, -1:]}.get(mistake,
                                                                                            idx[:, -context_size:])
        logits = model(window)  # (b, num_tokens, vocab_size)
        position = 0 if mistake == "first_position" else -1
        idx = torch.cat([idx, logits[:, position, :].argmax(dim=-1, keepdim=True)], dim=1)
    return idx[:, prompt_length:] if mistake == "new_tokens_only" else idx


def _variants(fn: Callable[..., torch.Tensor], reference: nn.Module,
              keys: list[str]) -> dict[str, Callable[[torch.Tensor, bool], torch.Tensor]]:
    return {MISTAKES[key]: lambda x, train, key=key: fn(reference, x, train, key) for key in keys}


def _dropout_variants(reference: nn.Module) -> dict[str, Callable[[torch.Tensor, bool], torch.Tensor]]:
    """The reference with one kind of dropout layer switched off (the dropout masks drawn in the same order)."""
    def run(suffix: str, x: torch.Tensor, train: bool) -> torch.Tensor:
        with without(reference, suffix):
            return reference.train(train)(x)
    return {hint: lambda x, train, suffix=suffix: run(suffix, x, train) for suffix, hint in DROPOUTS.items()
            if any(name.endswith(suffix) for name, _ in reference.named_modules())}


def _tokens(batch: int, num_tokens: int) -> torch.Tensor:
    return torch.randint(0, CFG["vocab_size"], (batch, num_tokens), generator=torch.Generator().manual_seed(1))


@register_check("LayerNorm", chapter=4)
def check_layer_norm(candidate: type, checker: Checker) -> None:
    reference = randomize(LayerNorm(8))
    learner = build_like(checker, candidate, reference, "LayerNorm(emb_dim=8)", (8,),
                         naming="scale (nn.Parameter(torch.ones(emb_dim))) and shift (... torch.zeros(emb_dim))")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, 8, generator=generator) * torch.tensor([3.0, 1.0, 0.003]).view(3, 1, 1) + 2.0
    x[2, 3] = 1.5  # a constant vector: variance 0
    # float64: with a variance near eps, float32 rounding alone would differ between correct versions
    learner, reference, x = learner.double(), reference.double(), x.double()
    keys = ["unbiased_variance", "no_eps", "eps_outside_sqrt", "std_plus_eps", "no_sqrt", "wrong_dim",
            "scale_shift_swapped", "no_scale_shift"]
    compare_outputs(checker, "large, unit and tiny variance and a constant vector", learner, reference, x,
                    variants=_variants(layer_norm_variant, reference, keys))


@register_check("GELU", chapter=4)
def check_gelu(candidate: type, checker: Checker) -> None:
    learner = checker.call("builds as GELU()", candidate, hint="the book builds it as GELU() (no arguments)")
    keys = ["gelu_erf", "gelu_sigmoid", "gelu_no_cube", "gelu_square", "gelu_no_sqrt", "gelu_no_half", "relu"]
    variants = {MISTAKES[key]: lambda x, train, key=key: gelu_variant(x, key) for key in keys}
    compare_outputs(checker, "GELU(x) for x from -6 to 6", learner, GELU(), torch.linspace(-6, 6, 121),
                    variants=variants)


@register_check("FeedForward", chapter=4)
def check_feed_forward(candidate: type, checker: Checker) -> None:
    torch.manual_seed(0)
    reference = FeedForward(CFG)
    learner = build_like(checker, candidate, reference, "FeedForward(cfg)", (dict(CFG),),
                         naming="layers = nn.Sequential(nn.Linear(emb_dim, 4 * emb_dim), GELU(), "
                                "nn.Linear(4 * emb_dim, emb_dim))")
    x = 2 * torch.randn(2, 5, CFG["emb_dim"])
    compare_outputs(checker, "output for (2, 5, emb_dim)", learner, reference, x,
                    variants=_variants(feed_forward_variant, reference, ["relu", "ff_gelu_erf", "no_activation"]))


def _check_with_dropout(checker: Checker, learner: nn.Module, reference: nn.Module, x: torch.Tensor,
                        variants: dict[str, Callable]) -> None:
    context = f"(context_length {CFG['context_length']})"
    for inputs in (x, x[:, :3]):
        compare_outputs(checker, f"eval mode, {inputs.shape[1]} tokens {context}", learner, reference, inputs,
                        variants=variants)
    compare_outputs(checker, f"training mode, same dropout seed, {x.shape[1]} tokens {context}", learner, reference,
                    x, train=True, variants={**variants, **_dropout_variants(reference)})


@register_check("TransformerBlock", chapter=4)
def check_transformer_block(candidate: type, checker: Checker) -> None:
    torch.manual_seed(0)
    reference = randomize(TransformerBlock(CFG, use_sdpa=False))
    learner = build_like(checker, candidate, reference, "TransformerBlock(cfg)", (dict(CFG),), naming=NAMING_BLOCK)
    keys = ["post_norm", "shortcut_after_norm", "no_shortcut", "norms_swapped"]
    x = torch.randn(2, CFG["context_length"], CFG["emb_dim"])
    _check_with_dropout(checker, learner, reference, x, _variants(block_variant, reference, keys))


@register_check("GPTModel", chapter=4)
def check_gpt_model(candidate: type, checker: Checker) -> None:
    torch.manual_seed(0)
    reference = randomize(GPTModel(CFG, use_sdpa=False))
    learner = build_like(checker, candidate, reference, "GPTModel(cfg)", (dict(CFG),), naming=NAMING_MODEL)
    variants = _variants(model_variant, reference, ["no_pos_emb", "no_final_norm"])
    _check_with_dropout(checker, learner, reference, _tokens(2, CFG["context_length"]), variants)


class _RecordingModel(nn.Module):
    """Wraps a model and remembers the longest input it was given."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.longest_input = 0

    def forward(self, in_idx: torch.Tensor) -> torch.Tensor:
        self.longest_input = max(self.longest_input, in_idx.shape[1])
        return self.model(in_idx)


@register_check("generate_text_simple", chapter=4)
def check_generate_text_simple(candidate: Callable, checker: Checker) -> None:
    torch.manual_seed(0)
    model = _RecordingModel(randomize(GPTModel(CFG)).eval())
    keys = ["crop_front", "last_token_only", "first_position", "new_tokens_only"]
    runs = ((2, 3, 5, 4), (1, 3, 8, 5), (1, 7, 3, 5))  # batch, prompt length, max_new_tokens, context_size
    for batch, prompt_length, max_new_tokens, context_size in runs:
        idx = _tokens(batch, prompt_length)
        label = (f"{batch} prompt(s) of {prompt_length} tokens, max_new_tokens={max_new_tokens}, "
                 f"context_size={context_size}")
        model.longest_input = 0
        got = checker.outcome(candidate, model, idx, max_new_tokens=max_new_tokens, context_size=context_size)
        if model.longest_input > context_size:
            checker.failed(label, f"the model was given {model.longest_input} tokens at once, more than "
                                  f"context_size={context_size}", (MISTAKES["no_crop"],))
            continue
        expected = generate_text_simple(model, idx, max_new_tokens, context_size)
        variants = {MISTAKES[key]: lambda key=key, idx=idx, n=max_new_tokens, size=context_size:
                    generate_variant(model, idx, n, size, key) for key in keys}
        checker.compare(label, got, expected, variants)
