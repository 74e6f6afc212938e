"""The book's external files: where they come from, how they are checked, where they are kept (Chapter 2).

Usage:
    from shared.resources import resolve
    path = resolve("the-verdict")   # a local Path, downloaded and verified once if needed

The project runs offline on its own embedded resources; the files listed here (GPT-2's BPE files and
weights, the book's short story and datasets) are opt-in. `resolve` looks for a file, in order:
  1. the explicit `path` argument,
  2. the data folder named by the environment variable LLM_BOOK_DATA (files under their plain names),
  3. tiktoken's cache ($TIKTOKEN_CACHE_DIR), for GPT-2's two BPE files,
  4. the per-user cache (LLM_BOOK_CACHE, default ~/.cache/llm-from-scratch-book),
  5. a download into that cache: short timeouts, streamed to a temporary file, checksum verified,
     then moved into place atomically. A corrupt download is deleted, never kept.
When every step fails, `ResourceError` says which file is missing, its URL, and where to put it.
Set LLM_BOOK_OFFLINE=1 to forbid downloads altogether.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

CONNECT_TIMEOUT_S = 10  # also the longest wait for any single read


class ResourceError(RuntimeError):
    """A book resource is missing, unreachable or corrupt; the message says what to do."""


@dataclass(frozen=True)
class Resource:
    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: str | None
    size: int | None
    license: str
    description: str
    zip_member: str | None = None  # the download is a zip archive holding this file
    in_tiktoken_cache: bool = False  # tiktoken caches it as $TIKTOKEN_CACHE_DIR/sha1(url)


_HF = "https://huggingface.co/openai-community"
_BOOK = "https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/main"
_GPT2_ENCODINGS = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"

RESOURCES: dict[str, Resource] = {r.name: r for r in [
    Resource("gpt2-vocab-bpe", "vocab.bpe", (f"{_GPT2_ENCODINGS}/vocab.bpe", f"{_HF}/gpt2/resolve/main/merges.txt"),
             "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5", 456_318, "MIT (OpenAI GPT-2)",
             "GPT-2's 50,000 BPE merges", in_tiktoken_cache=True),
    Resource("gpt2-encoder-json", "encoder.json", (f"{_GPT2_ENCODINGS}/encoder.json",),
             "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783", 1_042_301, "MIT (OpenAI GPT-2)",
             "GPT-2's token-to-id map", in_tiktoken_cache=True),
    Resource("the-verdict", "the-verdict.txt", (f"{_BOOK}/ch02/01_main-chapter-code/the-verdict.txt",),
             "b41e41a68f0398a3154ae69e2e4c0e2694e17fe0d66730536837f1b01935b31f", 20_479,
             "public domain (Edith Wharton, 1908)", "the short story the book pretrains on"),
    Resource("sms-spam-collection", "SMSSpamCollection",
             ("https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",),
             "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d", 477_907, "CC BY 4.0 (UCI)",
             "UCI SMS Spam Collection, label<TAB>text per line", zip_member="SMSSpamCollection"),
    Resource("instruction-data", "instruction-data.json", (f"{_BOOK}/ch07/01_main-chapter-code/instruction-data.json",),
             "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944", 203_524,
             "Apache-2.0 (the book's repository)", "the book's 1,100 instruction-response entries"),
    *[Resource(f"gpt2-{size}-weights", f"gpt2-{size}.safetensors", (f"{_HF}/{repo}/resolve/main/model.safetensors",),
               None, None, "MIT (OpenAI GPT-2)", f"GPT-2 {size} weights, Hugging Face safetensors layout")
      for size, repo in [("124M", "gpt2"), ("355M", "gpt2-medium"), ("774M", "gpt2-large"), ("1558M", "gpt2-xl")]],
]}


def book_resources_enabled() -> bool:
    """True in book mode (LLM_BOOK_RESOURCES=1): the library's defaults are then the book's files."""
    return os.environ.get("LLM_BOOK_RESOURCES", "") == "1"


def use_book_resources(enabled: bool = True) -> None:
    """Switch book mode on or off for this process (and the processes it starts): the notebooks' switch."""
    os.environ["LLM_BOOK_RESOURCES"] = "1" if enabled else "0"


