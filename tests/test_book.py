"""The book as a whole: every notebook is executed by some chapter's tests, committed notebooks are clean,
and the runner and same-as mechanism catch what they are meant to catch."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from equivalence import marked_names
from notebook_checks import execute_notebook
from notebook_runner import (
    REPO_ROOT,
    RUNS_ALONE,
    RUNS_FIRST,
    STARTS_FROM,
    book_name,
    book_notebooks,
    main,
    start_order,
)

ALL_NOTEBOOKS = book_notebooks()


def test_every_chapter_with_notebooks_has_a_test_file_that_runs_them():
    for chapter in sorted({nb.parent.name for nb in ALL_NOTEBOOKS}):
        test_file = REPO_ROOT / "tests" / f"test_{chapter}.py"
        assert test_file.exists(), f"{chapter} has notebooks but no tests/test_{chapter}.py"
        assert re.search(rf'chapter_notebooks\("{chapter}"\)', test_file.read_text()), \
            f"tests/test_{chapter}.py does not execute the {chapter} notebooks"


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_committed_notebook_has_clean_in_order_outputs(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    counts = [c["execution_count"] for c in code]
    assert code and None not in counts, "commit the notebook with the outputs of a full run (python3 tasks.py book --refresh)"
    assert counts == list(range(1, len(counts) + 1)), "cells were run out of order or skipped"
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, f"an error is saved in the outputs: {errors[0]['ename']}"


def test_every_chapter_readme_lists_every_file():
    for chapter in sorted({nb.parent.name for nb in ALL_NOTEBOOKS}):
        folder = REPO_ROOT / chapter
        readme = (folder / "README.md").read_text(encoding="utf-8")
        tracked = [p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md"
                   and not p.name.startswith(".") and p.suffix not in {".pyc"}]
        missing = [name for name in tracked if name not in readme]
        assert not missing, f"{chapter}/README.md does not mention {missing}"


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def test_runner_names_the_failing_cell(tmp_path, capsys):
    path = write_notebook(tmp_path / "broken.ipynb", "x = 1", "raise ValueError('boom')", "y = 2")
    assert main([str(path), "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert "cell 2 of 3 failed" in printed and "boom" in printed and "0 passed, 1 failed" in printed


def test_runner_writes_executed_copy(tmp_path):
    path = write_notebook(tmp_path / "fine.ipynb", "print(6 * 7)")
    assert main([str(path), "--out", str(tmp_path / "out")]) == 0
    executed = nbformat.read(tmp_path / "out" / tmp_path.name / "fine.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    assert nbformat.read(path, as_version=4).cells[0].outputs == []  # the original is untouched


def test_same_as_markers_are_parsed():
    assert marked_names(["# same-as: shared.LayerNorm, shared.GELU\nclass LayerNorm: ...", "x = 1"]) == \
        ["LayerNorm", "GELU"]
    with pytest.raises(ValueError, match="must name shared"):
        marked_names(["# same-as: LayerNorm"])


def test_same_as_without_a_case_fails(tmp_path):
    path = write_notebook(tmp_path / "claims.ipynb", "# same-as: shared.get_device\ndef get_device(): return 'cpu'")
    with pytest.raises(pytest.fail.Exception, match="no same-as case is registered for shared.get_device"):
        execute_notebook(path)


def test_same_as_case_catches_a_wrong_version(tmp_path):
    path = write_notebook(tmp_path / "wrong.ipynb",
                          "# same-as: shared.MultiHeadAttention\n"
                          "from torch import nn\n"
                          "class MultiHeadAttention(nn.Module):\n"
                          "    def __init__(self, d_in, d_out, context_length, dropout, num_heads, qkv_bias=False):\n"
                          "        super().__init__()\n"
                          "        self.W_query = nn.Linear(d_in, d_out, bias=qkv_bias)\n"
                          "        self.W_key = nn.Linear(d_in, d_out, bias=qkv_bias)\n"
                          "        self.W_value = nn.Linear(d_in, d_out, bias=qkv_bias)\n"
                          "        self.out_proj = nn.Linear(d_out, d_out)\n"
                          "    def forward(self, x):\n"
                          "        return self.out_proj(self.W_value(x))  # no attention at all\n")
    with pytest.raises(pytest.fail.Exception, match="same-as checks"):
        execute_notebook(path)


def test_every_shared_module_is_listed_and_names_its_chapter():
    readme = (REPO_ROOT / "shared" / "README.md").read_text(encoding="utf-8")
    for module in sorted((REPO_ROOT / "shared").glob("*.py")):
        if module.name == "__init__.py":
            continue
        assert f"`{module.name}`" in readme, f"shared/README.md does not list {module.name}"
        docstring = module.read_text(encoding="utf-8").split('"""')[1]
        assert re.search(r"Chapter \d|infrastructure", docstring), f"{module.name}'s docstring names no chapter"
        assert "Usage:" in docstring, f"{module.name}'s docstring has no usage line"


