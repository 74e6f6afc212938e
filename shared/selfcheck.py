"""Check your own implementation: run a class or function you wrote against the `shared` one (Chapter 2).

Usage:
    from shared.selfcheck import check
    check(MultiHeadAttention)                   # the name comes from the class; prints one line per check
    check(MyAttention, "MultiHeadAttention")    # or name the shared object yours should behave like
    result = check(LayerNorm, verbose=False)    # a SelfCheckResult: truthy when every check passed
    check(GELU, raise_on_failure=True)          # raise SelfCheckFailed (an AssertionError) on a failure

A check builds your object and the `shared` reference the same way, gives both the same weights, runs them
on the same seeded inputs (eval mode, and training mode with the same seed where dropout matters) and
prints ✓ or ✗ per check. A ✗ says what differs (shape, first differing position, largest difference). When
your result equals the reference with one typical mistake put in on purpose (no 1/√d_k scaling, softmax
over the wrong dimension, unbiased variance, ...), it names that mistake and its fix; otherwise it does
not guess. `available_checks()` lists what can be checked; the checks themselves live in
`selfcheck_ch02.py` to `selfcheck_ch04.py`.

A later chapter adds checks in its own module `shared/selfcheck_chNN.py`, which is found automatically:

    from shared.selfcheck import Checker, register_check

    @register_check("calc_loss_batch", chapter=5)
    def check_calc_loss_batch(candidate, checker: Checker) -> None:
        inputs, targets, model = ...                    # small and seeded
        got = checker.outcome(candidate, inputs, targets, model, "cpu")   # a value, or the error it raised
        checker.compare("loss of one batch", got, shared.calc_loss_batch(inputs, targets, model, "cpu"),
                        variants={"the targets are not flattened: ...": lambda: wrong_loss(...)})

For a module (a `SpamClassifier`, say), `shared.selfcheck_modules` builds yours with the reference's
weights and compares outputs in eval and training mode: `build_like`, `compare_outputs`.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import torch
from torch import nn

SEED = 123
TOLERANCE = 1e-5


# --- results --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Raised:
    """An exception raised by your code, kept as a value so it can be compared and reported."""

    type_name: str
    message: str
    where: str = field(default="", compare=False)  # the line of your code that raised it

    def __str__(self) -> str:
        return f"raised {self.type_name}: {self.message}" + (f" ({self.where})" if self.where else "")


@dataclass
class CheckLine:
    label: str
    passed: bool
    detail: str = ""
    hints: tuple[str, ...] = ()

    def render(self, hints_shown: set[str]) -> str:
        """The line, then each hint not already in `hints_shown` (which it adds them to)."""
        text = f"  {'✓' if self.passed else '✗'} {self.label}" + (f": {self.detail}" if self.detail else "")
        new_hints = [hint for hint in self.hints if hint not in hints_shown]
        hints_shown.update(new_hints)
        return "\n".join([text] + [f"      hint: {hint}" for hint in new_hints])


@dataclass
class SelfCheckResult:
    """The outcome of `check`: one `CheckLine` per check; truthy when every check passed."""

    name: str
    lines: list[CheckLine]

    def __bool__(self) -> bool:
        return bool(self.lines) and all(line.passed for line in self.lines)

    @property
    def hints(self) -> list[str]:
        """Every hint, once, in the order they first appear."""
        return list(dict.fromkeys(hint for line in self.lines for hint in line.hints))

    def summary(self) -> str:
        failed = sum(not line.passed for line in self.lines)
        if not failed:
            return f"{self.name}: all {len(self.lines)} checks passed" if len(self.lines) > 1 else \
                f"{self.name}: the check passed"
        return f"{self.name}: {failed} of {len(self.lines)} checks failed"

    def __str__(self) -> str:
        hints_shown: set[str] = set()  # a hint is printed under the first line it explains
        return "\n".join([f"Checking your {self.name} against shared.{self.name}"]
                         + [line.render(hints_shown) for line in self.lines] + [self.summary()])

    def __repr__(self) -> str:
        return f"<SelfCheckResult {self.summary()}>"


class SelfCheckFailed(AssertionError):
    """Raised by `check(..., raise_on_failure=True)`; the message is the whole report."""


class _StopCheck(Exception):
    """Ends a check early: what follows cannot run (your object could not be built, say)."""


# --- comparing ------------------------------------------------------------------------------------------


def same(got: Any, expected: Any, tol: float = TOLERANCE) -> bool:
    """Equal values: tensors of one shape within `tol` (NaN equals NaN), sequences item by item."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
            return False
        if expected.is_floating_point() or got.is_floating_point():
            return torch.allclose(got.double(), expected.double(), rtol=tol, atol=tol, equal_nan=True)
        return torch.equal(got, expected)
    if isinstance(expected, (list, tuple)):
        return (isinstance(got, (list, tuple)) and len(got) == len(expected)
                and all(same(g, e, tol) for g, e in zip(got, expected)))
    return type(got) is type(expected) and got == expected


