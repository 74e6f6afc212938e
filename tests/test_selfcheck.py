"""The learner-facing self-check (shared/selfcheck*.py): correct code passes, and every hint is backed by a
planted mistake that must produce exactly that hint.

The learner's code is tests/learner_code.py; a planted mistake is a text replacement in it.
"""

from __future__ import annotations

import ast
import math
import re

import nbformat
import pytest
import torch
from learner_code import LEARNER_CODE, learner_namespace
from notebook_runner import REPO_ROOT
from torch import nn
from torch.utils.data import DataLoader, Dataset

import shared
from shared import selfcheck, selfcheck_ch02, selfcheck_ch03, selfcheck_ch04, selfcheck_modules
from shared.resources import ResourceError
from shared.selfcheck import Checker, SelfCheckFailed, available_checks, check, register_check


def run_check(name: str, *replacements: tuple[str, str]) -> selfcheck.SelfCheckResult:
    """The self-check of LEARNER_CODE's `name`, with the replacements made."""
    return check(learner_namespace(*replacements)[name], name, verbose=False)


ALL_HINTS = {**{f"ch02 {k}": v for k, v in selfcheck_ch02.MISTAKES.items()},
             **{f"ch03 {k}": v for k, v in selfcheck_ch03.MISTAKES.items()},
             **{f"ch04 {k}": v for k, v in selfcheck_ch04.MISTAKES.items()},
             **{f"dropout {k}": v for k, v in selfcheck_ch04.DROPOUTS.items()},
             "no dropout": selfcheck_modules.NO_DROPOUT, "dropout in eval": selfcheck_modules.DROPOUT_IN_EVAL}

SCALE = "scores / keys.shape[-1] ** 0.5"
MHA_SCALE = "attn_scores / keys.shape[-1] ** 0.5"
MASK_LINE = "attn_scores.masked_fill_(mask_bool, -torch.inf)"
DECODE_SUB = "return re.sub(r'\\s+([,.?!\"()\\'])', r'\\1', text)"
BLOCK_FORWARD = LEARNER_CODE[LEARNER_CODE.index("        shortcut = x\n        x = self.norm1(x)"):
                             LEARNER_CODE.index("class GPTModel")].rstrip() + "\n"
GELU_BODY = "0.5 * x * (1 + torch.tanh(torch.sqrt(torch.tensor(2.0 / torch.pi)) * (x + 0.044715 * torch.pow(x, 3))))"
RANGE = "range(0, len(token_ids) - max_length, stride)"
SPLIT = "PATTERN = r'([,.:;?_!\"()\\']|--|\\s)'"
CAUSAL_MASK = "scores.masked_fill_(self.mask.bool()[:num_tokens, :num_tokens], -torch.inf)"

