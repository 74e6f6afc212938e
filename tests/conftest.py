"""Test-wide settings: headless plotting, import paths, and the `notebook` marker for notebook runs.

`pytest -m "not notebook"` (or `python tasks.py test --quick`) skips the notebook executions: the quick
subset, a few minutes instead of the full suite.
"""

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("MPLBACKEND", "Agg")
# `shared` and the notebook runner import from the checkout itself, editable install or not
for folder in (REPO_ROOT, REPO_ROOT / "tools"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if getattr(item, "originalname", item.name) == "test_notebook_runs":
            item.add_marker(pytest.mark.notebook)
    # Chapter 1 starts from the models Chapters 5-7 train: its notebooks run last, reusing their checkpoints
    # (as `tasks.py book` does), instead of training every model a second time first
    items.sort(key=lambda item: item.path.name == "test_ch01.py" and item.get_closest_marker("notebook") is not None)
