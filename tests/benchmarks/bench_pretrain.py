"""Pretraining throughput: the chapters' CPU figure, and the GPU ladder from the teaching set-up to the fastest.

Usage:
    python tests/benchmarks/bench_pretrain.py                        # small-cpu preset, 8 x 256, embedded corpus
    python tests/benchmarks/bench_pretrain.py --ladder --device cuda # GPT-2 124M at 1024 tokens, one row per optimisation
    torchrun --standalone --nproc_per_node 1 tests/benchmarks/bench_pretrain.py --ladder --device cuda --rows fastest
    python tests/benchmarks/bench_pretrain.py --ladder --dry-run     # tiny preset on the CPU, 2 steps: checks it runs

Each row is a full optimizer step (forward, backward, clipping, AdamW) on `--total-batch` tokens, reached by
gradient accumulation over micro-batches of `--micro-batch` x `--seq`. The rows run in alternating turns after
their warm-up (compilation happens there) and the median step is reported: tokens/second, model FLOPs
utilisation (MFU) and the peak memory the row needs on top of what was allocated before it was built.
FLOPs per token = 6 N + 12 L d T (N: parameters without the position embedding; L layers, width d, context T),
the PaLM paper's estimate; MFU divides by `--peak-tflops` (989 = an H100 SXM's dense bf16 peak).
Under torchrun every process runs the same micro-batches count / world size (DDP, gradients synchronised on the
last micro-batch), and tokens/second counts all processes.
"""

from __future__ import annotations

import argparse
import contextlib
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from common import machine_line, median, print_table

from shared import GPTModel, get_config, get_tokenizer, load_corpus
from shared.distributed import cleanup_distributed, init_distributed, is_main_process


@dataclass(frozen=True)
class Row:
    name: str
    sdpa: bool = True
    tf32: bool = False
    bf16: bool = False
    fused_adamw: bool = False
    padded_vocab: bool = False
    compile: bool = False


LADDER = [
    Row("teaching: fp32, explicit attention", sdpa=False),
    Row("+ SDPA (FlashAttention on a GPU)"),
    Row("+ TF32 matmuls", tf32=True),
    Row("+ bf16 autocast", tf32=True, bf16=True),
    Row("+ fused AdamW", tf32=True, bf16=True, fused_adamw=True),
    Row("+ vocabulary padded to a multiple of 64", tf32=True, bf16=True, fused_adamw=True, padded_vocab=True),
    Row("+ torch.compile", tf32=True, bf16=True, fused_adamw=True, padded_vocab=True, compile=True),
]
CHAPTER_ROW = Row("the chapters' set-up: fp32, SDPA, fused AdamW", fused_adamw=True)


def flops_per_token(model: GPTModel, cfg: dict, seq: int) -> float:
    n = sum(p.numel() for p in model.parameters()) - model.pos_emb.weight.numel()
    return 6 * n + 12 * cfg["n_layers"] * cfg["emb_dim"] * seq


