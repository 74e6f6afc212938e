"""Shared by the benchmark scripts: what machine this is, alternating timed runs, medians, a result table.

Usage (from a benchmark script in this folder):
    from common import alternate, machine_line, print_table
    times = alternate({"ours": step_a, "hf": step_b}, repeats=7, warmup=2)   # name -> seconds per run
    print_table(["contender", "median ms"], [[name, f"{1e3 * median(t):.1f}"] for name, t in times.items()])

Timing rules (a busy machine makes single timings meaningless): every contender is warmed up first, then
the contenders run in turns (A, B, A, B, ...) so that a slow moment hurts all of them alike, CUDA work is
synchronised before a clock is read, and the median (not the mean or the best) is reported.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable

import torch


def machine_line(device: torch.device | str = "cpu") -> str:
    device = torch.device(device)
    if device.type == "cuda":
        what = torch.cuda.get_device_name(device)
    else:
        what = f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads of {os.cpu_count()} CPUs"
    return f"device: {device} ({what}); torch {torch.__version__}; {time.strftime('%Y-%m-%d')}"


def sync(device: torch.device | str = "cpu") -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def alternate(contenders: dict[str, Callable[[], object]], repeats: int, warmup: int = 1,
              device: torch.device | str = "cpu") -> dict[str, list[float]]:
    """Seconds per call of each contender, measured in alternating turns after `warmup` untimed calls each."""
    for fn in contenders.values():
        for _ in range(warmup):
            fn()
        sync(device)
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(repeats):
        for name, fn in contenders.items():
            sync(device)
            start = time.perf_counter()
            fn()
            sync(device)
            times[name].append(time.perf_counter() - start)
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in column) for column in zip(headers, *rows)]
    line = lambda cells: "  ".join(str(c).rjust(w) if i else str(c).ljust(w)  # noqa: E731
                                   for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print(line(row))
