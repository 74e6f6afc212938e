"""Measure greedy generation speed with and without the KV cache (random weights, current device).

Usage (from any folder):
    python ch04/kv_cache_benchmark.py                               # 124M preset, 200 new tokens
    python ch04/kv_cache_benchmark.py --preset small-cpu --max-new-tokens 500
    python ch04/kv_cache_benchmark.py --threads 2                   # fix the number of CPU threads

Without the cache every step runs the whole sequence through the model again; with it, each step runs
one token and reads the stored keys and values. Both runs must produce the same tokens (checked).
"""

from __future__ import annotations

import argparse
import time

import torch

from shared import MODEL_CONFIGS, GPTModel, generate_text_simple, get_config, get_device, set_seed


def tokens_per_second(model: GPTModel, prompt: torch.Tensor, max_new_tokens: int,
                      use_cache: bool) -> tuple[float, torch.Tensor]:
    """(new tokens per second, the generated ids) for one greedy run, after a short warm-up."""
    context = model.context_length
    generate_text_simple(model, prompt, 3, context, use_cache=use_cache)  # warm-up: allocator, kernels
    if prompt.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    out = generate_text_simple(model, prompt, max_new_tokens, context, use_cache=use_cache)
    if prompt.device.type == "cuda":
        torch.cuda.synchronize()
    return max_new_tokens / (time.perf_counter() - start), out


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="gpt2-small (124M)", choices=list(MODEL_CONFIGS))
    parser.add_argument("--max-new-tokens", type=int, default=200)
    parser.add_argument("--prompt-tokens", type=int, default=8, help="length of the random prompt")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: PyTorch's)")
    parser.add_argument("--seed", type=int, default=123)
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(args.seed)
    device = get_device()
    cfg = get_config(args.preset, drop_rate=0.0)
    model = GPTModel(cfg).to(device).eval()
    prompt = torch.randint(0, cfg["vocab_size"], (1, args.prompt_tokens), device=device)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"device: {device} ({torch.get_num_threads()} CPU threads), torch {torch.__version__}")
    print(f"model: {args.preset!r}, {n_params:,} parameters; prompt {args.prompt_tokens} tokens, "
          f"{args.max_new_tokens} new tokens, greedy")

    without, out_plain = tokens_per_second(model, prompt, args.max_new_tokens, use_cache=False)
    print(f"without KV cache: {without:8.1f} tokens/s")
    with_cache, out_cached = tokens_per_second(model, prompt, args.max_new_tokens, use_cache=True)
    print(f"with KV cache:    {with_cache:8.1f} tokens/s")
    print(f"speed-up: {with_cache / without:.1f}x; same tokens: {torch.equal(out_plain, out_cached)}")
    return {"without_cache": without, "with_cache": with_cache, "speedup": with_cache / without}


if __name__ == "__main__":
    main()