def test_tasks_py_is_the_make_free_entry_point(tmp_path):
    """CI runs `python3 tasks.py test` itself (.ci/run); here: usage on a wrong command, make and CI call it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(REPO_ROOT / "tasks.py"), "bake"], capture_output=True, text=True)
    assert done.returncode != 0 and "python tasks.py book" in done.stderr
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "tasks.py book" in makefile and "tasks.py test" in makefile
    assert "python3 tasks.py test" in (REPO_ROOT / ".ci" / "run").read_text()
    # extra arguments reach jupyter lab (`--no-browser --port ...`): --version answers without starting a server
    lab = subprocess.run([sys.executable, str(REPO_ROOT / "tasks.py"), "lab", "--version"], capture_output=True,
                         text=True, timeout=120)
    assert lab.returncode == 0 and re.fullmatch(r"\d+\.\d+\.\d+\S*", lab.stdout.strip().splitlines()[-1]), lab


def test_envcheck_reports_ok_lines_and_fails_for_a_hidden_package(monkeypatch, capsys):
    import importlib.metadata

    from shared import envcheck

    assert envcheck.parse_requirement("torch>=2.2  # CPU wheel") == ("torch", (2, 2))
    assert envcheck.parse_requirement("# a comment") is None
    assert envcheck.version_tuple("2.13.0+cpu") == (2, 13, 0)
    assert envcheck.main([]) == 0
    printed = capsys.readouterr().out
    assert "OK   torch" in printed and "OK   device" in printed and printed.rstrip().endswith("all checks OK")

    real_version = importlib.metadata.version

    def hide_tiktoken(name: str) -> str:
        if name == "tiktoken":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", hide_tiktoken)
    assert envcheck.main(["--quiet"]) == 1
    printed = capsys.readouterr().out
    assert "FAIL tiktoken" in printed and "not installed" in printed and "tasks.py setup" in printed
    assert "OK   torch" not in printed  # --quiet prints the FAIL lines only


def test_envcheck_fails_for_a_missing_book_file_in_book_mode(monkeypatch, tmp_path):
    from shared import envcheck

    for variable in ("LLM_BOOK_DATA", "TIKTOKEN_CACHE_DIR"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("LLM_BOOK_CACHE", str(tmp_path))
    monkeypatch.setenv("LLM_BOOK_OFFLINE", "1")
    monkeypatch.delenv("LLM_BOOK_RESOURCES", raising=False)
    assert envcheck.check_book_file("the-verdict").status == "--"  # optional while book mode is off
    monkeypatch.setenv("LLM_BOOK_RESOURCES", "1")
    line = envcheck.check_book_file("the-verdict")
    assert line.status == "FAIL" and "the-verdict.txt" in line.fix
    data = tmp_path / "data"
    data.mkdir()
    (data / "the-verdict.txt").write_text("not the story")
    monkeypatch.setenv("LLM_BOOK_DATA", str(data))
    line = envcheck.check_book_file("the-verdict")
    assert line.status == "FAIL" and "not a valid copy" in line.detail


MADE_BY = {"load_pretrained_embedded(": "ch05/ch05.ipynb", "load_spam_classifier(": "ch06/ch06.ipynb",
           "load_classifier(": "ch06/ch06.ipynb", "load_instruction_model(": "ch07/ch07.ipynb"}


def test_starts_from_names_the_notebook_that_trains_each_model_a_notebook_loads():
    checked = 0
    for nb in ALL_NOTEBOOKS:
        name, text = book_name(nb), nb.read_text(encoding="utf-8")
        needs = {producer for call, producer in MADE_BY.items() if call in text and producer != name}
        assert needs <= set(STARTS_FROM.get(name, ())), f"{name} loads what {sorted(needs)} train: add to STARTS_FROM"
        checked += len(needs)
    assert checked >= 10
    assert set(STARTS_FROM) <= {book_name(nb) for nb in ALL_NOTEBOOKS}
    order = [book_name(nb) for nb in start_order(ALL_NOTEBOOKS)]
    assert order[:2] == ["ch05/ch05.ipynb", "ch07/ch07.ipynb"] and RUNS_FIRST == set(order[:2])  # the long trainings
    assert set(order[-len(RUNS_ALONE):]) == RUNS_ALONE and RUNS_ALONE <= set(order)
    assert order.index("ch07/exercise-solutions.ipynb") < order.index("ch02/ch02.ipynb")  # long ones early


def test_parallel_book_run_takes_two_at_a_time_and_waits_for_the_model_a_notebook_starts_from(tmp_path, monkeypatch,
                                                                                               capsys):
    # "ch05" trains (a file stands for the checkpoint) and finishes only once "ch02" has started beside it;
    # "ch07" starts from the checkpoint, so it must wait for "ch05" although a worker is free long before;
    # "ch03" measures speed (RUNS_ALONE): it runs last, by itself, with every core
    import notebook_runner

    write_notebook(tmp_path / "ch05" / "ch05.ipynb",
                   "import pathlib, time\n"
                   "deadline = time.monotonic() + 60\n"
                   "while not pathlib.Path('../ch02-started').exists() and time.monotonic() < deadline:\n"
                   "    time.sleep(0.2)\n"
                   "assert pathlib.Path('../ch02-started').exists(), 'ran alone'\n"
                   "time.sleep(1)\n"
                   "pathlib.Path('../checkpoint').write_text('model')")
    write_notebook(tmp_path / "ch02" / "ch02.ipynb",
                   "import os, pathlib\npathlib.Path('../ch02-started').touch()\nprint(os.environ['OMP_NUM_THREADS'])")
    write_notebook(tmp_path / "ch07" / "ch07.ipynb", "import pathlib\nprint(pathlib.Path('../checkpoint').read_text())")
    write_notebook(tmp_path / "ch03" / "ch03.ipynb", "import os\nprint(os.environ['OMP_NUM_THREADS'])")
    monkeypatch.setattr(notebook_runner, "RUNS_ALONE", {"ch03/ch03.ipynb"})
    monkeypatch.setattr(notebook_runner, "RUNS_FIRST", set())
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    chapters = ("ch02", "ch03", "ch05", "ch07")
    paths = [str(tmp_path / ch / f"{ch}.ipynb") for ch in chapters]
    assert main([*paths, "--jobs", "2", "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().out
    printed = capsys.readouterr().out
    assert "4 notebooks, 2 at a time" in printed and "4 passed, 0 failed" in printed
    assert printed.index("ch05.ipynb ok") < printed.index("ch07.ipynb ok") < printed.index("ch03.ipynb ok")
    outputs = {ch: nbformat.read(tmp_path / "out" / ch / f"{ch}.ipynb", as_version=4).cells[-1].outputs[0]["text"]
               for ch in ("ch02", "ch03", "ch07")}
    cores = os.cpu_count() or 1
    assert outputs["ch02"] == f"{max(1, cores // 2)}\n" and outputs["ch03"] == f"{cores}\n"
    assert outputs["ch07"] == "model\n"


def test_a_runs_first_notebook_runs_before_the_others_alone_with_every_core(tmp_path, monkeypatch, capsys):
    # "ch05" (RUNS_FIRST) would see "ch02" start beside it within its 3 seconds if the runner let it
    import notebook_runner

    write_notebook(tmp_path / "ch05" / "ch05.ipynb",
                   "import os, pathlib, time\ntime.sleep(3)\n"
                   "assert not pathlib.Path('../ch02-started').exists(), 'ran beside another notebook'\n"
                   "print(os.environ['OMP_NUM_THREADS'])")
    write_notebook(tmp_path / "ch02" / "ch02.ipynb",
                   "import os, pathlib\npathlib.Path('../ch02-started').touch()\nprint(os.environ['OMP_NUM_THREADS'])")
    monkeypatch.setattr(notebook_runner, "RUNS_FIRST", {"ch05/ch05.ipynb"})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    paths = [str(tmp_path / ch / f"{ch}.ipynb") for ch in ("ch02", "ch05")]
    assert main([*paths, "--jobs", "2", "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().out
    printed = capsys.readouterr().out
    assert printed.index("ch05.ipynb ok") < printed.index("ch02.ipynb ok")
    outputs = {ch: nbformat.read(tmp_path / "out" / ch / f"{ch}.ipynb", as_version=4).cells[-1].outputs[0]["text"]
               for ch in ("ch02", "ch05")}
    cores = os.cpu_count() or 1
    assert outputs["ch05"] == f"{cores}\n" and outputs["ch02"] == f"{max(1, cores // 2)}\n"


def test_two_runs_first_notebooks_run_one_after_the_other_in_starts_from_order(tmp_path, monkeypatch, capsys):
    # "ch07" starts from "ch05"'s model: both run before "ch02", one at a time, each with every core
    import notebook_runner

    for ch, body in (("ch05", "time.sleep(2)\npathlib.Path('../checkpoint').write_text('model')"),
                     ("ch07", "print(pathlib.Path('../checkpoint').read_text())"),
                     ("ch02", "")):
        write_notebook(tmp_path / ch / f"{ch}.ipynb",
                       "import os, pathlib, time\n"
                       "assert not pathlib.Path('../ch02-started').exists(), 'ran beside another notebook'\n"
                       f"pathlib.Path('../{ch}-started').touch()\n{body}\nprint(os.environ['OMP_NUM_THREADS'])")
    monkeypatch.setattr(notebook_runner, "RUNS_FIRST", {"ch05/ch05.ipynb", "ch07/ch07.ipynb"})
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    paths = [str(tmp_path / ch / f"{ch}.ipynb") for ch in ("ch02", "ch05", "ch07")]
    assert main([*paths, "--jobs", "2", "--out", str(tmp_path / "out")]) == 0, capsys.readouterr().out
    printed = capsys.readouterr().out
    assert printed.index("ch05.ipynb ok") < printed.index("ch07.ipynb ok") < printed.index("ch02.ipynb ok")
    cores = os.cpu_count() or 1
    texts = {ch: "".join(o.get("text", "") for o in nbformat.read(
        tmp_path / "out" / ch / f"{ch}.ipynb", as_version=4).cells[-1].outputs) for ch in ("ch05", "ch07")}
    assert texts["ch05"] == f"{cores}\n" and texts["ch07"] == f"model\n{cores}\n"


def test_the_test_lanes_run_each_notebook_after_the_one_that_makes_its_checkpoint():
    """Under `tasks.py test` (two workers, tests/conftest.py) a notebook that starts from a model runs later in
    the same lane as the notebook that trains it, or waits for that notebook; the lanes never wait in a circle."""
    import sys

    import conftest

    sys.path.insert(0, str(REPO_ROOT))
    import tasks

    run_order = sorted(ALL_NOTEBOOKS, key=lambda nb: conftest.RUN_LAST.get(nb.parent.name, 0))
    lanes: dict[str, list[str]] = {"chain": [], "rest": []}
    for nb in run_order:
        name = book_name(nb)
        lanes[conftest._lane(f"tests/test_{nb.parent.name}.py::test_notebook_runs[{nb.name}]")].append(name)
    assert {"ch05/ch05.ipynb", "ch06/lora.ipynb", "ch01/ch01.ipynb"} <= set(lanes["chain"])
    assert {"ch07/ch07.ipynb", "ch02/ch02.ipynb"} <= set(lanes["rest"])
    assert conftest._lane("tests/test_ch06.py::test_the_script_runs_end_to_end") == "rest"
    done: set[str] = set()
    while lanes["chain"] or lanes["rest"]:  # step both lanes as the workers would
        moved = False
        for lane, queue in lanes.items():
            needs = STARTS_FROM.get(queue[0], ()) if queue else ()
            if queue and all(p in done for p in needs if conftest.notebook_lane(p) != lane):
                behind = [p for p in needs if p not in done]
                assert not behind, f"{queue[0]} runs before {behind} in its lane: it would train their model again"
                done.add(queue.pop(0))
                moved = True
        assert moved, f"the lanes wait for each other: {lanes}"
    assert tasks.parallel_options([]) == (["-n", "2", "--dist", "loadgroup"] if (os.cpu_count() or 1) >= 2 else [])
    assert tasks.parallel_options(["-n", "4"]) == [] and tasks.parallel_options(["-p", "no:xdist"]) == []
