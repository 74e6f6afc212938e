"""Run the book's notebooks headless, in book order (infrastructure for `tasks.py book` and the tests).

Usage:
    python tools/notebook_runner.py                 # every notebook; executed copies go to out/notebooks/
    python tools/notebook_runner.py --refresh ch03  # execute and write the outputs back into ch03's notebooks
    python tools/notebook_runner.py ch02/ch02.ipynb --timeout 300 --jobs 1

Each notebook runs in a fresh Python kernel whose working directory is the notebook's folder, so it
sees the same files a learner sees in JupyterLab; the repository root is put on the kernel's PYTHONPATH,
so `import shared` works with or without an editable install. A progress line is printed per notebook
and a table at the end; the exit status is 1 if any notebook failed.

On two cores or more, two notebooks run at a time (`--jobs 2`), each in its own process with its share of
the cores (OMP_NUM_THREADS), and a notebook that starts from a model another one trains (STARTS_FROM) waits
until that one has finished. Two trainings with one thread each get through more work than one with two
(tests/benchmarks/bench_parallel_training.py). Chapter 5's pretraining, which most of the book starts from,
runs first and alone with every core (RUNS_FIRST); the notebooks that measure speed (RUNS_ALONE) run last,
one at a time, with every core.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent  # this file is tools/notebook_runner.py
# Chapter 1 starts top-down from the models Chapters 5-7 train, so the whole-book run does it last and it
# reuses their checkpoints (run first on a fresh machine, it builds them itself).
CHAPTERS = [f"ch{n:02d}" for n in range(2, 8)] + ["ch01"]
# notebook -> the notebooks that train and save (under checkpoints/) the models it starts from; each one
# builds a missing model itself, so this only orders parallel runs (here and in tests/conftest.py)
STARTS_FROM = {
    "ch05/exercise-solutions.ipynb": ("ch05/ch05.ipynb",),
    "ch06/ch06.ipynb": ("ch05/ch05.ipynb",),
    "ch06/lora.ipynb": ("ch05/ch05.ipynb",),
    "ch06/exercise-solutions.ipynb": ("ch05/ch05.ipynb",),
    "ch06/load-finetuned-model.ipynb": ("ch06/ch06.ipynb",),
    "ch07/ch07.ipynb": ("ch05/ch05.ipynb",),
    "ch07/exercise-solutions.ipynb": ("ch05/ch05.ipynb",),
    "ch07/load-finetuned-model.ipynb": ("ch07/ch07.ipynb",),
    "ch01/ch01.ipynb": ("ch05/ch05.ipynb", "ch06/ch06.ipynb", "ch07/ch07.ipynb"),
}
# notebooks that time one way of computing against another: a parallel run gives them the machine to
# themselves, with every core (their figures would measure the other notebook's load otherwise)
RUNS_ALONE = {"ch03/efficient-attention.ipynb", "ch04/kv-cache.ipynb", "ch04/exercise-solutions.ipynb",
              "ch05/training-extras.ipynb"}
# the long trainings that others wait for: they run first, alone, with every core, one after the other in
# STARTS_FROM order (the notebooks that do not wait for Chapter 5 are too short to keep a second core busy
# while it trains, one training with two threads finishes in about 60% of the time of one with a single
# thread, and Chapter 7's fine-tuning stays within five minutes only so)
RUNS_FIRST = {"ch05/ch05.ipynb", "ch07/ch07.ipynb"}


class NotebookError(RuntimeError):
    """A notebook cell raised: names the notebook, the cell number and the error."""


@dataclass
class RunResult:
    path: Path
    ok: bool
    seconds: float
    error: str = ""


def _display(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def book_name(path: Path) -> str:
    """A notebook's name as STARTS_FROM writes it: "ch05/ch05.ipynb"."""
    return f"{path.parent.name}/{path.name}"


def _notebook_order(path: Path) -> tuple[int, str]:
    # the chapter's main notebook first, the exercise solutions last, the rest alphabetically between
    if path.stem == path.parent.name:
        return (0, path.name)
    if path.stem == "exercise-solutions":
        return (2, path.name)
    return (1, path.name)


