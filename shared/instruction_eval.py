"""Offline evaluation of instruction responses: exact match per rule-based family, word-overlap scores (Chapter 7).

Usage:
    from shared.instruction_eval import evaluate_responses, print_scores
    scores = evaluate_responses(test_data, responses)   # responses[i] answers test_data[i]
    print_scores(scores)                                # one line per family, then the totals

Rule-based families (the pirate persona, conversions, sorting, ...) have one right answer, checked by exact
match after stripping spaces at both ends. Every entry also gets a token-overlap F1 (the words the response
shares with the reference, as in SQuAD) and ROUGE-L (the longest common subsequence of words), which give partial credit
and also apply to open-ended tasks. No server is needed; Ollama's judge is in shared/ollama.py.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

RULE_BASED_FAMILIES = ("persona_pirate", "conversion", "sort", "word_count", "sentiment")
_WORD = re.compile(r"[a-z0-9']+")


def words(text: str) -> list[str]:
    """Lower-cased words and numbers of `text` (punctuation dropped)."""
    return _WORD.findall(text.lower())


def exact_match(response: str, reference: str) -> bool:
    """True when the response is the reference, ignoring spaces and newlines at both ends."""
    return response.strip() == reference.strip()


def token_f1(response: str, reference: str) -> float:
    """Harmonic mean of word precision and recall (counted with multiplicity); two empty texts score 1."""
    got, want = words(response), words(reference)
    if not got or not want:
        return float(got == want)
    common = sum((Counter(got) & Counter(want)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(got), common / len(want)
    return 2 * precision * recall / (precision + recall)


def rouge_l(response: str, reference: str) -> float:
    """ROUGE-L F1: the longest common subsequence of words, relative to both lengths."""
    got, want = words(response), words(reference)
    if not got or not want:
        return float(got == want)
    previous = [0] * (len(want) + 1)
    for g in got:  # dynamic programme over the LCS table, one row at a time
        current = [0]
        for j, w in enumerate(want):
            current.append(previous[j] + 1 if g == w else max(previous[j + 1], current[j]))
        previous = current
    lcs = previous[-1]
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(got), lcs / len(want)
    return 2 * precision * recall / (precision + recall)


def evaluate_responses(entries: Sequence[dict[str, Any]], responses: Sequence[str]) -> dict[str, Any]:
    """Scores per family and in total: {"families": {name: {n, exact, f1, rouge_l}}, "rule_based_exact", ...}."""
    if len(entries) != len(responses):
        raise ValueError(f"{len(entries)} entries but {len(responses)} responses: give one response per entry")
    families: dict[str, dict[str, float]] = {}
    for entry, response in zip(entries, responses):
        row = families.setdefault(entry.get("family", "all"), {"n": 0, "exact": 0.0, "f1": 0.0, "rouge_l": 0.0})
        row["n"] += 1
        row["exact"] += exact_match(response, entry["output"])
        row["f1"] += token_f1(response, entry["output"])
        row["rouge_l"] += rouge_l(response, entry["output"])
    rule_n = sum(r["n"] for f, r in families.items() if f in RULE_BASED_FAMILIES)
    rule_exact = sum(r["exact"] for f, r in families.items() if f in RULE_BASED_FAMILIES)
    total = {key: sum(r[key] for r in families.values()) / max(len(entries), 1) for key in ("exact", "f1", "rouge_l")}
    for row in families.values():
        for key in ("exact", "f1", "rouge_l"):
            row[key] /= row["n"]
    return {"families": dict(sorted(families.items())), "n": len(entries),
            "rule_based_n": rule_n, "rule_based_exact": rule_exact / rule_n if rule_n else float("nan"),
            "exact": total["exact"], "f1": total["f1"], "rouge_l": total["rouge_l"]}


def print_scores(scores: dict[str, Any], label: str = "") -> None:
    """A table of the scores: one row per family (rule-based ones marked *), then the totals."""
    if label:
        print(label)
    print(f"  {'family':16s} {'n':>4s} {'exact':>7s} {'F1':>6s} {'ROUGE-L':>8s}")
    for family, row in scores["families"].items():
        mark = "*" if family in RULE_BASED_FAMILIES else " "
        print(f"{mark} {family:16s} {row['n']:4d} {row['exact']:7.0%} {row['f1']:6.2f} {row['rouge_l']:8.2f}")
    print(f"  rule-based families (*): {scores['rule_based_exact']:.1%} exact match on {scores['rule_based_n']} entries; "
          f"all {scores['n']} entries: token F1 {scores['f1']:.2f}, ROUGE-L {scores['rouge_l']:.2f}")


def plot_family_scores(before: dict[str, Any], after: dict[str, Any], metric: str = "exact"):
    """Bars per family: the score before and after fine-tuning. Returns the matplotlib figure."""
    import matplotlib.pyplot as plt
    families = list(after["families"])
    x = range(len(families))
    fig, ax = plt.subplots(figsize=(9, 3.8))
    ax.bar([i - 0.2 for i in x], [before["families"].get(f, {}).get(metric, 0.0) for f in families], 0.4,
           label="before fine-tuning")
    ax.bar([i + 0.2 for i in x], [after["families"][f][metric] for f in families], 0.4, label="after fine-tuning")
    ax.set_xticks(list(x), [f + ("*" if f in RULE_BASED_FAMILIES else "") for f in families], rotation=40, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("task family (* = rule-based, checked by exact match)")
    ax.set_ylabel({"exact": "exact match", "f1": "token F1", "rouge_l": "ROUGE-L"}.get(metric, metric))
    ax.set_title(f"Held-out test entries: {metric.replace('_', '-')} per family")
    ax.legend()
    fig.tight_layout()
    return fig
