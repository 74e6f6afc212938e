"""Check the set-up: Python, the required packages, the device, and which book resources are at hand (Chapter 1).

Usage:
    python -m shared.envcheck          # or: python tasks.py env
    python -m shared.envcheck --quiet  # only the FAIL lines (and the exit status)

One line per check, `OK` or `FAIL` (and `--` for optional things that are simply absent, such as the book's
files, which the project never needs by default); every FAIL says what to do. The exit status is 1 when a
check fails, so scripts and CI can rely on it.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.resources import RESOURCES, ResourceError, book_resources_enabled, resolve

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT_FILES = ("requirements.txt", "requirements-dev.txt", "requirements-app.txt")
MIN_PYTHON = (3, 10)
BOOK_FILES = ("gpt2-vocab-bpe", "gpt2-encoder-json", "the-verdict", "sms-spam-collection", "instruction-data",
              "gpt2-124M-weights")


@dataclass
class Line:
    status: str  # "OK", "FAIL", or "--" (optional and absent)
    what: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.status:<4} {self.what:<22} {self.detail}"
        return f"{text}\n     -> {self.fix}" if self.fix else text


def parse_requirement(line: str) -> tuple[str, tuple[int, ...] | None] | None:
    """("torch", (2, 2)) from "torch>=2.2  # comment"; None for a blank or comment line."""
    line = line.split("#", 1)[0].strip()
    if not line:
        return None
    match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)\s*(?:>=\s*([0-9][0-9.]*))?.*", line)
    if not match:
        return None
    name = re.sub(r"\[.*\]", "", match.group(1))
    return name, version_tuple(match.group(2)) if match.group(2) else None


def version_tuple(version: str) -> tuple[int, ...]:
    """(2, 13, 0) from "2.13.0+cpu"; stops at the first part that is not a number."""
    parts = []
    for part in version.split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts)


def requirements(files: tuple[str, ...] = REQUIREMENT_FILES) -> list[tuple[str, tuple[int, ...] | None, str]]:
    """(package, lower bound, file) for every requirement line of the project's requirement files."""
    found = []
    for name in files:
        path = REPO_ROOT / name
        if path.is_file():
            for line in path.read_text().splitlines():
                parsed = parse_requirement(line)
                if parsed:
                    found.append((*parsed, name))
    return found


def check_python() -> Line:
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] >= MIN_PYTHON:
        return Line("OK", "python", f"{version} ({sys.executable})")
    return Line("FAIL", "python", f"{version} is older than {'.'.join(map(str, MIN_PYTHON))}",
                "install Python 3.10 or newer and run `python3 tasks.py setup` with it")


def check_package(name: str, minimum: tuple[int, ...] | None, source: str) -> Line:
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return Line("FAIL", name, f"not installed (needed by {source})",
                    "run `python3 tasks.py setup` (or `pip install -r " + source + " -c constraints.txt`)")
    wanted = f">= {'.'.join(map(str, minimum))}" if minimum else "any version"
    if minimum and version_tuple(installed) < minimum:
        return Line("FAIL", name, f"{installed} is too old ({wanted}, {source})",
                    f"run `pip install -c constraints.txt -r {source}` in the project's venv")
    return Line("OK", name, f"{installed} ({wanted})")


def check_device() -> Line:
    import torch

    from shared.device import get_device

    device = get_device()
    if device.type == "cuda":
        detail = f"cuda: {torch.cuda.get_device_name(0)}, bf16 {'yes' if torch.cuda.is_bf16_supported() else 'no'}"
    else:
        mps = torch.backends.mps.is_available()
        detail = f"cpu, {torch.get_num_threads()} threads" + (" (MPS available: LLM_BOOK_MPS=1 uses it)" if mps else "")
    return Line("OK", "device", detail)


def check_embedded() -> Line:
    from shared.data import load_corpus
    from shared.tokenizer import get_tokenizer

    try:
        tokens = len(get_tokenizer("embedded").encode(load_corpus("embedded")))
    except Exception as err:  # any failure here means the checkout itself is broken
        return Line("FAIL", "embedded resources", f"{type(err).__name__}: {err}",
                    "the files in shared/assets/ are damaged: `git checkout shared/assets` restores them")
    return Line("OK", "embedded resources", f"corpus and tokenizer load ({tokens:,} tokens)")


def check_book_file(name: str) -> Line:
    resource = RESOURCES[name]
    try:
        path = resolve(resource, download=False)
    except ResourceError as err:
        message = str(err).split("\n", 1)[0]
        if "not a valid copy" in message:
            return Line("FAIL", resource.filename, message, "delete the file; it is fetched again when needed")
        if book_resources_enabled():
            return Line("FAIL", resource.filename, "missing, and book mode is on (LLM_BOOK_RESOURCES=1)",
                        f"download {resource.urls[0]} into LLM_BOOK_DATA, or allow downloads (unset LLM_BOOK_OFFLINE)")
        return Line("--", resource.filename, "not present (optional: only book mode uses it; downloaded on demand)")
    return Line("OK", resource.filename, str(path))


def run_checks() -> list[Line]:
    lines = [check_python()]
    lines += [check_package(name, minimum, source) for name, minimum, source in requirements()]
    lines += [check_device(), check_embedded()]
    lines.append(Line("OK", "book mode", "on (LLM_BOOK_RESOURCES=1): defaults are the book's files"
                      if book_resources_enabled() else "off: the embedded resources are the defaults"))
    lines += [check_book_file(name) for name in BOOK_FILES]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quiet", action="store_true", help="print only the FAIL lines")
    args = parser.parse_args(argv)
    lines = run_checks()
    failed = [line for line in lines if line.status == "FAIL"]
    for line in failed if args.quiet else lines:
        print(line)
    print(f"{len(failed)} FAIL" if failed else "all checks OK")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
