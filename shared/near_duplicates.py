"""How many texts in a dataset are near-copies of another one (Chapter 6; used for the embedded datasets).

Usage:
    from shared.near_duplicates import near_duplicate_pairs, near_duplicate_share
    share = near_duplicate_share(texts)            # 0.0 .. 1.0: fraction of texts with a near-copy
    pairs = near_duplicate_pairs(texts, 0.8)       # [(i, j, similarity), ...] for a closer look

Two texts are near-duplicates when the Jaccard similarity of their word-bigram sets,
|A ∩ B| / |A ∪ B|, is at least `threshold` (default 0.7). Words are lower-cased runs of letters and
digits, so punctuation and case do not count; a one-word text is compared by its single word. Candidate
pairs come from an inverted index (texts that share at least one bigram), so a few thousand texts take
well under a second.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence

DEFAULT_THRESHOLD = 0.7
_WORD = re.compile(r"[a-z0-9]+")


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    """The set of word bigrams of `text` (a single word becomes a 1-tuple)."""
    words = _WORD.findall(text.lower())
    if len(words) < 2:
        return frozenset((w,) for w in words)
    return frozenset(zip(words, words[1:]))


def near_duplicate_pairs(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> list[tuple[int, int, float]]:
    """Every pair (i, j), i < j, whose word-bigram Jaccard similarity is >= `threshold`, most similar first."""
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold is a similarity in (0, 1], got {threshold}")
    sets = [shingles(t) for t in texts]
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        for gram in s:
            index[gram].append(i)
    shared_counts: dict[tuple[int, int], int] = defaultdict(int)
    for members in index.values():
        for a in range(len(members)):
            for b in range(a + 1, len(members)):
                shared_counts[members[a], members[b]] += 1
    pairs = []
    for (i, j), common in shared_counts.items():
        similarity = common / (len(sets[i]) + len(sets[j]) - common)
        if similarity >= threshold:
            pairs.append((i, j, similarity))
    return sorted(pairs, key=lambda p: (-p[2], p[0], p[1]))


def near_duplicate_share(texts: Sequence[str], threshold: float = DEFAULT_THRESHOLD) -> float:
    """The fraction of texts that have at least one near-duplicate elsewhere in `texts` (0.0 for no texts)."""
    if not texts:
        return 0.0
    involved = set()
    for i, j, _ in near_duplicate_pairs(texts, threshold):
        involved.update((i, j))
    return len(involved) / len(texts)
