"""Batched generation: 8 prompts of different lengths in one batch (`generate_batch`) against one at a time.

Usage:
    python tests/benchmarks/bench_batched_generate.py                 # 124M, 8 prompts of 10-80 tokens, 100 new each
    python tests/benchmarks/bench_batched_generate.py --preset small-cpu --new-tokens 200
    python tests/benchmarks/bench_batched_generate.py --dry-run       # tiny model, 2 repeats: checks it runs

Both give every prompt exactly the same tokens (greedy; checked): the batch pads the prompts on the right and
keeps a length per row in its KV cache. Tokens/second counts all new tokens of all prompts.
"""

from __future__ import annotations

import argparse

import torch
from common import alternate, machine_line, median, print_table

from shared import GPTModel, generate, generate_batch, get_config


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="gpt2-small (124M)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--new-tokens", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dry-run", action="store_true", help="tiny model, 2 repeats")
    args = parser.parse_args()
    if args.dry_run:
        args.preset, args.new_tokens, args.repeats = "tiny", 4, 2
    device = torch.device(args.device)
    cfg = get_config(args.preset)
    torch.manual_seed(0)
    model = GPTModel(cfg).to(device).eval()
    context = cfg["context_length"]
    longest = min(80, context - args.new_tokens)
    generator = torch.Generator().manual_seed(3)
    lengths = torch.linspace(max(1, longest // 8), longest, args.prompts).int().tolist()
    prompts = [torch.randint(0, cfg["vocab_size"], (n,), generator=generator).tolist() for n in lengths]
    results: dict[str, list[list[int]]] = {}

    def one_at_a_time():
        rows = []
        for prompt in prompts:
            ids = torch.tensor([prompt], device=device)
            rows.append(generate(model, ids, args.new_tokens, context)[0, len(prompt):].tolist())
        results["single"] = rows

    def batched():
        results["batch"] = generate_batch(model, prompts, args.new_tokens, context)

    with torch.no_grad():
        times = alternate({"generate, one prompt at a time": one_at_a_time,
                           f"generate_batch, {args.prompts} prompts at once": batched},
                          repeats=args.repeats, warmup=1, device=device)
    new_tokens = args.prompts * args.new_tokens
    print(machine_line(device))
    print(f"{args.preset}, {args.prompts} prompts of {lengths[0]}-{lengths[-1]} tokens, {args.new_tokens} new tokens "
          f"each, greedy; {args.repeats} alternating repeats; identical tokens: {results['single'] == results['batch']}")
    reference = median(times["generate, one prompt at a time"])
    print_table(["contender", "median s", "new tokens/s", "speed-up"],
                [[name, f"{median(t):.2f}", f"{new_tokens / median(t):,.0f}", f"{reference / median(t):.2f}x"]
                 for name, t in times.items()])


if __name__ == "__main__":
    main()