# (checked name, the hint's key in ALL_HINTS, replacements that plant the mistake)
PLANTED = [
    ("SimpleTokenizerV1", "ch02 split_whitespace", [(SPLIT, "PATTERN = r'(\\s)'")]),
    ("SimpleTokenizerV2", "ch02 split_whitespace", [(SPLIT, "PATTERN = r'(\\s)'")]),
    ("SimpleTokenizerV2", "ch02 split_comma_period", [(SPLIT, "PATTERN = r'([,.]|\\s)'")]),
    ("SimpleTokenizerV1", "ch02 split_no_double_dash", [("|--|", "|")]),
    ("SimpleTokenizerV1", "ch02 decode_spaces", [(DECODE_SUB, "return text")]),
    ("SimpleTokenizerV2", "ch02 decode_no_spaces", [('text = " ".join', 'text = "".join')]),
    ("SimpleTokenizerV2", "ch02 unknown_raises", [('t if t in self.str_to_int else "<|unk|>"', "t")]),
    ("SimpleTokenizerV2", "ch02 unknown_dropped",
     [('t if t in self.str_to_int else "<|unk|>" for t in split_text(text)',
       "t for t in split_text(text) if t in self.str_to_int")]),
    ("GPTDatasetV1", "ch02 targets_not_shifted",
     [("token_ids[i + 1:i + max_length + 1]", "token_ids[i:i + max_length]")]),
    ("GPTDatasetV1", "ch02 stride_ignored", [(RANGE, "range(0, len(token_ids) - max_length)")]),
    ("GPTDatasetV1", "ch02 step_max_length", [(RANGE, "range(0, len(token_ids) - max_length, max_length)")]),
    ("GPTDatasetV1", "ch02 one_window_too_many", [(RANGE, "range(0, len(token_ids) - max_length + 1, stride)")]),
    ("create_dataloader_v1", "ch02 shuffle_ignored", [("shuffle=shuffle", "shuffle=False")]),
    ("create_dataloader_v1", "ch02 drop_last_ignored", [("drop_last=drop_last", "drop_last=True")]),
    ("SelfAttention_v1", "ch03 no_scale", [(SCALE, "scores")]),
    ("SelfAttention_v1", "ch03 softmax_dim", [(SCALE + ", dim=-1)", SCALE + ", dim=0)")]),
    ("SelfAttention_v2", "ch03 no_sqrt", [(SCALE, "scores / keys.shape[-1]")]),
    ("SelfAttention_v2", "ch03 unwanted_mask",
     [("        scores = queries @ keys.T\n",
       "        scores = queries @ keys.T\n"
       "        scores = scores.masked_fill(torch.ones_like(scores).triu(1).bool(), -torch.inf)\n")]),
    ("SelfAttention_v2", "ch03 weight_not_transposed",
     [("self.W_key(x), self.W_query(x), self.W_value(x)\n        scores = queries @ keys.T",
       "x @ self.W_key.weight + (self.W_key.bias if self.W_key.bias is not None else 0), "
       "x @ self.W_query.weight + (self.W_query.bias if self.W_query.bias is not None else 0), "
       "x @ self.W_value.weight + (self.W_value.bias if self.W_value.bias is not None else 0)\n"
       "        scores = queries @ keys.T")]),
    ("SelfAttention_v1", "ch03 scale_by_tokens", [(SCALE, "scores / keys.shape[0] ** 0.5")]),
    ("CausalAttention", "ch03 softmax_batch", [("keys.shape[-1] ** 0.5, dim=-1)\n        weights = self.dropout",
                                                "keys.shape[-1] ** 0.5, dim=0)\n        weights = self.dropout")]),
    ("CausalAttention", "ch03 mask_transposed",
     [("torch.triu(torch.ones(context_length, context_length), diagonal=1))\n\n    def forward(self, x):\n"
       "        b, num_tokens, d_in = x.shape\n        keys, queries",
       "torch.tril(torch.ones(context_length, context_length), diagonal=-1))\n\n    def forward(self, x):\n"
       "        b, num_tokens, d_in = x.shape\n        keys, queries")]),
    ("CausalAttention", "ch03 no_mask", [(CAUSAL_MASK, "pass")]),
    ("CausalAttention", "ch03 mask_diagonal", [("diagonal=1", "diagonal=0")]),
    ("CausalAttention", "ch03 mask_zero", [(CAUSAL_MASK, CAUSAL_MASK.replace("-torch.inf", "0.0"))]),
    ("CausalAttention", "no dropout", [("weights = self.dropout(weights)", "pass")]),
    ("MultiHeadAttentionWrapper", "ch03 concat_dim", [("self.heads], dim=-1)", "self.heads], dim=1)")]),
    ("MultiHeadAttention", "ch03 no_scale", [(MHA_SCALE, "attn_scores")]),
    ("MultiHeadAttention", "ch03 scale_by_d_out", [(MHA_SCALE, "attn_scores / self.d_out ** 0.5")]),
    ("MultiHeadAttention", "ch03 softmax_dim", [(MHA_SCALE + ", dim=-1", MHA_SCALE + ", dim=2")]),
    ("MultiHeadAttention", "ch03 softmax_heads", [(MHA_SCALE + ", dim=-1", MHA_SCALE + ", dim=1")]),
    ("MultiHeadAttention", "ch03 no_mask", [(MASK_LINE, "pass")]),
    ("MultiHeadAttention", "ch03 mask_diagonal", [("diagonal=1", "diagonal=0")]),
    ("MultiHeadAttention", "ch03 mask_one_late", [("diagonal=1", "diagonal=2")]),
    ("MultiHeadAttention", "ch03 mask_after_softmax",
     [(MASK_LINE, "pass"), ("attn_weights = self.dropout(attn_weights)",
                            "attn_weights = self.dropout(attn_weights.masked_fill(mask_bool, 0.0))")]),
    ("MultiHeadAttention", "ch03 split_heads",
     [(".view(b, num_tokens, self.num_heads, self.head_dim).transpose(1, 2)",
       ".view(b, self.num_heads, num_tokens, self.head_dim)")]),
    ("MultiHeadAttention", "ch03 merge_heads", [("(attn_weights @ values).transpose(1, 2)", "attn_weights @ values")]),
    ("MultiHeadAttention", "ch03 merge_heads_interleaved",
     [("(attn_weights @ values).transpose(1, 2)", "(attn_weights @ values).permute(0, 2, 3, 1)")]),
    ("MultiHeadAttention", "ch03 no_out_proj", [("return self.out_proj(context_vec)", "return context_vec")]),
    ("MultiHeadAttention", "no dropout", [("attn_weights = self.dropout(attn_weights)", "pass")]),
    ("MultiHeadAttention", "dropout in eval",
     [("self.dropout(attn_weights)", "nn.functional.dropout(attn_weights, self.dropout.p, training=True)")]),
    ("LayerNorm", "ch04 unbiased_variance", [(", unbiased=False", "")]),
    ("LayerNorm", "ch04 no_eps", [("torch.sqrt(var + self.eps)", "torch.sqrt(var)")]),
    ("LayerNorm", "ch04 eps_outside_sqrt", [("torch.sqrt(var + self.eps)", "(torch.sqrt(var) + self.eps)")]),
    ("LayerNorm", "ch04 std_plus_eps", [("torch.sqrt(var + self.eps)", "(x.std(dim=-1, keepdim=True) + self.eps)")]),
    ("LayerNorm", "ch04 no_sqrt", [("torch.sqrt(var + self.eps)", "(var + self.eps)")]),
    ("LayerNorm", "ch04 wrong_dim", [("(dim=-1, keepdim=True", "(dim=1, keepdim=True")]),
    ("LayerNorm", "ch04 scale_shift_swapped",
     [("self.scale * norm_x + self.shift", "self.shift * norm_x + self.scale")]),
    ("LayerNorm", "ch04 no_scale_shift", [("return self.scale * norm_x + self.shift", "return norm_x")]),
    ("GELU", "ch04 gelu_erf", [(GELU_BODY, "0.5 * x * (1 + torch.erf(x / math.sqrt(2.0)))")]),
    ("GELU", "ch04 gelu_sigmoid", [(GELU_BODY, "x * torch.sigmoid(1.702 * x)")]),
    ("GELU", "ch04 gelu_no_cube", [("(x + 0.044715 * torch.pow(x, 3))", "x")]),
    ("GELU", "ch04 gelu_square", [("torch.pow(x, 3)", "torch.pow(x, 2)")]),
    ("GELU", "ch04 gelu_no_sqrt", [("torch.sqrt(torch.tensor(2.0 / torch.pi))", "(2.0 / torch.pi)")]),
    ("GELU", "ch04 gelu_no_half", [("0.5 * x * (1 + torch.tanh", "x * (1 + torch.tanh")]),
    ("GELU", "ch04 relu", [(GELU_BODY, "torch.relu(x)")]),
    ("FeedForward", "ch04 relu", [("GELU(),\n", "nn.ReLU(),\n")]),
    ("FeedForward", "ch04 ff_gelu_erf", [("GELU(),\n", "nn.GELU(),\n")]),
    ("FeedForward", "ch04 no_activation", [("GELU(),\n", "\n")]),
    ("TransformerBlock", "ch04 post_norm",
     [(BLOCK_FORWARD, "        x = self.norm1(x + self.drop_shortcut(self.att(x)))\n"
                      "        return self.norm2(x + self.drop_shortcut(self.ff(x)))\n")]),
    ("TransformerBlock", "ch04 shortcut_after_norm",
     [("shortcut = x\n        x = self.norm1(x)", "x = self.norm1(x)\n        shortcut = x"),
      ("shortcut = x\n        x = self.norm2(x)", "x = self.norm2(x)\n        shortcut = x")]),
    ("TransformerBlock", "ch04 no_shortcut", [("x = x + shortcut", "x = x")]),
    ("TransformerBlock", "ch04 norms_swapped",
     [("self.norm1(x)", "self.normA(x)"), ("self.norm2(x)", "self.norm1(x)"), ("self.normA(x)", "self.norm2(x)")]),
    ("TransformerBlock", "dropout drop_shortcut", [("x = self.drop_shortcut(x)", "pass")]),
    ("GPTModel", "ch04 no_pos_emb", [("x = tok_embeds + pos_embeds", "x = tok_embeds")]),
    ("GPTModel", "ch04 no_final_norm", [("x = self.final_norm(x)", "pass")]),
    ("GPTModel", "dropout drop_emb", [("x = self.drop_emb(x)", "pass")]),
    ("GPTModel", "dropout att.dropout", [("attn_weights = self.dropout(attn_weights)", "pass")]),
    ("generate_text_simple", "ch04 crop_front", [("idx[:, -context_size:]", "idx[:, :context_size]")]),
    ("generate_text_simple", "ch04 last_token_only", [("idx[:, -context_size:]", "idx[:, -1:]")]),
    ("generate_text_simple", "ch04 first_position", [("logits[:, -1, :]", "logits[:, 0, :]")]),
    ("generate_text_simple", "ch04 new_tokens_only", [("    return idx\n", "    return idx[:, -max_new_tokens:]\n")]),
    ("generate_text_simple", "ch04 no_crop", [("idx_cond = idx[:, -context_size:]", "idx_cond = idx")]),
]


