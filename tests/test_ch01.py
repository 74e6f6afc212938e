"""Chapter 1: the top-down notebook, the PyTorch primer and the exercise solutions run, and the chapter's
documents are in place."""

from __future__ import annotations

import re

import pytest
from notebook_checks import chapter_notebooks, execute_notebook
from notebook_runner import REPO_ROOT

CH01 = REPO_ROOT / "ch01"


def test_reading_recommendations_cover_every_chapter():
    text = (CH01 / "reading-recommendations.md").read_text(encoding="utf-8")
    chapters = re.findall(r"^## Chapter (\d)", text, flags=re.MULTILINE)
    assert chapters == [str(n) for n in range(1, 8)]
    entries = re.findall(r"^- \*\*", text, flags=re.MULTILINE)
    assert len(entries) >= 3 * 7, "at least three recommendations per chapter"


def test_chapter_notebooks_exist():
    names = {path.name for path in chapter_notebooks("ch01")}
    assert {"ch01.ipynb", "pytorch-primer.ipynb", "exercise-solutions.ipynb"} <= names


@pytest.mark.parametrize("path", chapter_notebooks("ch01"), ids=lambda p: p.name)
def test_notebook_runs(path):
    execute_notebook(path)