class Contender:
    """One row: its model, optimizer and a `step()` that trains on `accum` micro-batches."""

    def __init__(self, row: Row, cfg: dict, batches: list[tuple[torch.Tensor, torch.Tensor]], device: torch.device,
                 world_size: int):
        torch.backends.cuda.matmul.allow_tf32 = row.tf32  # global switches: set again before each step
        if row.padded_vocab:
            cfg = {**cfg, "padded_vocab_size": -(-cfg["vocab_size"] // 64) * 64}
        torch.manual_seed(0)
        self.row, self.batches, self.device = row, batches, device
        self.model = GPTModel(cfg, use_sdpa=row.sdpa).to(device).train()
        self.flops = flops_per_token(self.model, cfg, batches[0][0].shape[1])
        net = self.model
        if world_size > 1:
            net = torch.nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)
        self.net = torch.compile(net) if row.compile else net
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=3e-4, weight_decay=0.1,
                                           fused=row.fused_adamw or None)

    def step(self) -> None:
        torch.backends.cuda.matmul.allow_tf32 = self.row.tf32
        autocast = torch.autocast(self.device.type, dtype=torch.bfloat16) if self.row.bf16 else contextlib.nullcontext()
        for i, (inputs, targets) in enumerate(self.batches):
            last = i == len(self.batches) - 1
            sync = contextlib.nullcontext() if last or not hasattr(self.net, "no_sync") else self.net.no_sync()
            with sync, autocast:
                loss = F.cross_entropy(self.net(inputs).flatten(0, 1).float(), targets.flatten())
            (loss / len(self.batches)).backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def micro_batches(cfg: dict, micro_batch: int, seq: int, count: int, device: torch.device, embedded: bool):
    """`count` (inputs, targets) pairs: windows of the embedded corpus, or random ids for GPT-2's vocabulary."""
    generator = torch.Generator().manual_seed(1)
    if embedded:
        ids = torch.tensor(get_tokenizer("embedded").encode(load_corpus("embedded"), allowed_special="all"))
        starts = torch.randint(0, len(ids) - seq - 1, (count, micro_batch), generator=generator)
        windows = torch.stack([torch.stack([ids[s:s + seq + 1] for s in row]) for row in starts])
    else:
        windows = torch.randint(0, cfg["vocab_size"], (count, micro_batch, seq + 1), generator=generator)
    return [(w[:, :-1].to(device), w[:, 1:].to(device)) for w in windows]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ladder", action="store_true", help="GPT-2 124M, one row per optimisation")
    parser.add_argument("--rows", default="all", help="'all', 'fastest', or row numbers like 1,2,7 (ladder only)")
    parser.add_argument("--preset", default=None, help="default: small-cpu, or GPT-2 124M with --ladder")
    parser.add_argument("--seq", type=int, default=None, help="default: 256, or 1024 with --ladder")
    parser.add_argument("--micro-batch", type=int, default=None, help="default: 8, or 16 with --ladder")
    parser.add_argument("--total-batch", type=int, default=None,
                        help="tokens per optimizer step (default: one micro-batch, or 524,288 with --ladder)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per row")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="for MFU (GPU only)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dry-run", action="store_true", help="tiny preset, CPU, 2 steps per row")
    args = parser.parse_args()
    if args.dry_run:
        args.preset, args.seq, args.micro_batch, args.total_batch = "tiny", 16, 2, 2 * 2 * 16
        args.steps, args.warmup, args.device = 2, 1, "cpu"
    dist = init_distributed(args.device)
    device = dist.device
    preset = args.preset or ("gpt2-small (124M)" if args.ladder else "small-cpu")
    seq = args.seq or (1024 if args.ladder else 256)
    micro = args.micro_batch or (16 if args.ladder else 8)
    total = args.total_batch or (524_288 if args.ladder else micro * seq)
    per_step = micro * seq * dist.world_size
    if total % per_step:
        raise SystemExit(f"--total-batch {total} must be a multiple of micro-batch x seq x processes = {per_step}")
    cfg = get_config(preset, context_length=max(seq, 16), drop_rate=0.0)
    rows = [CHAPTER_ROW]
    if args.ladder:
        rows = LADDER if args.rows == "all" else [LADDER[-1]] if args.rows == "fastest" else \
            [LADDER[int(i) - 1] for i in args.rows.split(",")]
        if device.type != "cuda":  # on a CPU: TF32 does not exist, and compile takes minutes; show what runs
            rows = [r for r in rows if not r.tf32 or r.bf16][: (3 if args.dry_run else None)]
    batches = micro_batches(cfg, micro, seq, total // per_step, device, embedded=preset == "small-cpu")

    contenders, memory = [], []
    for row in rows:
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device) if device.type == "cuda" else 0
        contender = Contender(row, cfg, batches, device, dist.world_size)
        for _ in range(args.warmup):
            contender.step()
        sync(device)
        memory.append((torch.cuda.max_memory_allocated(device) - before) / 2**30 if device.type == "cuda" else None)
        contenders.append(contender)
    times: list[list[float]] = [[] for _ in contenders]
    for _ in range(args.steps):  # alternating turns: a slow moment hurts every row alike
        for i, contender in enumerate(contenders):
            sync(device)
            start = time.perf_counter()
            contender.step()
            sync(device)
            times[i].append(time.perf_counter() - start)

    if is_main_process():
        print(machine_line(device) + (f"; {dist.world_size} processes (torchrun)" if dist.world_size > 1 else ""))
        print(f"{preset}, micro-batch {micro} x {seq}, {total:,} tokens per optimizer step "
              f"({len(batches)} micro-batches per process), {args.steps} alternating steps after {args.warmup} warm-up")
        table = []
        for contender, t, mem in zip(contenders, times, memory):
            tokens_per_s = total / median(t)
            mfu = tokens_per_s * contender.flops / (args.peak_tflops * 1e12) if device.type == "cuda" else None
            table.append([contender.row.name, f"{1e3 * median(t):,.0f}", f"{tokens_per_s:,.0f}",
                          f"{100 * mfu:.1f}%" if mfu is not None else "n/a (CPU)",
                          f"{mem:.1f}" if mem is not None else "n/a"])
        print_table(["set-up", "median ms/step", "tokens/s", "MFU", "peak GiB"], table)
    cleanup_distributed()


if __name__ == "__main__":
    main()
