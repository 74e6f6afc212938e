"""Chapters 2-4 end to end: tokenize a prompt, build a GPT model from a preset, generate, decode.

Usage (from any folder):
    python ch04/gpt.py                                   # small-cpu preset, embedded tokenizer, a few seconds
    python ch04/gpt.py --prompt "The keeper" --max-new-tokens 40 --use-cache
    python ch04/gpt.py --preset "gpt2-small (124M)"      # the book's 124M model (random weights, ~650 MB)
    python ch04/gpt.py --tokenizer gpt2 --preset "gpt2-small (124M)"   # GPT-2's BPE (a book resource)

The model is untrained (random weights), so the text it continues with is gibberish: Chapter 5 trains it.
The model's vocab_size is set to the tokenizer's (every id it outputs must decode to text), so the
124M preset with the embedded tokenizer has 2,048 rows in its embedding and output head instead of 50,257.
"""

from __future__ import annotations

import argparse
import time

import torch

from shared import (
    MODEL_CONFIGS,
    GPTModel,
    generate_text_simple,
    get_config,
    get_device,
    get_tokenizer,
    set_seed,
)
from shared.resources import ResourceError

DEFAULT_PROMPT = "Every light needs a keeper"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small-cpu", choices=list(MODEL_CONFIGS),
                        help="model configuration (default: small-cpu)")
    parser.add_argument("--prompt", default=DEFAULT_PROMPT, help="text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=20, help="tokens to generate (default: 20)")
    parser.add_argument("--use-cache", action="store_true", help="generate with the KV cache")
    parser.add_argument("--seed", type=int, default=123, help="seed for the random weights (default: 123)")
    parser.add_argument("--tokenizer", default="embedded", choices=["embedded", "gpt2"],
                        help="embedded (offline, default) or gpt2 (GPT-2's BPE, downloaded once)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> str:
    """Run the pipeline, printing each step; return the generated text (prompt included)."""
    args = parse_args(argv)
    set_seed(args.seed)
    device = get_device()

    tokenizer = get_tokenizer(args.tokenizer)
    ids = tokenizer.encode(args.prompt)
    print(f"1. tokenizer {args.tokenizer!r} ({tokenizer.n_vocab:,} tokens): {args.prompt!r} -> {ids}")

    cfg = get_config(args.preset)
    if cfg["vocab_size"] != tokenizer.n_vocab:  # every id the model can output must decode to text
        print(f"   (the {args.preset!r} preset has vocab_size {cfg['vocab_size']:,}; using the tokenizer's "
              f"{tokenizer.n_vocab:,} instead)")
        cfg = get_config(args.preset, vocab_size=tokenizer.n_vocab)
    model = GPTModel(cfg).to(device).eval()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"2. model {args.preset!r}: {cfg['n_layers']} blocks, emb_dim {cfg['emb_dim']}, "
          f"{cfg['n_heads']} heads, context {cfg['context_length']}: {n_params:,} parameters "
          f"({n_params * 4 / 1e6:,.1f} MB in float32), random weights, on {device}")

    idx = torch.tensor([ids])  # (1, num_tokens): a batch of one sequence
    start = time.perf_counter()
    out = generate_text_simple(model, idx, args.max_new_tokens, cfg["context_length"], use_cache=args.use_cache)
    seconds = time.perf_counter() - start
    new_ids = out[0, len(ids):].tolist()
    print(f"3. generated {len(new_ids)} tokens greedily in {seconds:.2f} s "
          f"({len(new_ids) / max(seconds, 1e-9):,.0f} tokens/s, KV cache {'on' if args.use_cache else 'off'}): {new_ids}")

    text = tokenizer.decode(out[0].tolist())
    print("4. decoded (untrained model, so the continuation is gibberish):")
    print(f"Generated text: {text!r}")
    return text


if __name__ == "__main__":
    try:
        main()
    except ResourceError as err:  # a book resource is missing: say what to do, no traceback
        raise SystemExit(f"error: {err}") from None
