"""Access to the book's own resources in tests: skipped locally when absent, a failure in CI.

Usage:
    from book_data import book_resource
    verdict_path = book_resource("the-verdict")
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared.resources import ResourceError, resolve


def book_resource(name: str) -> Path:
    """The local path of a book resource, never downloading (tests are offline)."""
    try:
        return resolve(name, download=False)
    except ResourceError as err:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide the book resource {name!r} (see .ci/run): {err}", pytrace=False)
        pytest.skip(f"book resource {name!r} is not available here (set LLM_BOOK_DATA / TIKTOKEN_CACHE_DIR)")
