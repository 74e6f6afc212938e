"""Two trainings at a time with a share of the cores each, against one with every core: the book runner's choice.

Usage:
    python tests/benchmarks/bench_parallel_training.py               # small-cpu preset, 8 x 256, 3 rounds
    python tests/benchmarks/bench_parallel_training.py --rounds 5 --steps 30 --jobs 2
    python tests/benchmarks/bench_parallel_training.py --dry-run     # 1 round, 1 step of 8 x 32: checks it runs

`tasks.py book` and `tasks.py test` run two notebooks at a time, each process with cpu_count // 2 threads
(OMP_NUM_THREADS). This measures what that buys on the chapters' workload: the small-cpu preset's training
step (forward, backward, AdamW) on windows of the embedded corpus. A round runs both layouts, in turns:
"alone" is one process with every core's thread; "side by side" is `--jobs` processes with their share each,
timed from the moment all of them have warmed up. The table gives the medians over the rounds: tokens per
second of all processes together, and per process (what one notebook sees).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import machine_line, median, print_table


def worker(args: argparse.Namespace) -> None:
    """One training process: warm up, wait for the others at the barrier, time `--steps` steps, print JSON."""
    import torch
    from bench_pretrain import CHAPTER_ROW, Contender, micro_batches

    from shared import get_config

    cfg = get_config("small-cpu")
    batches = micro_batches(cfg, args.micro_batch, args.seq, 1, torch.device("cpu"), embedded=True)
    contender = Contender(CHAPTER_ROW, cfg, batches, torch.device("cpu"), world_size=1)
    for _ in range(2):
        contender.step()
    barrier = Path(args.barrier)
    (barrier / f"ready-{os.getpid()}").touch()
    while len(list(barrier.glob("ready-*"))) < args.expect:
        time.sleep(0.01)
    start = time.perf_counter()
    for _ in range(args.steps):
        contender.step()
    seconds = time.perf_counter() - start
    print(json.dumps({"threads": torch.get_num_threads(), "tokens": args.steps * args.micro_batch * args.seq,
                      "seconds": seconds}))


def run_layout(processes: int, threads: int, args: argparse.Namespace) -> tuple[float, float]:
    """Start `processes` workers with `threads` threads each; (tokens/s of all together, tokens/s per process)."""
    with tempfile.TemporaryDirectory() as barrier:
        command = [sys.executable, __file__, "--worker", "--barrier", barrier, "--expect", str(processes),
                   "--steps", str(args.steps), "--micro-batch", str(args.micro_batch), "--seq", str(args.seq)]
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        running = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env) for _ in range(processes)]
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in running]
    assert all(r["threads"] == threads for r in results), results
    per_process = [r["tokens"] / r["seconds"] for r in results]
    return sum(per_process), median(per_process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2, help="processes side by side (default: 2, as the runner)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per process and round")
    parser.add_argument("--micro-batch", type=int, default=8)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--dry-run", action="store_true", help="1 round of 1 step on 8 x 32 tokens")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--barrier", help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.dry_run:
        args.rounds, args.steps, args.seq = 1, 1, 32

    cores = os.cpu_count() or 1
    layouts = {f"alone: 1 process x {cores} threads": (1, cores),
               f"side by side: {args.jobs} processes x {max(1, cores // args.jobs)} threads": (args.jobs,
                                                                                            max(1, cores // args.jobs))}
    print(machine_line("cpu"))
    print(f"small-cpu preset, batch {args.micro_batch} x {args.seq}, {args.steps} steps per process, "
          f"{args.rounds} rounds, layouts in turns, medians over the rounds")
    totals: dict[str, list[float]] = {name: [] for name in layouts}
    singles: dict[str, list[float]] = {name: [] for name in layouts}
    for _ in range(args.rounds):
        for name, (processes, threads) in layouts.items():
            total, single = run_layout(processes, threads, args)
            totals[name].append(total)
            singles[name].append(single)
    alone = median(next(iter(totals.values())))
    print_table(["layout", "tokens/s, all", "tokens/s, each", "work done vs alone"],
                [[name, f"{median(totals[name]):,.0f}", f"{median(singles[name]):,.0f}",
                  f"{median(totals[name]) / alone:.2f}x"] for name in layouts])


if __name__ == "__main__":
    main()
