"""Pretrain a GPT model on a text file, on one process or many (torchrun), with checkpoints you can resume.

Usage (from any folder):
    python ch05/gpt_train.py                                   # small-cpu preset on the embedded corpus
    python ch05/gpt_train.py --preset tiny --max-steps 20 --out-dir out/tiny
    python ch05/gpt_train.py --data my.txt --epochs 5 --lr 6e-4 --warmup-steps 50 --out-dir out/mine
    python ch05/gpt_train.py --out-dir out/mine --resume       # continue from out/mine/last.pth exactly
    torchrun --nproc_per_node=2 ch05/gpt_train.py --preset tiny --max-steps 4 --out-dir out/ddp  # 2 processes

Under torchrun each process trains on its own shard of every epoch (Gloo on the CPU, NCCL on GPUs) and
rank 0 writes the checkpoints. The text is split into a training part (the first --train-ratio of its
characters) and a validation part, cut into windows of --max-length tokens (stride = max length).
The tokenizer is the embedded one unless --tokenizer gpt2 (or book mode, LLM_BOOK_RESOURCES=1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from shared import (
    MODEL_CONFIGS,
    GPTModel,
    TrainConfig,
    create_dataloader_v1,
    get_config,
    get_device,
    get_tokenizer,
    load_corpus,
    set_seed,
    train_model,
)
from shared.checkpoint import CheckpointError
from shared.distributed import cleanup_distributed, init_distributed
from shared.resources import ResourceError
from shared.tokenizer import default_tokenizer_name


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="small-cpu", choices=list(MODEL_CONFIGS), help="model configuration")
    parser.add_argument("--data", type=Path, help="a UTF-8 text file (default: the embedded corpus)")
    parser.add_argument("--tokenizer", choices=["embedded", "gpt2"], help="default: embedded (gpt2 in book mode)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, help="tokens per window (default: min(context, 256))")
    parser.add_argument("--lr", type=float, default=5e-4)
    parser.add_argument("--min-lr", type=float, default=0.0)
    parser.add_argument("--warmup-steps", type=int, default=0)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--grad-clip", type=float, default=1.0, help="0 switches clipping off")
    parser.add_argument("--grad-accum", type=int, default=1, help="batches per optimizer step")
    parser.add_argument("--eval-every", type=int, default=0, help="steps between evaluations (0: at the end)")
    parser.add_argument("--checkpoint-every", type=int, default=0, help="steps between checkpoints (0: at the end)")
    parser.add_argument("--train-ratio", type=float, default=0.9)
    parser.add_argument("--out-dir", type=Path, help="folder for last.pth (default: no checkpoint)")
    parser.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pth")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, mps (default: the best available)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--compile", action="store_true", help="torch.compile the model (slow start, faster steps)")
    parser.add_argument("--drop-rate", type=float, help="override the preset's dropout")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.resume and args.out_dir is None:
        parser.error("--resume needs --out-dir (the folder holding last.pth)")
    return args


def make_loaders(args: argparse.Namespace, tokenizer, context_length: int):
    text = args.data.read_text(encoding="utf-8") if args.data else load_corpus("embedded")
    split = int(args.train_ratio * len(text))
    max_length = args.max_length or min(context_length, 256)
    train_loader = create_dataloader_v1(text[:split], batch_size=args.batch_size, max_length=max_length,
                                        stride=max_length, shuffle=True, drop_last=True, tokenizer=tokenizer)
    val_loader = create_dataloader_v1(text[split:], batch_size=args.batch_size, max_length=max_length,
                                      stride=max_length, shuffle=False, drop_last=False, tokenizer=tokenizer)
    return train_loader, val_loader


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dist_info = init_distributed(args.device or get_device())
    say = print if dist_info.is_main else (lambda *a, **k: None)
    try:
        set_seed(args.seed)
        tokenizer_name = args.tokenizer or default_tokenizer_name()
        tokenizer = get_tokenizer(tokenizer_name)
        overrides = {"vocab_size": tokenizer.n_vocab}
        if args.drop_rate is not None:
            overrides["drop_rate"] = args.drop_rate
        cfg = get_config(args.preset, **overrides)
        model = GPTModel(cfg)
        train_loader, val_loader = make_loaders(args, tokenizer, cfg["context_length"])
        config = TrainConfig(
            epochs=args.epochs, max_steps=args.max_steps, lr=args.lr, min_lr=args.min_lr,
            warmup_steps=args.warmup_steps, weight_decay=args.weight_decay, grad_clip=args.grad_clip or None,
            grad_accum_steps=args.grad_accum, eval_every=args.eval_every, checkpoint_every=args.checkpoint_every,
            out_dir=args.out_dir, precision=args.precision, compile=args.compile, seed=args.seed,
            progress=not args.no_progress)
        say(f"{args.preset}: {sum(p.numel() for p in model.parameters()):,} parameters on {dist_info.device} "
            f"x {dist_info.world_size} process(es); tokenizer {tokenizer_name!r}; {len(train_loader)} training and "
            f"{len(val_loader)} validation batches of {args.batch_size} x {train_loader.dataset.input_ids[0].numel()} "
            f"tokens")
        resume = args.out_dir / "last.pth" if args.resume else None
        result = train_model(model, train_loader, val_loader, config, device=dist_info.device,
                             tokenizer_name=tokenizer_name, resume_from=resume)
    except (ValueError, CheckpointError, ResourceError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        cleanup_distributed()
    for entry in result.evals:
        say(f"step {entry['step']:>6}: train loss {entry['train_loss']:.3f}, val loss {entry['val_loss']:.3f}")
    say(f"{result.steps} steps, {result.tokens_seen:,} tokens in {result.seconds:.1f} s "
        f"({result.tokens_per_second:,.0f} tokens/s)" + (f"; checkpoint {result.checkpoint}" if result.checkpoint else ""))
    if dist_info.is_main and torch.cuda.is_available():
        say(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
