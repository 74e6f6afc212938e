"""Test-wide settings: headless plotting, import paths, the `notebook` marker, and two lanes under `-n 2`.

`pytest -m "not notebook"` (or `python tasks.py test --quick`) skips the notebook executions: the quick
subset, a few minutes instead of the full suite.

`python tasks.py test` runs pytest in two worker processes (pytest-xdist: `-n 2 --dist loadgroup`), each
with half of the cores, in two lanes:
- "chain": the notebooks that start from one another's checkpoints, in book order: Chapter 5 (pretrains the
  model), Chapter 6 (fine-tunes it into the classifier), Chapter 1 (uses every model);
- "rest": everything else, Chapter 7's notebooks last.
A notebook that starts from a model trained in the other lane (`STARTS_FROM` in tools/notebook_runner.py)
waits until that notebook has run, instead of training the same model a second time. Plain `pytest` runs
everything in one process.
"""

import os
import sys
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
# `shared` and the notebook runner import from the checkout itself, editable install or not
for folder in (REPO_ROOT, REPO_ROOT / "tools"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    # each worker (and the notebook kernels and scripts it starts) takes its share of the cores: two trainings
    # with a thread each get through about 1.4 times the work of one with two threads, while two with two
    # threads each get in each other's way (measured: no faster than one lane after the other)
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // workers)))

from notebook_runner import STARTS_FROM, book_name  # noqa: E402 — tools/ is on the path from here on

CHAIN_LANE = ("ch05", "ch06", "ch01")
# Chapter 1 starts from the models Chapters 5-7 train: its notebooks run last, reusing their checkpoints (as
# `tasks.py book` does); Chapter 7's just before, so that Chapter 5's model is there by then
RUN_LAST = {"ch07": 1, "ch01": 2}
WAIT_LIMIT_S = 1800  # then the notebook goes ahead and builds the checkpoint itself


def _notebook(item: pytest.Item) -> Path | None:
    """The notebook a `test_notebook_runs` item executes, or None for any other test."""
    if getattr(item, "originalname", item.name) != "test_notebook_runs":
        return None
    return Path(item.callspec.params["path"])


def _order(item: pytest.Item) -> int:
    notebook = _notebook(item)
    return RUN_LAST.get(notebook.parent.name, 0) if notebook else 0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _notebook(item):
            item.add_marker(pytest.mark.notebook)
    items.sort(key=_order)


def notebook_lane(name: str) -> str:
    """The lane of a notebook run, by its STARTS_FROM name ("ch05/ch05.ipynb")."""
    return "chain" if name.split("/")[0] in CHAIN_LANE else "rest"


def _lane(nodeid: str) -> str:
    """"chain" for the notebook runs of the chapters in CHAIN_LANE, "rest" for every other test id."""
    file, _, test = nodeid.partition("::")
    chapter = Path(file).stem.removeprefix("test_")
    return notebook_lane(f"{chapter}/") if test.startswith("test_notebook_runs[") else "rest"


try:
    from xdist.scheduler import LoadScopeScheduling
except ImportError:  # pytest-xdist not installed: one process, no lanes
    LoadScopeScheduling = None

if LoadScopeScheduling is not None:
    class LaneScheduling(LoadScopeScheduling):
        """`--dist loadgroup` with the two lanes as the groups: one worker each, tests in collection order."""

        def _split_scope(self, nodeid: str) -> str:
            return _lane(nodeid)

    @pytest.hookimpl(optionalhook=True)  # `pytest -p no:xdist` has no such hook
    def pytest_xdist_make_scheduler(config: pytest.Config, log):
        return LaneScheduling(config, log) if config.getvalue("dist") == "loadgroup" else None


@pytest.fixture(autouse=True)
def _lanes_wait_for_checkpoints(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Under xdist: wait for the other lane's notebook this one starts from; a producer says when it is done."""
    notebook = _notebook(request.node)
    if not (XDIST_WORKER and notebook):
        yield
        return
    markers = tmp_path_factory.getbasetemp().parent  # one folder for all the workers of this run
    name = book_name(notebook)
    scheduled = {book_name(nb) for nb in map(_notebook, request.session.items) if nb}
    producers = [p for p in STARTS_FROM.get(name, ()) if p in scheduled and notebook_lane(p) != notebook_lane(name)]
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not all((markers / _marker_name(p)).exists() for p in producers) and time.monotonic() < deadline:
        time.sleep(2)
    yield
    if any(name in needed for needed in STARTS_FROM.values()):
        (markers / _marker_name(name)).touch()  # passed or failed: the waiting lane goes on


def _marker_name(notebook_name: str) -> str:
    return "done-" + notebook_name.replace("/", "__")
