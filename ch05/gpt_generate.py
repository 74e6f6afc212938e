"""Generate text from a trained checkpoint or from OpenAI's GPT-2 weights, streaming tokens as they come.

Usage (from any folder):
    python ch05/gpt_generate.py                                          # the model Chapter 5 pretrains
    python ch05/gpt_generate.py --checkpoint out/mine/last.pth --prompt "The keeper" --max-new-tokens 60
    python ch05/gpt_generate.py --temperature 0.8 --top-k 40 --top-p 0.95 --seed 7   # sampled, reproducible
    python ch05/gpt_generate.py --gpt2 124M --prompt "Every effort moves you"       # GPT-2 (book resource)

Temperature 0 (the default) is greedy decoding: always the most likely token. The tokenizer is the one
the checkpoint was trained with (GPT-2's for --gpt2). Generation stops at <|endoftext|> or after
--max-new-tokens tokens.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from shared import (
    generate_stream,
    get_device,
    get_tokenizer,
    load_model_from_checkpoint,
    stream_text,
    text_to_token_ids,
)
from shared.checkpoint import CheckpointError
from shared.pretrained import PRETRAINED_EMBEDDED, checkpoints_dir
from shared.resources import ResourceError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, help="a checkpoint written by train_model or save_checkpoint "
                                                        "(default: the model Chapter 5 pretrains)")
    source.add_argument("--gpt2", metavar="SIZE", choices=["124M", "355M", "774M", "1558M"],
                        help="OpenAI's GPT-2 weights of this size (downloaded once)")
    parser.add_argument("--models-dir", type=Path, help="folder for GPT-2's weights (default: the user cache)")
    parser.add_argument("--prompt", default="Every light needs a keeper")
    parser.add_argument("--max-new-tokens", type=int, default=50)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--seed", type=int, help="makes a sampled text reproducible")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    return parser.parse_args(argv)


def load_model(args: argparse.Namespace, device: torch.device):
    """(model, tokenizer) from the chosen source."""
    if args.gpt2:
        from shared.gpt2_weights import load_gpt2

        return load_gpt2(args.gpt2, args.models_dir).to(device), get_tokenizer("gpt2")
    path = args.checkpoint or checkpoints_dir() / PRETRAINED_EMBEDDED
    if args.checkpoint is None and not path.is_file():
        raise CheckpointError(f"no pretrained model at {path} yet: run ch05/ch05.ipynb (or "
                              f"python -m shared.pretrained) first, or pass --checkpoint / --gpt2")
    model, state = load_model_from_checkpoint(path, device)
    return model, get_tokenizer(state.get("tokenizer") or "embedded")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device) if args.device else get_device()
    try:
        model, tokenizer = load_model(args, device)
        context = model.cfg["context_length"]
        prompt = text_to_token_ids(args.prompt, tokenizer)[:, -context:]
        print(args.prompt, end="", flush=True)
        new_ids: list[int] = []

        def tokens():  # the generated ids, counted on their way to the screen
            for token_id in generate_stream(model, prompt, args.max_new_tokens, context, temperature=args.temperature,
                                            top_k=args.top_k, top_p=args.top_p, eos_id=tokenizer.eot_token,
                                            seed=args.seed):
                new_ids.append(token_id)
                yield token_id

        start = time.perf_counter()
        for piece in stream_text(tokens(), tokenizer):
            print(piece, end="", flush=True)
        count = len(new_ids)
    except (CheckpointError, ResourceError, ValueError) as err:
        print(f"\nerror: {err}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    print(f"\n[{count} tokens in {seconds:.2f} s, {count / max(seconds, 1e-9):.1f} tokens/s on {device}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
