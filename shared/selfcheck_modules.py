"""Self-check helpers for `torch.nn.Module`s: build, copy weights, compare outputs (Chapter 3).

Usage:
    from shared.selfcheck_modules import build_like, compare_outputs   # in a check (see shared.selfcheck)
    reference = MultiHeadAttention(d_in=6, d_out=6, context_length=8, dropout=0.5, num_heads=2)
    learner = build_like(checker, candidate, reference, "MultiHeadAttention(d_in=6, ...)", kwargs=kwargs,
                         naming="W_query, W_key, W_value, out_proj")
    compare_outputs(checker, "eval mode", learner, reference, x, variants={hint: wrong_forward})
    compare_outputs(checker, "training mode, same dropout seed", learner, reference, x, train=True)

`build_like` gives your module the reference's parameters (by name; stored transposed is fine), so the
two can only differ in what they compute. `compare_outputs` runs both on the same input, in eval mode or
in training mode after the same seed (the same dropout masks), and names a matching mistake; `without`
switches off one kind of dropout layer in the reference, to find the one a learner left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from shared.selfcheck import SEED, Checker

Variant = Callable[[torch.Tensor, bool], torch.Tensor]  # (x, train) -> the reference's output with a mistake
NO_DROPOUT = "no dropout is applied in training mode: apply the dropout layer (nn.Dropout) where the book does"
DROPOUT_IN_EVAL = ("dropout is still active in eval mode: use an nn.Dropout module (it switches itself off "
                   "after model.eval()) rather than a dropout call that ignores self.training")


def _repeated_modules(module: nn.Module) -> list[str]:
    """'a and b' for every module with parameters that sits at two places (the same object)."""
    seen: dict[int, str] = {}
    repeats = []
    for name, sub in module.named_modules(remove_duplicate=False):
        if id(sub) in seen and next(sub.parameters(), None) is not None:
            repeats.append(f"{seen[id(sub)]} and {name}")
        seen.setdefault(id(sub), name)
    return repeats


def _fits(mine: torch.Tensor, ref: torch.Tensor) -> bool:
    return mine.shape == ref.shape or (mine.dim() == 2 and mine.shape == ref.T.shape)


def _parameter_problems(mine: dict[str, torch.Tensor], ref: dict[str, torch.Tensor]) -> str:
    missing = [f"{n} {tuple(ref[n].shape)}" for n in ref if n not in mine]
    extra = [f"{n} {tuple(mine[n].shape)}" for n in mine if n not in ref]
    wrong = [f"{n} is {tuple(mine[n].shape)}, expected {tuple(ref[n].shape)}"
             for n in ref if n in mine and not _fits(mine[n], ref[n])]
    problems = ([f"your module has no {', '.join(missing[:4])}"] if missing else []) + \
               ([f"unexpected {', '.join(extra[:4])}"] if extra else []) + wrong[:3]
    return "; ".join(problems)


def build_like(checker: Checker, candidate: type, reference: nn.Module, call: str, args: tuple = (),
               kwargs: Mapping[str, Any] | None = None, *, naming: str) -> nn.Module:
    """`candidate(*args, **kwargs)` with `reference`'s parameters copied in; one line.

    Parameters are matched by name, and a 2-d parameter stored transposed is copied transposed. When
    the names differ but the shapes match in order, they are copied in order and the line fails with
    `naming` (the book's names) as its hint. Anything else ends the check."""
    learner = checker.call(call, candidate, *args, hint=f"your class must accept the book's arguments: {call}",
                           **(kwargs or {}))
    if not isinstance(learner, nn.Module):
        checker.stop(call, f"built a {type(learner).__name__}, not a torch.nn.Module")
    mine, ref = dict(learner.named_parameters()), dict(reference.named_parameters())
    if mine.keys() == ref.keys() and all(_fits(mine[n], ref[n]) for n in ref):
        pairs, detail = [(mine[n], ref[n]) for n in ref], ""
    elif len(mine) == len(ref) and all(_fits(m, r) for m, r in zip(mine.values(), ref.values())):
        pairs = list(zip(mine.values(), ref.values()))
        detail = f"parameter names differ: yours {', '.join(mine)}; the book's {', '.join(ref)}"
    else:
        repeats = [f"the same module object sits at {r}: build each one separately (a list comprehension, "
                   f"not [module] * n)" for r in _repeated_modules(learner)[:1]]
        checker.stop(call, _parameter_problems(mine, ref), (f"the book's layers: {naming}", *repeats))
    with torch.no_grad():
        for mine_param, ref_param in pairs:
            mine_param.copy_(ref_param if mine_param.shape == ref_param.shape else ref_param.T)
    if detail:
        checker.failed(call, detail + " (the outputs below are compared in this order)",
                       (f"name them as in the book: {naming}",))
    else:
        checker.passed(call, f"{len(ref)} parameter tensors, named and shaped as in the book")
    return learner


def randomize(module: nn.Module, seed: int = SEED) -> nn.Module:
    """Move every parameter away from its initial value (so that a swapped scale and shift show), seeded."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in module.parameters():
            param.add_(0.3 * torch.randn(param.shape, generator=generator))
    return module


def forward(module: nn.Module, x: torch.Tensor, train: bool = False, seed: int = SEED) -> torch.Tensor:
    """`module(x)` without gradients, in training or eval mode, after seeding the dropout masks."""
    module.train(train)
    torch.manual_seed(seed)
    with torch.no_grad():
        return module(x)


@contextmanager
def without(module: nn.Module, suffix: str) -> Iterator[nn.Module]:
    """`module` with every submodule whose name ends in `suffix` replaced by nn.Identity, for a moment."""
    swapped = []
    for name, sub in list(module.named_modules()):
        if name == suffix or name.endswith("." + suffix):
            parent_name, _, attr = name.rpartition(".")
            parent = module.get_submodule(parent_name)
            swapped.append((parent, attr, sub))
            setattr(parent, attr, nn.Identity())
    try:
        yield module
    finally:
        for parent, attr, sub in swapped:
            setattr(parent, attr, sub)


def _tensors(args: tuple, kwargs: dict) -> list[torch.Tensor]:
    return [a.detach().clone() for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]


def _record_calls(module: nn.Module, x: torch.Tensor) -> list[tuple[str, list, Any]]:
    """(name, tensor inputs, output) of every submodule call of `module(x)` in eval mode, in the order they end."""
    calls: list[tuple[str, list, Any]] = []
    hooks = [sub.register_forward_hook(
        lambda m, args, kwargs, out, name=name: calls.append((name, _tensors(args, kwargs), out)), with_kwargs=True)
        for name, sub in module.named_modules() if name]
    try:
        forward(module, x)
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def locate_difference(learner: nn.Module, reference: nn.Module, x: torch.Tensor) -> str | None:
    """Where a difference starts: the first part of `learner` (a submodule with the book's name) that is given
    the reference part's input and returns something else; else, for a module built from checked parts
    (a TransformerBlock, say), that the parts are fine and the wiring is not."""
    from shared.selfcheck import CHECKS, same

    reference_calls: dict[tuple[str, int], tuple[list, Any]] = {}
    for name, inputs, output in _record_calls(reference, x):
        reference_calls[name, sum(key[0] == name for key in reference_calls)] = (inputs, output)
    seen: dict[str, int] = {}
    for name, inputs, output in _record_calls(learner, x):
        occurrence = seen[name] = seen.get(name, -1) + 1
        expected = reference_calls.get((name, occurrence))
        if expected and same(inputs, expected[0]) and not same(output, expected[1]):
            kind = type(learner.get_submodule(name)).__name__
            more = f"; check({kind}) says more" if kind in CHECKS else ""
            return (f"the difference starts in {name} (your {kind}): it gets the same input as the book's "
                    f"{name} and returns something else{more}")
    if any(type(sub).__name__ in CHECKS for sub in reference.children()):
        return (f"each part of your {type(learner).__name__} that gets the book's input returns the book's "
                f"output: the difference is in how its forward connects the parts")
    return None


def compare_outputs(checker: Checker, label: str, learner: nn.Module, reference: nn.Module, x: torch.Tensor,
                    *, train: bool = False, variants: Mapping[str, Variant] | None = None) -> bool:
    """One line: `learner(x)` against `reference(x)`, both in eval mode or both in training mode after the
    same seed. `variants` maps a hint to the reference with that mistake; a reference with dropout also
    gets the variants "no dropout in training" and "dropout in eval mode"."""
    got = checker.outcome(forward, learner, x, train)
    expected = forward(reference, x, train)

    def seeded(variant: Variant) -> Callable[[], torch.Tensor]:
        def run() -> torch.Tensor:
            torch.manual_seed(SEED)
            with torch.no_grad():
                return variant(x, train)
        return run

    candidates = {hint: seeded(variant) for hint, variant in (variants or {}).items()}
    if any(isinstance(m, nn.Dropout) and m.p > 0 for m in reference.modules()):
        candidates[NO_DROPOUT if train else DROPOUT_IN_EVAL] = lambda: forward(reference, x, not train)
    return checker.compare(label, got, expected, candidates,
                           locate=None if train else lambda: locate_difference(learner, reference, x))
