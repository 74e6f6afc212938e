"""Access to the book's own resources in tests: skipped locally when absent, a failure in CI.

Usage:
    from book_data import book_resource, missing_book_resource
    verdict_path = book_resource("the-verdict")
    missing_book_resource("gpt2-vocab-bpe", "GPT-2's BPE files are not in tiktoken's cache")  # fail or skip

In CI a missing resource fails the test, since CI is meant to provide every file ../shared/data documents
(.ci/run points the tests at it). The one exception is a file that ../shared/data itself lacks in that run:
.ci/run checks the folder, prints a WARNING naming each absent file and lists them in LLM_BOOK_CI_ABSENT;
those are skipped with that reason, since no change to the project can make them appear.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.resources import ResourceError, resolve


def absent_in_ci() -> set[str]:
    """The resources .ci/run found missing from ../shared/data (LLM_BOOK_CI_ABSENT, comma-separated)."""
    return {name.strip() for name in os.environ.get("LLM_BOOK_CI_ABSENT", "").split(",") if name.strip()}


def missing_book_resource(name: str, why: str) -> None:
    """Fail (in CI) or skip (elsewhere, or in CI when ../shared/data lacks the file) for a missing resource."""
    if os.environ.get("CI") and name not in absent_in_ci():
        pytest.fail(f"CI must provide the book resource {name!r} (see .ci/run): {why}", pytrace=False)
    where = "../shared/data lacks it in this CI run (see .ci/run's WARNING)" if os.environ.get("CI") else \
        "set LLM_BOOK_DATA / TIKTOKEN_CACHE_DIR"
    pytest.skip(f"book resource {name!r} is not available here ({where})")


def book_resource(name: str) -> Path:
    """The local path of a book resource, never downloading (tests are offline)."""
    try:
        return resolve(name, download=False)
    except ResourceError as err:
        missing_book_resource(name, str(err))
        raise  # not reached: missing_book_resource fails or skips
