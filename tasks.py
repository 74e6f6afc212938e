"""The book's commands, in plain Python: the same on Linux, macOS and Windows, no `make` needed.

Usage:
    python tasks.py book            # set up .venv (first time only), then run every notebook headless
    python tasks.py test            # set up .venv (first time only), then ruff + the whole test suite
                                    # (in two worker processes where there are two cores or more)
    python tasks.py test --quick    # the same without the notebook runs (a few minutes)
    python tasks.py test tests/test_ch03.py -x   # extra arguments go to pytest
    python tasks.py book ch05 --refresh          # extra arguments go to tools/notebook_runner.py
    python tasks.py lab             # JupyterLab in the repository root
    python tasks.py lab --no-browser --port 8889 # extra arguments go to jupyter lab
    python tasks.py env             # check the environment: versions, device, book resources
    python tasks.py setup           # only the set-up

The set-up creates `.venv` with the Python that runs this file, installs the tested versions
(`constraints.txt`) of the requirements, the test tools and the chat app's Streamlit, and the `shared`
package in editable mode. It runs again only when one of those files changes. (`make book` and
`make test` call this file.)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENT_FILES = ["requirements.txt", "requirements-dev.txt", "requirements-app.txt"]
STAMP = VENV / ".installed"


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(*command: str | Path) -> None:
    """Run a command in the repository root; stop with its exit status if it fails."""
    print("$", " ".join(str(part) for part in command), flush=True)
    status = subprocess.call([str(part) for part in command], cwd=ROOT)
    if status:
        sys.exit(status)


def setup_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in [*REQUIREMENT_FILES, "constraints.txt", "pyproject.toml"]:
        path = ROOT / name
        digest.update(name.encode() + (path.read_bytes() if path.exists() else b""))
    return digest.hexdigest()


def setup() -> Path:
    """Create and fill `.venv` unless it is already up to date; return its Python."""
    python = venv_python()
    fingerprint = setup_fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return python
    if sys.version_info < (3, 10):  # noqa: UP036 — tasks.py itself may be started by an older python
        sys.exit(f"Python 3.10 or newer is needed, this is {sys.version.split()[0]}: run tasks.py with a newer python")
    if not python.exists():
        run(sys.executable, "-m", "venv", VENV)
    requirements = [arg for name in REQUIREMENT_FILES if (ROOT / name).exists() for arg in ("-r", name)]
    run(python, "-m", "pip", "install", "--quiet", "-c", "constraints.txt", *requirements)
    # the venv's own setuptools first (works offline); pip's isolated build if that one is too old
    if subprocess.call([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "-e", "."], cwd=ROOT, stderr=subprocess.DEVNULL):
        run(python, "-m", "pip", "install", "--quiet", "--no-deps", "-e", ".")
    STAMP.write_text(fingerprint)
    return python


def parallel_options(pytest_args: list[str]) -> list[str]:
    """Two worker processes in two lanes (see tests/conftest.py) where there are two cores or more."""
    if (os.cpu_count() or 1) < 2 or any(a == "-n" or a.startswith(("-n", "--numprocesses", "-p")) for a in pytest_args):
        return []
    return ["-n", "2", "--dist", "loadgroup"]


def main(argv: list[str]) -> None:
    commands = {"setup", "book", "test", "lab", "env"}
    if not argv or argv[0] not in commands:
        sys.exit(__doc__)
    command, args = argv[0], argv[1:]
    python = setup()
    if command == "book":
        run(python, "tools/notebook_runner.py", *args)
    elif command == "test":
        run(python, "-m", "ruff", "check", ".")
        if "--quick" in args:
            args = ["-m", "not notebook", *[a for a in args if a != "--quick"]]
        run(python, "-m", "pytest", *parallel_options(args), *args)
    elif command == "lab":
        run(python, "-m", "jupyter", "lab", *args)
    elif command == "env":
        run(python, "-m", "shared.envcheck", *args)


if __name__ == "__main__":
    main(sys.argv[1:])