@pytest.mark.parametrize("name, key, replacements", PLANTED, ids=[f"{p[0]}-{p[1]}" for p in PLANTED])
def test_a_planted_mistake_gets_its_hint_and_no_other(name, key, replacements):
    result = run_check(name, *replacements)
    assert not result, f"the planted mistake was not caught:\n{result}"
    named = {k for k, hint in ALL_HINTS.items() if hint in result.hints}
    assert named == {key}, f"expected only the hint {key!r}, got {sorted(named)}:\n{result}"


def test_every_hint_is_backed_by_a_planted_mistake():
    planted = {key for _, key, _ in PLANTED}
    assert set(ALL_HINTS) - planted == set()


# --- correct code passes --------------------------------------------------------------------------------

CHECK_NAMES = list(available_checks())


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_the_shared_object_passes_its_own_check(name):
    assert check(getattr(shared, name), verbose=False)


@pytest.mark.parametrize("name", CHECK_NAMES)
def test_learner_style_code_passes(name):
    assert check(learner_namespace()[name], name, verbose=False)


# (checked name, replacements): other ways of writing the same computation
CORRECT_ALTERNATIVES = [
    ("MultiHeadAttention", [(MASK_LINE, "pass"),  # the chapter's first masking: softmax, zero the future, renormalize
                            ("attn_weights = self.dropout(attn_weights)",
                             "attn_weights = attn_weights * torch.tril(torch.ones(num_tokens, num_tokens))\n"
                             "        attn_weights = attn_weights / attn_weights.sum(dim=-1, keepdim=True)\n"
                             "        attn_weights = self.dropout(attn_weights)"),
                            (MHA_SCALE, "attn_scores / math.sqrt(self.head_dim)")]),
    ("SelfAttention_v1", [("nn.Parameter(torch.rand(d_in, d_out))", "nn.Parameter(torch.rand(d_out, d_in))"),
                          ("x @ self.W_key, x @ self.W_query, x @ self.W_value",
                           "x @ self.W_key.T, x @ self.W_query.T, x @ self.W_value.T")]),  # stored transposed
    ("GELU", [(GELU_BODY, "nn.functional.gelu(x, approximate='tanh')")]),
    ("LayerNorm", [("x.var(dim=-1, keepdim=True, unbiased=False)", "((x - mean) ** 2).mean(dim=-1, keepdim=True)")]),
    ("GPTModel", [("x = self.drop_emb(x)", "x = nn.functional.dropout(x, self.drop_emb.p, training=self.training)")]),
    ("generate_text_simple", [("probas = torch.softmax(logits, dim=-1)", "probas = logits")]),
]


