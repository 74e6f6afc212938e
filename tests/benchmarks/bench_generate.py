"""Greedy generation with the KV cache: `shared.generate` against Hugging Face's `generate`, same weights.

Usage:
    python tests/benchmarks/bench_generate.py                       # 124M, batch 1, 50-token prompt, 200 new tokens
    python tests/benchmarks/bench_generate.py --device cuda --compile   # + the static cache and CUDA graphs (GPU)
    python tests/benchmarks/bench_generate.py --dry-run             # tiny model, 2 repeats: checks it runs

Both produce exactly the same tokens (checked). Tokens/second counts the new tokens and includes the prefill
of the prompt, as a user waiting for the text experiences it.
"""

from __future__ import annotations

import argparse

import torch
from bench_train_step import build
from common import alternate, machine_line, median, print_table

from shared import generate
from shared.decoding import compiled_decoder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="gpt2-small (124M)")
    parser.add_argument("--prompt-tokens", type=int, default=50)
    parser.add_argument("--new-tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="also the static cache + torch.compile (CUDA graphs)")
    parser.add_argument("--dry-run", action="store_true", help="tiny model, 2 repeats")
    args = parser.parse_args()
    if args.dry_run:
        args.preset, args.prompt_tokens, args.new_tokens, args.repeats = "tiny", 4, 8, 2
    device = torch.device(args.device)
    ours, hf, cfg = build(args.preset, device)
    ours.eval(), hf.eval()
    prompt = torch.randint(0, cfg["vocab_size"], (1, args.prompt_tokens),
                           generator=torch.Generator().manual_seed(2)).to(device)
    n, context = args.new_tokens, cfg["context_length"]
    results: dict[str, torch.Tensor] = {}

    def run(name, fn):
        def call():
            with torch.no_grad():
                results[name] = fn()
        return call

    contenders = {
        "shared.generate (KV cache)": run("ours", lambda: generate(ours, prompt, n, context)),
        "transformers generate (cache)": run("hf", lambda: hf.generate(
            prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=n, min_new_tokens=n, do_sample=False,
            pad_token_id=0, use_cache=True)),
    }
    if args.compile:
        decode = compiled_decoder(ours, batch_size=1, max_len=context)
        contenders["shared, static cache + torch.compile"] = run("compiled", lambda: decode(prompt, n))
    times = alternate(contenders, repeats=args.repeats, warmup=2 if args.compile else 1, device=device)
    same = {name: torch.equal(results["hf"], out) for name, out in results.items()}
    print(machine_line(device))
    print(f"{args.preset}, batch 1, {args.prompt_tokens}-token prompt, {n} new tokens, greedy; {args.repeats} "
          f"alternating repeats; identical tokens: {all(same.values())}")
    reference = median(times["transformers generate (cache)"])
    print_table(["contender", "median s", "new tokens/s", "speed vs transformers"],
                [[name, f"{median(t):.2f}", f"{n / median(t):,.1f}", f"{reference / median(t):.2f}x"]
                 for name, t in times.items()])


if __name__ == "__main__":
    main()