def chapter_notebooks(chapter: str) -> list[Path]:
    """The notebooks of one chapter folder (e.g. "ch03") in reading order."""
    folder = REPO_ROOT / chapter
    return sorted(folder.glob("*.ipynb"), key=_notebook_order)


def book_notebooks(selection: list[str] | None = None) -> list[Path]:
    """All notebooks in chapter order, or those named by `selection` (chapter folders or notebook paths)."""
    if not selection:
        return [nb for chapter in CHAPTERS for nb in chapter_notebooks(chapter)]
    found: list[Path] = []
    for item in selection:
        path = Path(item)
        path = path if path.is_absolute() else (Path.cwd() / path)
        if path.is_dir():
            found.extend(chapter_notebooks(path.name) if path.parent == REPO_ROOT else sorted(path.glob("*.ipynb")))
        elif path.suffix == ".ipynb" and path.exists():
            found.append(path.resolve())
        else:
            raise SystemExit(f"error: {item} is neither a chapter folder nor an existing .ipynb file")
    return found


def execute_notebook(path: Path, timeout: int = 600, extra_cells: list[str] | None = None):
    """Execute a notebook top to bottom in a fresh kernel and return the executed notebook.

    `extra_cells` are run after the notebook's own cells (the tests use this for the same-as checks);
    they are not part of the returned notebook. Raises `NotebookError` naming the failing cell.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    n_own = len(nb.cells)
    nb.cells.extend(nbformat.v4.new_code_cell(src) for src in (extra_cells or []))
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False, coalesce_streams=True,
                            resources={"metadata": {"path": str(path.parent)}})
    python_path = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # the kernel's own stderr only carries start-up chatter; cell errors arrive through the client
    with client.setup_kernel(stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": python_path}):
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as err:
                where = f"cell {index + 1} of {n_own}" if index < n_own else "the same-as checks after the last cell"
                raise NotebookError(f"{_display(path)}: {where} failed:\n{err}") from None
    del nb.cells[n_own:]
    return nb


def _save(nb, path: Path, refresh: bool, out_dir: Path) -> None:
    import nbformat

    target = path if refresh else out_dir / path.parent.name / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, target)


def run_book(paths: list[Path], refresh: bool, out_dir: Path, timeout: int) -> list[RunResult]:
    """Run the notebooks one after the other in this process, in the order given."""
    results = []
    for i, path in enumerate(paths, 1):
        print(f"[{i}/{len(paths)}] {_display(path)} ...", end=" ", flush=True)
        start = time.perf_counter()
        try:
            _save(execute_notebook(path, timeout=timeout), path, refresh, out_dir)
        except Exception as err:  # noqa: BLE001 — any failure is reported, then the run goes on
            results.append(RunResult(path, False, time.perf_counter() - start, str(err)))
            print(f"FAILED ({results[-1].seconds:.1f} s)\n{err}", flush=True)
            continue
        results.append(RunResult(path, True, time.perf_counter() - start))
        print(f"ok ({results[-1].seconds:.1f} s)", flush=True)
    return results


def start_order(paths: list[Path]) -> list[Path]:
    """The order free workers take notebooks in: RUNS_FIRST, then the ones others start from, then the later
    chapters (the long trainings, so that no long notebook is left to run alone at the end), then reading
    order; the RUNS_ALONE ones after all the others."""
    dependants = Counter(req for path in paths for req in STARTS_FROM.get(book_name(path), ()))
    chapter = {path: int(path.parent.name[2:]) if path.parent.name[2:].isdigit() else 0 for path in paths}
    return sorted(paths, key=lambda p: (book_name(p) not in RUNS_FIRST, book_name(p) in RUNS_ALONE,
                                        -dependants[book_name(p)], -chapter[p], _notebook_order(p)))


def _run_in_subprocess(path: Path, refresh: bool, out_dir: Path, timeout: int, env: dict) -> RunResult:
    command = [sys.executable, __file__, str(path), "--jobs", "1", "--timeout", str(timeout), "--out", str(out_dir)]
    start = time.perf_counter()
    done = subprocess.run(command + (["--refresh"] if refresh else []), capture_output=True, text=True, env=env,
                          cwd=REPO_ROOT)
    # on failure the child's progress line says where; its final table is left out
    error = "" if done.returncode == 0 else (done.stdout.split("\nnotebook ")[0] + done.stderr).strip()
    return RunResult(path, done.returncode == 0, time.perf_counter() - start, error)


def run_book_parallel(paths: list[Path], refresh: bool, out_dir: Path, timeout: int, jobs: int) -> list[RunResult]:
    """Run the notebooks `jobs` at a time, each in its own process with its share of the cores, a notebook
    only once the STARTS_FROM notebooks it needs (of those selected) have finished, a RUNS_FIRST or RUNS_ALONE
    one with nothing beside it and every core; results in `paths` order."""
    cores = os.cpu_count() or 1
    shared_env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, cores // jobs)))}
    alone_env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(cores))}
    print(f"{len(paths)} notebooks, {jobs} at a time, OMP_NUM_THREADS={shared_env['OMP_NUM_THREADS']} each "
          f"({alone_env['OMP_NUM_THREADS']} for those that run alone)", flush=True)
    selected = {book_name(path) for path in paths}
    pending, running, finished, results = start_order(paths), set(), set(), {}
    changed = threading.Condition()

    def ready(path: Path) -> bool:
        alone = book_name(path) in RUNS_ALONE | RUNS_FIRST
        if running & (RUNS_ALONE | RUNS_FIRST) or (alone and running):
            return False
        if book_name(path) not in RUNS_FIRST and any(book_name(other) in RUNS_FIRST for other in pending):
            return False  # nothing else starts before the RUNS_FIRST notebooks
        return all(req in finished or req not in selected for req in STARTS_FROM.get(book_name(path), ()))

    def worker() -> None:
        while True:
            with changed:
                changed.wait_for(lambda: not pending or any(map(ready, pending)))
                if not pending:
                    return
                path = next(filter(ready, pending))
                pending.remove(path)
                running.add(book_name(path))
            env = alone_env if book_name(path) in RUNS_ALONE | RUNS_FIRST else shared_env
            result = _run_in_subprocess(path, refresh, out_dir, timeout, env)
            with changed:
                running.discard(book_name(path))
                results[path] = result
                finished.add(book_name(path))  # failed too: what waits for it goes ahead and builds the model
                status = "ok" if result.ok else f"FAILED\n{result.error}"
                print(f"[{len(results)}/{len(paths)}] {_display(path)} {status} ({result.seconds:.1f} s)", flush=True)
                changed.notify_all()

    workers = [threading.Thread(target=worker) for _ in range(jobs)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return [results[path] for path in paths]


def print_table(results: list[RunResult], wall_seconds: float) -> None:
    width = max([len(_display(r.path)) for r in results] + [8])
    print(f"\n{'notebook':<{width}}  status  seconds")
    for r in results:
        print(f"{_display(r.path):<{width}}  {'ok' if r.ok else 'FAILED':<6}  {r.seconds:7.1f}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed in {wall_seconds:.0f} s"
          f" (the notebooks' own times add up to {sum(r.seconds for r in results):.0f} s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="chapter folders or notebooks (default: the whole book)")
    parser.add_argument("--refresh", action="store_true", help="write the outputs back into the notebooks")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "out" / "notebooks",
                        help="folder for the executed copies (default: out/notebooks)")
    parser.add_argument("--timeout", type=int, default=900, help="seconds allowed per cell")
    parser.add_argument("--jobs", type=int, default=2 if (os.cpu_count() or 1) >= 2 else 1,
                        help="notebooks run at a time (default: 2 on two cores or more)")
    args = parser.parse_args(argv)

    paths = book_notebooks(args.paths)
    if not paths:
        print("no notebooks found")
        return 1
    start = time.perf_counter()
    if args.jobs > 1 and len(paths) > 1:
        results = run_book_parallel(paths, args.refresh, args.out, args.timeout, args.jobs)
    else:
        results = run_book(paths, args.refresh, args.out, args.timeout)
    print_table(results, time.perf_counter() - start)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