def cache_dir() -> Path:
    return Path(os.environ.get("LLM_BOOK_CACHE", Path.home() / ".cache" / "llm-from-scratch-book"))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _problem(resource: Resource, path: Path) -> str | None:
    """None if the file is what the registry says, else what is wrong with it."""
    if resource.size is not None and path.stat().st_size != resource.size:
        return f"size {path.stat().st_size:,} bytes, expected {resource.size:,}"
    if resource.sha256 is not None and sha256_of(path) != resource.sha256:
        return "sha256 checksum does not match"
    return None


def _verified(resource: Resource, path: Path, what: str) -> Path:
    problem = _problem(resource, path)
    if problem:
        raise ResourceError(f"{what} {path} is not a valid copy of {resource.filename}: {problem}. "
                            f"Delete it or replace it with the file from {resource.urls[0]}")
    return path


def _local_candidates(resource: Resource) -> list[tuple[Path, str]]:
    found = []
    if os.environ.get("LLM_BOOK_DATA"):
        found.append((Path(os.environ["LLM_BOOK_DATA"]) / resource.filename, "the file in LLM_BOOK_DATA"))
    if resource.in_tiktoken_cache and os.environ.get("TIKTOKEN_CACHE_DIR"):
        for url in resource.urls:
            sha1 = hashlib.sha1(url.encode()).hexdigest()
            found.append((Path(os.environ["TIKTOKEN_CACHE_DIR"]) / sha1, "the file in TIKTOKEN_CACHE_DIR"))
    return found


def _download(resource: Resource, url: str, target: Path) -> None:
    """Stream `url` to a temporary file next to `target`, verify it, and move it into place atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{resource.filename}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=CONNECT_TIMEOUT_S) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        if resource.zip_member:
            with zipfile.ZipFile(tmp) as archive:
                member = archive.read(resource.zip_member)
            tmp.write_bytes(member)
        problem = _problem(resource, tmp)
        if problem:
            raise ResourceError(f"download from {url} is corrupt ({problem}); it was deleted")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def resolve(resource: str | Resource, path: str | Path | None = None, download: bool = True) -> Path:
    """Return a local, verified path to a book resource (see the module docstring for the search order)."""
    if isinstance(resource, str):
        if resource not in RESOURCES:
            raise ResourceError(f"unknown resource {resource!r}; known: {', '.join(RESOURCES)}")
        resource = RESOURCES[resource]
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ResourceError(f"{resource.filename} was not found at {path}")
        return _verified(resource, path, "the file")
    for candidate, what in _local_candidates(resource):
        if candidate.is_file():
            return _verified(resource, candidate, what)

    cached = cache_dir() / resource.filename
    if cached.is_file():
        if _problem(resource, cached) is None:
            return cached
        cached.unlink()  # a corrupt cache entry is dropped and fetched again
    errors = []
    if download and os.environ.get("LLM_BOOK_OFFLINE", "") != "1":
        for url in resource.urls:
            try:
                _download(resource, url, cached)
                return cached
            except (OSError, ResourceError, zipfile.BadZipFile, io.UnsupportedOperation) as err:
                errors.append(f"  {url}: {err}")
    tried = "\n".join(errors) if errors else "  (downloads are switched off)"
    raise ResourceError(
        f"the book resource {resource.filename!r} ({resource.description}) is not available.\n"
        f"Download tried:\n{tried}\n"
        f"Fix: download it from {resource.urls[0]}"
        f"{' and extract ' + resource.zip_member if resource.zip_member else ''}, then either put it at "
        f"{cached} or put it in a folder named by the environment variable LLM_BOOK_DATA, "
        f"or pass its path explicitly. The embedded default needs none of this."
    )