@pytest.mark.parametrize("name, replacements", CORRECT_ALTERNATIVES, ids=[a[0] for a in CORRECT_ALTERNATIVES])
def test_a_different_but_correct_implementation_passes(name, replacements):
    result = run_check(name, *replacements)
    assert result, str(result)


def notebook_definitions(path) -> dict:
    """The classes, functions and ALL_CAPS = "literal" constants a notebook defines (no other statement is
    run), in a namespace holding what the notebooks import: shared's names, torch, nn, math, re, Dataset,
    DataLoader."""
    namespace = {**{n: getattr(shared, n) for n in shared.__dict__ if not n.startswith("_")},
                 "torch": torch, "nn": nn, "math": math, "re": re, "Dataset": Dataset, "DataLoader": DataLoader}
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            keep = [node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef))
                    or (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                        and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))]
            exec(compile(ast.Module(keep, type_ignores=[]), str(path), "exec"), namespace)
    return namespace


NOTEBOOK_CLASSES = {
    "ch02/ch02.ipynb": {"MyTokenizerV1": "SimpleTokenizerV1", "MyTokenizerV2": "SimpleTokenizerV2",
                        "GPTDatasetV1": "GPTDatasetV1", "create_dataloader_v1": "create_dataloader_v1"},
    "ch03/ch03.ipynb": {n: n for n in ("SelfAttention_v1", "SelfAttention_v2", "CausalAttention",
                                       "MultiHeadAttentionWrapper", "MultiHeadAttention")},
    "ch04/ch04.ipynb": {n: n for n in ("LayerNorm", "GELU", "FeedForward", "TransformerBlock", "GPTModel",
                                       "generate_text_simple")},
}