def _short(value: Any, limit: int = 70) -> str:
    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    text = f"{value:.4g}" if isinstance(value, float) else repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _first_difference(got: torch.Tensor, expected: torch.Tensor, tol: float) -> list[int]:
    close = torch.isclose(got.double(), expected.double(), rtol=tol, atol=tol, equal_nan=True)
    return torch.nonzero(~close)[0].tolist()


def describe_difference(got: Any, expected: Any, tol: float = TOLERANCE) -> str:
    """What differs between `got` (yours) and `expected`, in one phrase."""
    if isinstance(got, Raised):
        return str(got)
    if isinstance(expected, Raised):
        return f"returned {_short(got)}, expected a {expected.type_name}"
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"returned {type(got).__name__}, expected a tensor of shape {tuple(expected.shape)}"
        if got.shape != expected.shape:
            return f"shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
        index = _first_difference(got, expected, tol)
        at = tuple(index)
        max_diff = (got.double() - expected.double()).abs().nan_to_num(nan=float("inf")).max().item()
        return (f"first difference at {list(index)}: yours {_short(got[at])}, expected {_short(expected[at])}; "
                f"max abs difference {max_diff:.3g}")
    if isinstance(expected, str) and isinstance(got, str):
        i = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b), min(len(got), len(expected)))
        around = slice(max(0, i - 15), i + 15)
        return f"differs at character {i}: yours {got[around]!r}, expected {expected[around]!r}"
    if isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        i = next((i for i, (g, e) in enumerate(zip(got, expected)) if not same(g, e, tol)), None)
        length = "" if len(got) == len(expected) else f"{len(got)} items, expected {len(expected)}"
        if i is None:
            return length
        item = f"item {i}: yours {_short(got[i])}, expected {_short(expected[i])}"
        return f"{length}; first difference at {item}" if length else item
    return f"yours {_short(got)}, expected {_short(expected)}"


def _where(error: BaseException) -> str:
    """The innermost line of the traceback that is the learner's: not in this library, in Python or in an
    installed package (torch, tiktoken, ...)."""
    library = [Path(__file__).parent] + [Path(sysconfig.get_paths()[key]) for key in ("stdlib", "purelib", "platlib")]
    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not any(Path(f.filename).is_relative_to(folder) for folder in library)]
    if not frames:
        return ""
    frame = frames[-1]
    return f"in {frame.name}, line {frame.lineno}: {frame.line}" if frame.line else f"in {frame.name}"


# --- the checker ----------------------------------------------------------------------------------------


