"""Execute a chapter's notebooks from the tests and run their same-as checks.

Usage, in tests/test_chNN.py:
    from notebook_checks import chapter_notebooks, execute_notebook

    @pytest.mark.parametrize("path", chapter_notebooks("ch03"), ids=lambda p: p.name)
    def test_notebook_runs(path):
        execute_notebook(path)
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from equivalence import marked_names
from notebook_runner import NotebookError, chapter_notebooks
from notebook_runner import execute_notebook as _execute

__all__ = ["chapter_notebooks", "execute_notebook", "same_as_names"]
TESTS_DIR = Path(__file__).resolve().parent


def same_as_names(path: Path) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    return marked_names([c.source for c in nb.cells if c.cell_type == "code"])


def execute_notebook(path: Path, timeout: int = 600) -> None:
    """Run the notebook headless; fail the test naming the failing cell; then check its same-as claims."""
    names = same_as_names(path)
    checks = [f"import sys\nsys.path.insert(0, {str(TESTS_DIR)!r})\nimport equivalence\n"
              f"equivalence.check(globals(), {names!r})"] if names else []
    try:
        _execute(path, timeout=timeout, extra_cells=checks)
    except NotebookError as err:
        pytest.fail(str(err), pytrace=False)