@pytest.mark.parametrize("notebook", NOTEBOOK_CLASSES)
def test_the_notebooks_own_classes_pass(notebook):
    namespace = notebook_definitions(REPO_ROOT / notebook)
    for defined, name in NOTEBOOK_CLASSES[notebook].items():
        assert namespace[defined] is not getattr(shared, name, None), f"{notebook} does not define {defined}"
        result = check(namespace[defined], name, verbose=False)
        assert result, str(result)


# --- what a failure says --------------------------------------------------------------------------------


def test_a_difference_no_variant_explains_is_described_without_a_hint():
    result = run_check("SelfAttention_v1", ("return weights @ values\n\n\nclass SelfAttention_v2",
                                            "return 1.01 * (weights @ values)\n\n\nclass SelfAttention_v2"))
    line = result.lines[-1]
    assert not line.passed and not line.hints
    assert re.fullmatch(r"first difference at \[0, 0\]: yours [-\d.e]+, expected [-\d.e]+; max abs difference "
                        r"[\d.e-]+", line.detail), line.detail


def test_a_shape_difference_is_named():
    result = run_check("MultiHeadAttention", ("return self.out_proj(context_vec)",
                                              "return self.out_proj(context_vec)[:, :-1]"))
    assert "shape (2, 7, 6), expected (2, 8, 6)" in result.lines[1].detail


