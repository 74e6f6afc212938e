"""Notebook-vs-shared equality: a notebook cell that defines the final version of a `shared` object
starts with a marker line, and a registered case proves the two behave the same.

Usage, in a notebook cell:
    # same-as: shared.MultiHeadAttention          (or shared.classifier.calc_loss_batch: a module-level name)
    class MultiHeadAttention(nn.Module): ...

and in tests/cases_chNN.py:
    from equivalence import same_as_case, same_as_self_check, self_check

    same_as_self_check("LayerNorm", "GELU")   # the case is the learner-facing self-check (shared.selfcheck)

    @same_as_case("MultiHeadAttention")
    def _(notebook_cls, shared_cls):
        self_check(notebook_cls, "MultiHeadAttention")
        ...  # then what only the tests ask for

`notebook_checks.execute_notebook` runs the cases inside the notebook's kernel after its last cell.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

MARKER = re.compile(r"^#\s*same-as:\s*(.+?)\s*$")
CASES: dict[str, Callable[[Any, Any], None]] = {}


def same_as_case(name: str) -> Callable:
    """Register the equality check for `shared.<name>`."""
    def register(fn: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        if name in CASES:
            raise ValueError(f"two same-as cases are registered for shared.{name}")
        CASES[name] = fn
        return fn
    return register


def marked_names(cell_sources: list[str]) -> list[str]:
    """The `shared` names claimed by `# same-as:` markers on the first line of the given cells."""
    names = []
    for source in cell_sources:
        first_line = source.lstrip().split("\n", 1)[0]
        match = MARKER.match(first_line)
        if match:
            for item in match.group(1).split(","):
                item = item.strip()
                if not item.startswith("shared."):
                    raise ValueError(f"same-as marker must name shared.<name>, got {item!r}")
                names.append(item.removeprefix("shared."))
    return names


def load_cases() -> None:
    for path in sorted(Path(__file__).parent.glob("cases_ch*.py")):
        importlib.import_module(path.stem)


def check(namespace: dict[str, Any], names: list[str]) -> None:
    """Run the case of every name against the notebook's object and the shared one (raises on a mismatch)."""
    load_cases()
    for name in names:
        module_path, _, short_name = f"shared.{name}".rpartition(".")  # "classifier.calc_loss_batch" works too
        if name not in CASES:
            raise AssertionError(f"no same-as case is registered for shared.{name}: add one to tests/cases_chNN.py")
        if short_name not in namespace:
            raise AssertionError(f"the notebook claims to define {short_name} (same-as marker) but never does")
        module = importlib.import_module(module_path)
        if not hasattr(module, short_name):
            raise AssertionError(f"{module_path} has no {short_name} to compare the notebook's version with")
        CASES[name](namespace[short_name], getattr(module, short_name))
        print(f"same-as shared.{name}: ok")


# --- helpers for the cases -------------------------------------------------------------------------------


def copy_weights(notebook_module, shared_module) -> None:
    """Give the shared module the notebook module's weights; the parameter names must be the same."""
    notebook_state = notebook_module.state_dict()
    assert notebook_state.keys() == shared_module.state_dict().keys(), "parameter names differ"
    shared_module.load_state_dict(notebook_state)


def self_check(candidate, name: str) -> None:
    """The learner-facing self-check of `candidate` against shared.<name>; a failure raises an AssertionError
    whose message is the check's report (what differs, and the hint for a recognised mistake)."""
    from shared.selfcheck import check as run_self_check

    run_self_check(candidate, name, verbose=False, raise_on_failure=True)


def same_as_self_check(*names: str) -> None:
    """Register, for each name, a same-as case that is exactly the self-check."""
    for name in names:
        same_as_case(name)(lambda notebook_obj, shared_obj, name=name: self_check(notebook_obj, name))
