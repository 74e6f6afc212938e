"""Chat in the terminal with the instruction-tuned model (or another checkpoint, or GPT-2), optionally as a persona.

Usage (from the repository root):
    python ch07/chat.py                                  # the model Chapter 7 fine-tunes (build it first)
    python ch07/chat.py --persona pirate                 # every message is answered in pirate speak
    python ch07/chat.py --persona pirate --history       # earlier turns in the prompt too (the small model stumbles)
    python ch07/chat.py --system "Sort the numbers from smallest to largest."   # a system-style line of your own
    python ch07/chat.py --model pretrained               # the model before fine-tuning, for comparison
    python ch07/chat.py --checkpoint out/mine.pth --temperature 0.7 --top-k 20 --top-p 0.9 --seed 7
    python ch07/chat.py --gpt2 355M                      # GPT-2's weights (a book resource), base model
    python ch07/chat.py --checkpoint checkpoints/instruct-gpt2-355M.pth   # GPT-2 fine-tuned in book mode

Type a message and press Enter; the reply appears token by token. `exit` or `quit` (or Ctrl-D) leaves,
Ctrl-C stops a reply being written (and leaves when pressed at the prompt), `/reset` forgets the
conversation. Earlier turns stay in the prompt as long as they fit in the model's context window next to
the new message and the reply; the oldest are dropped when they no longer do, and the chat says so. The small
model of Chapter 7 was fine-tuned only on prompts at the start of its context and answers badly after earlier
turns (ch07.ipynb measures it), so it gets each message alone unless --history asks for the turns;
GPT-2 gets them unless --forget says not to.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import torch

from shared import PERSONA_INSTRUCTIONS, get_device
from shared.chat import chat_models, fit_chat_prompt, load_chat_model, stream_reply
from shared.checkpoint import CheckpointError
from shared.decoding import check_sampling
from shared.resources import ResourceError

EXIT_WORDS = ("exit", "quit", "/exit", "/quit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", choices=["instruction", "pretrained"], default="instruction",
                        help="the project's model: instruction-tuned (default) or only pretrained")
    source.add_argument("--checkpoint", type=Path, help="any checkpoint written by save_checkpoint")
    source.add_argument("--gpt2", metavar="SIZE", choices=["124M", "355M", "774M", "1558M"],
                        help="OpenAI's GPT-2 weights of this size (must be on disk: ch05/gpt_download.py)")
    persona = parser.add_mutually_exclusive_group()
    persona.add_argument("--persona", choices=sorted(PERSONA_INSTRUCTIONS),
                         help="a persona: its system-style line goes in front of every message")
    persona.add_argument("--system", help="a system-style line of your own (the instruction of every turn)")
    turns = parser.add_mutually_exclusive_group()
    turns.add_argument("--history", action="store_true", default=None,
                       help="keep earlier turns in the prompt (the default for GPT-2; the small model, "
                            "fine-tuned on single messages, answers badly after them)")
    turns.add_argument("--forget", action="store_false", dest="history",
                       help="answer each message on its own, without the earlier turns (the default for the "
                            "small model)")
    parser.add_argument("--max-new-tokens", type=int, default=60)
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-k", type=int)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--seed", type=int, default=123, help="the n-th reply is sampled with seed + n")
    parser.add_argument("--device", help="cpu, cuda, mps (default: the best available)")
    return parser.parse_args(argv)


def run_chat(model: torch.nn.Module, tokenizer, system: str | None = None, speaker: str = "Model",
             max_new_tokens: int = 60, temperature: float = 0.0, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = 123, input_fn: Callable[[str], str] = input,
             out: TextIO = sys.stdout, keep_history: bool = True, style: str = "alpaca") -> list[tuple[str, str]]:
    """The chat loop: read a message with `input_fn`, stream the reply to `out`; return the kept turns.

    keep_history=False answers every message on its own (the prompt holds no earlier turns); `style` is the
    prompt format the model was fine-tuned with (`load_chat_model` says which).
    """
    context = model.cfg["context_length"]
    history: list[tuple[str, str]] = []
    turn = 0
    while True:
        try:
            text = input_fn("You: ").strip()
        except (EOFError, KeyboardInterrupt):  # Ctrl-D or Ctrl-C at the prompt
            print("\nGoodbye.", file=out)
            return history
        if not text:
            continue
        if text.lower() in EXIT_WORDS:
            print("Goodbye.", file=out)
            return history
        if text == "/reset":
            history.clear()
            print("(conversation forgotten)", file=out)
            continue
        try:
            prompt_ids, dropped = fit_chat_prompt(tokenizer, text, history if keep_history else [], system, context,
                                                  max_new_tokens, style)
        except ValueError as err:
            print(f"({err})", file=out)
            continue
        if dropped:
            history = history[dropped:]
            print(f"(the {dropped} oldest turn{'s' if dropped > 1 else ''} no longer fit in the model's {context}-token "
                  f"context window next to your message and the reply: dropped)", file=out)
        print(f"{speaker}: ", end="", file=out, flush=True)
        pieces = []
        try:
            for piece in stream_reply(model, tokenizer, prompt_ids, max_new_tokens, temperature, top_k, top_p,
                                      None if seed is None else seed + turn):
                pieces.append(piece)
                print(piece, end="", file=out, flush=True)
        except KeyboardInterrupt:  # Ctrl-C while the reply is written: keep what came so far
            print(" [stopped]", end="", file=out)
        print(file=out, flush=True)
        if keep_history:
            history.append((text, "".join(pieces).strip()))
        turn += 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        check_sampling(args.temperature, args.top_k, args.top_p)
        if args.max_new_tokens < 1:
            raise ValueError(f"--max-new-tokens must be at least 1, got {args.max_new_tokens}")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    device = torch.device(args.device) if args.device else get_device()
    source = args.checkpoint or (f"gpt2-{args.gpt2}" if args.gpt2 else args.model)
    try:
        model, tokenizer, style, multi_turn = load_chat_model(source, device)
    except (FileNotFoundError, CheckpointError, ResourceError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    system = PERSONA_INSTRUCTIONS[args.persona] if args.persona else args.system
    speaker = args.persona.capitalize() if args.persona else "Model"
    label = chat_models(()).get(str(source)).label if str(source) in ("instruction", "pretrained") else str(source)
    print(f"Chatting with {label} ({model.cfg['context_length']}-token context window) on {device}.")
    if system:
        print(f"System line: {system}")
    keep_history = multi_turn if args.history is None else args.history
    if not keep_history:
        print("Each message is answered on its own" + (
            ": this model was fine-tuned only on prompts at the start of its context and loses its way after "
            "earlier turns (--history sends them anyway)." if args.history is None else " (--forget)."))
    if source == "instruction" and not system:
        print('Try "Give an example of a fruit." or "Name a fish other than salmon.", or start again with --persona '
              'pirate, or with --system "Convert to meters." and type "12 kilometers".')
    print("Type exit or quit (or Ctrl-D) to leave, /reset to forget the conversation; Ctrl-C stops a reply.")
    run_chat(model, tokenizer, system, speaker, args.max_new_tokens, args.temperature, args.top_k, args.top_p,
             args.seed, keep_history=keep_history, style=style)
    return 0


if __name__ == "__main__":
    sys.exit(main())