def test_a_difference_inside_a_model_is_located():
    result = run_check("GPTModel", (MHA_SCALE, "attn_scores"))
    assert result.hints == ["the difference starts in trf_blocks.0.att (your MultiHeadAttention): it gets the same "
                            "input as the book's trf_blocks.0.att and returns something else; "
                            "check(MultiHeadAttention) says more"]
    result = run_check("TransformerBlock", ("x = self.ff(x)", "x = self.ff(self.norm2(x))"))
    assert result.hints == ["each part of your TransformerBlock that gets the book's input returns the book's "
                            "output: the difference is in how its forward connects the parts"]


def test_an_error_in_the_learners_code_is_shown_with_its_line():
    result = run_check("MultiHeadAttention", ("self.mask.bool()[:num_tokens, :num_tokens]", "self.mask.bool()"))
    short_input = result.lines[2]
    assert not short_input.passed and short_input.label.startswith("eval mode, 3 tokens")
    assert "raised RuntimeError" in short_input.detail
    assert "line 132: attn_scores.masked_fill_(mask_bool, -torch.inf)" in short_input.detail
    assert result.lines[1].passed  # a full-length input works


def test_other_parameter_names_are_reported_and_the_outputs_still_compared():
    renamed = [(f"self.{old}", f"self.{new}") for old, new in (("W_query", "q"), ("W_key", "k"), ("W_value", "v"),
                                                                ("out_proj", "proj"))]
    result = check(learner_namespace(*renamed)["MultiHeadAttention"], verbose=False)
    names = result.lines[0]
    assert not names.passed and "yours q.weight, k.weight, v.weight, proj.weight, proj.bias" in names.detail
    assert "W_query, W_key, W_value" in names.hints[0]
    assert all(line.passed for line in result.lines[1:4])


@pytest.mark.parametrize("replacement, message", [
    (("self.out_proj = nn.Linear(d_out, d_out)", "self.out_proj = nn.Linear(d_out, d_out, bias=False)"),
     "your module has no out_proj.bias (6,)"),
    (("self.out_proj = nn.Linear(d_out, d_out)", "self.out_proj = nn.Linear(d_out, 2 * d_out)"),
     "out_proj.weight is (12, 6), expected (6, 6)"),
    (("def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False)",
      "def __init__(self, d_in, d_out, context_length, drop_rate, num_heads, qkv_bias=False)"),
     "raised TypeError"),
])
def test_a_module_that_cannot_be_compared_ends_the_check_with_one_line(replacement, message):
    result = run_check("MultiHeadAttention", replacement)
    assert len(result.lines) == 1 and message in result.lines[0].detail, str(result)


def test_a_repeated_block_is_recognised():
    result = run_check("GPTModel", ('[TransformerBlock(cfg) for _ in range(cfg["n_layers"])]',
                                    '[TransformerBlock(cfg)] * cfg["n_layers"]'))
    assert "no trf_blocks.1.att.W_query.weight" in result.lines[0].detail
    assert any("same module object sits at trf_blocks.0 and trf_blocks.1" in hint for hint in result.hints)


def test_v1_must_raise_for_an_unknown_word():
    result = run_check("SimpleTokenizerV1", ("return [self.str_to_int[token] for token in split_text(text)]",
                                             "return [self.str_to_int.get(token, 0) for token in split_text(text)]"))
    (failed,) = [line for line in result.lines if not line.passed]
    assert "unknown word raises KeyError" in failed.label and "expected a KeyError" in failed.detail