class Checker:
    """Collects the lines of one self-check; runs the learner's code so that its errors become lines."""

    def __init__(self) -> None:
        self.lines: list[CheckLine] = []

    def passed(self, label: str, detail: str = "") -> None:
        self.lines.append(CheckLine(label, True, detail))

    def failed(self, label: str, detail: str, hints: tuple[str, ...] = ()) -> None:
        self.lines.append(CheckLine(label, False, detail, tuple(hints)))

    def stop(self, label: str, detail: str, hints: tuple[str, ...] = ()) -> NoReturn:
        self.failed(label, detail, hints)
        raise _StopCheck

    def outcome(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`, or the `Raised` exception it threw."""
        try:
            return fn(*args, **kwargs)
        except Exception as error:  # the learner's code may raise anything
            first_line = (str(error).strip().splitlines() or [""])[0]
            return Raised(type(error).__name__, first_line, _where(error))

    def call(self, label: str, fn: Callable, *args: Any, hint: str = "", **kwargs: Any) -> Any:
        """`fn(*args, **kwargs)`; if it raises, a failed line (with `hint`) ends the check."""
        result = self.outcome(fn, *args, **kwargs)
        if isinstance(result, Raised):
            self.stop(label, str(result), (hint,) if hint else ())
        return result

    def compare(self, label: str, got: Any, expected: Any, variants: Mapping[str, Callable[[], Any]] | None = None,
                tol: float = TOLERANCE, locate: Callable[[], str | None] | None = None) -> bool:
        """One line: ✓ if `got` equals `expected`; else what differs, and the hint of each variant (the
        reference with one mistake put in) whose result equals `got`; if none does, the hint `locate()`
        gives (where the difference starts), if any."""
        if same(got, expected, tol) or (isinstance(got, Raised) and isinstance(expected, Raised)
                                        and got.type_name == expected.type_name):
            self.passed(label)
            return True
        hints = []
        for hint, variant in (variants or {}).items():
            wrong = self.outcome(variant)
            if same(got, wrong, tol) and not same(wrong, expected, tol):
                hints.append(hint)
        if not hints and locate is not None and not isinstance(got, Raised):
            hints.extend(filter(None, [locate()]))
        self.failed(label, describe_difference(got, expected, tol), tuple(hints))
        return False


# --- the registry and the entry point -------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    chapter: int
    run: Callable[[Any, Checker], None]


CHECKS: dict[str, Check] = {}


def register_check(name: str, chapter: int) -> Callable:
    """Decorator: `fn(candidate, checker)` checks a learner's version of `shared.<name>`."""
    def register(fn: Callable[[Any, Checker], None]) -> Callable[[Any, Checker], None]:
        if name in CHECKS and CHECKS[name].run.__module__ != fn.__module__:
            raise ValueError(f"two self-checks are registered for {name}")
        CHECKS[name] = Check(name, chapter, fn)
        return fn
    return register


def _load_checks() -> None:
    import shared

    for module in pkgutil.iter_modules(shared.__path__):
        if module.name.startswith("selfcheck_ch"):
            importlib.import_module(f"shared.{module.name}")


def available_checks() -> dict[str, int]:
    """Every name `check` knows, with the chapter that introduces it, in chapter order."""
    _load_checks()
    return {c.name: c.chapter for c in sorted(CHECKS.values(), key=lambda c: c.chapter)}


def _resolve_name(candidate: Any, name: str | None) -> str:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"the name must be a string such as 'MultiHeadAttention', got {type(name).__name__}")
    if name is None:
        if isinstance(candidate, nn.Module) or not hasattr(candidate, "__name__"):
            kind = type(candidate).__name__
            raise TypeError(f"check() takes your class or function itself, not an instance of {kind}: "
                            f"write check({kind}), not check({kind}(...))")
        name = candidate.__name__
    available = available_checks()  # in chapter order
    if name not in available:
        close = difflib.get_close_matches(name, CHECKS, n=1, cutoff=0.5)
        example = f"check({getattr(candidate, '__name__', 'yours')}, {(close or ['MultiHeadAttention'])[0]!r})"
        raise ValueError(f"there is no self-check for {name!r}; name the shared class or function yours should "
                         f"behave like, e.g. {example}. Available: {', '.join(available)}")
    return name


def check(candidate: Any, name: str | None = None, *, verbose: bool = True,
          raise_on_failure: bool = False) -> SelfCheckResult:
    """Check your class or function against `shared.<name>` (default: its own name) and print the report.

    Returns a `SelfCheckResult` (truthy when everything passed); with `raise_on_failure=True` a failure
    raises `SelfCheckFailed` with the report as its message instead of printing it."""
    import shared

    name = _resolve_name(candidate, name)
    if inspect.isclass(getattr(shared, name, None)) and not inspect.isclass(candidate):
        raise TypeError(f"shared.{name} is a class: pass your class (not a function or an instance), "
                        f"e.g. check({name})")
    if not callable(candidate):
        raise TypeError(f"check() needs a class or function, got {type(candidate).__name__}")
    checker = Checker()
    rng_state, threads = torch.get_rng_state(), torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: more threads only add start-up and contention costs
    try:
        CHECKS[name].run(candidate, checker)
    except _StopCheck:
        pass
    finally:  # leave the learner's random numbers and threads as they were
        torch.set_rng_state(rng_state)
        torch.set_num_threads(threads)
    result = SelfCheckResult(name, checker.lines)
    if raise_on_failure and not result:
        raise SelfCheckFailed(str(result))
    if verbose:
        print(result)
    return result