def test_a_loader_without_a_tokenizer_parameter_needs_gpt2(monkeypatch):
    def offline(name):
        raise ResourceError("the book resource 'gpt2-vocab-bpe' is not available offline")

    monkeypatch.setattr(selfcheck_ch02, "get_tokenizer", offline)
    no_tokenizer = learner_namespace(("num_workers=0, tokenizer=None):", "num_workers=0):"),
                                     ("GPTDatasetV1(txt, tokenizer,", "GPTDatasetV1(txt, get_tokenizer('gpt2'),"))
    result = check(no_tokenizer["create_dataloader_v1"], verbose=False)
    assert len(result.lines) == 1 and "not available offline" in result.lines[0].detail
    assert "tokenizer=None" in result.hints[0]


def test_a_loader_without_a_tokenizer_parameter_is_checked_with_gpt2():
    from book_data import book_resource

    book_resource("gpt2-vocab-bpe"), book_resource("gpt2-encoder-json")
    no_tokenizer = learner_namespace(("num_workers=0, tokenizer=None):", "num_workers=0):"),
                                     ("GPTDatasetV1(txt, tokenizer,", "GPTDatasetV1(txt, get_tokenizer('gpt2'),"))
    no_tokenizer["get_tokenizer"] = shared.get_tokenizer  # the book uses tiktoken.get_encoding("gpt2")
    assert check(no_tokenizer["create_dataloader_v1"], verbose=False)


# --- the API --------------------------------------------------------------------------------------------


def test_the_report_has_one_line_per_check_and_a_summary(capsys):
    result = check(shared.CausalAttention)
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "Checking your CausalAttention against shared.CausalAttention"
    assert len(printed) == len(result.lines) + 2 and all(line.startswith("  ✓ ") for line in printed[1:-1])
    assert printed[-1] == f"CausalAttention: all {len(result.lines)} checks passed"
    assert repr(result) == f"<SelfCheckResult CausalAttention: all {len(result.lines)} checks passed>"


def test_raise_on_failure_raises_an_assertion_error_with_the_report(capsys):
    planted = learner_namespace((", unbiased=False", ""))["LayerNorm"]
    with pytest.raises(SelfCheckFailed, match="(?s)✗ .*unbiased=False") as failure:
        check(planted, raise_on_failure=True)
    assert isinstance(failure.value, AssertionError) and capsys.readouterr().out == ""
    assert check(shared.LayerNorm, raise_on_failure=True, verbose=False)


def test_the_name_is_taken_from_the_object_or_given():
    my_tokenizer = learner_namespace()["SimpleTokenizerV2"]
    assert check(my_tokenizer, "SimpleTokenizerV2", verbose=False).name == "SimpleTokenizerV2"
    assert check(shared.GELU, verbose=False).name == "GELU"


@pytest.mark.parametrize("args, error, message", [
    ((shared.GELU(),), TypeError, r"not an instance of GELU: write check\(GELU\)"),
    ((shared.GELU, 3), TypeError, "must be a string"),
    ((shared.generate_text_simple, "GPTModel"), TypeError, "shared.GPTModel is a class"),
    ((nn.Module,), ValueError, r"no self-check for 'Module'.*Available: SimpleTokenizerV1"),
    ((shared.GELU, "MultiHeadAttentoin"), ValueError, r"e\.g\. check\(GELU, 'MultiHeadAttention'\)"),
])
def test_bad_arguments_are_rejected_with_one_clear_message(args, error, message):
    with pytest.raises(error, match=message):
        check(*args)


def test_a_check_leaves_the_random_state_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check(shared.GPTModel, verbose=False)
    assert torch.equal(torch.rand(3), expected) and torch.get_num_threads() == threads


def test_a_later_chapter_adds_a_check_in_a_few_lines(monkeypatch):
    monkeypatch.setattr(selfcheck, "CHECKS", dict(selfcheck.CHECKS))
    summed = "the loss is summed over the tokens: use the mean (cross_entropy's default)"

    @register_check("token_loss", chapter=5)
    def _(candidate, checker: Checker) -> None:
        logits, targets = torch.randn(2, 3, 5), torch.randint(0, 5, (2, 3))
        flat = logits.flatten(0, 1), targets.flatten()
        checker.compare("loss of one batch", checker.outcome(candidate, logits, targets),
                        nn.functional.cross_entropy(*flat),
                        {summed: lambda: nn.functional.cross_entropy(*flat, reduction="sum")})

    def token_loss(logits, targets):
        return nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum")

    assert available_checks()["token_loss"] == 5
    result = check(token_loss, verbose=False)
    assert not result and result.hints == [summed]
    with pytest.raises(ValueError, match="two self-checks"):
        register_check("GELU", chapter=5)(lambda candidate, checker: None)


# --- the variants are the reference with one change -----------------------------------------------------


def test_each_variant_without_a_mistake_is_the_reference():
    torch.manual_seed(0)
    x2, x3, ids = torch.randn(6, 4), torch.randn(2, 6, 4), torch.randint(0, 40, (2, 6))
    cfg = {**selfcheck_ch04.CFG, "emb_dim": 4, "n_heads": 2}
    mha = shared.MultiHeadAttention(4, 6, 8, 0.5, num_heads=3, qkv_bias=True, use_sdpa=False)
    causal, v2 = shared.CausalAttention(4, 3, 8, 0.5), shared.SelfAttention_v2(4, 3)
    v1 = shared.SelfAttention_v1(4, 3)
    norm, ff = selfcheck_modules.randomize(shared.LayerNorm(4)), shared.FeedForward(cfg)
    block, model = shared.TransformerBlock(cfg, use_sdpa=False), shared.GPTModel(cfg, use_sdpa=False)
    cases = [
        (mha, x3, lambda train: selfcheck_ch03.multihead_variant(mha, x3, train, num_heads=3, dropout=0.5)),
        (causal, x3,
         lambda train: selfcheck_ch03.linear_attention_variant(causal, x3, train, causal=True, dropout=0.5)),
        (v2, x2, lambda train: selfcheck_ch03.linear_attention_variant(v2, x2, train, causal=False)),
        (v1, x2, lambda train: selfcheck_ch03.self_attention_v1_variant(v1, x2, train)),
        (norm, x3, lambda train: selfcheck_ch04.layer_norm_variant(norm, x3, train)),
        (shared.GELU(), x3, lambda train: selfcheck_ch04.gelu_variant(x3)),
        (ff, x3, lambda train: selfcheck_ch04.feed_forward_variant(ff, x3, train)),
        (block, x3, lambda train: selfcheck_ch04.block_variant(block, x3, train)),
        (model, ids, lambda train: selfcheck_ch04.model_variant(model, ids, train)),
    ]
    for module, inputs, variant in cases:
        for train in (False, True):
            expected = selfcheck_modules.forward(module, inputs, train)  # seeded, in that mode
            torch.manual_seed(selfcheck.SEED)
            with torch.no_grad():
                assert torch.allclose(variant(train), expected, atol=1e-6), (type(module).__name__, train)

    model.eval()
    assert torch.equal(selfcheck_ch04.generate_variant(model, ids, 5, 4),
                       shared.generate_text_simple(model, ids, 5, 4))


def test_each_chapter_2_variant_without_a_mistake_is_the_reference():
    vocab, tokenizer = selfcheck_ch02._vocab(), shared.get_tokenizer()
    for text in [*selfcheck_ch02.TEXTS.values(), selfcheck_ch02.UNKNOWN_TEXT, selfcheck_ch02.SPECIAL_TEXT]:
        ids = shared.SimpleTokenizerV2(vocab).encode(text)
        assert selfcheck_ch02.encode_variant(vocab, text, unknown="unk") == ids
        assert selfcheck_ch02.decode_variant(vocab, ids) == shared.SimpleTokenizerV2(vocab).decode(ids)
    text = selfcheck_ch02._sample_text()
    token_ids = tokenizer.encode(text, allowed_special={"<|endoftext|>"})
    dataset = shared.GPTDatasetV1(text, tokenizer, max_length=5, stride=3)
    assert selfcheck_ch02.windows_variant(token_ids, 5, 3) == selfcheck_ch02._as_lists(dataset)
