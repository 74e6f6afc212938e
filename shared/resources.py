"""The book's external files: where they come from, how they are checked, where they are kept (Chapter 2).

Usage:
    from shared.resources import resolve
    path = resolve("the-verdict")                        # a local Path, downloaded and verified once if needed
    path = resolve("gpt2-124M-weights", cache="gpt2")    # look in, and download into, a folder of your choice

The project runs offline on its own embedded resources; the files listed here (GPT-2's BPE files and
weights, the book's short story and datasets) are opt-in. `resolve` looks for a file, in order:
  1. the explicit `path` argument,
  2. the data folder named by the environment variable LLM_BOOK_DATA (files under their plain names),
  3. tiktoken's cache ($TIKTOKEN_CACHE_DIR), for GPT-2's two BPE files,
  4. the cache folder: the `cache` argument, else LLM_BOOK_CACHE, else ~/.cache/llm-from-scratch-book
     (an empty LLM_BOOK_CACHE counts as unset, never as "the current folder"),
  5. a download into that folder from each of the file's URLs in turn, through `shared.download`
     (10-second timeouts, an overall deadline, sizes enforced, the checksum computed while streaming).
     The bytes go to a hidden `.part` file that is verified and only then moved into place atomically;
     a failed download leaves nothing behind, and `.part` files of an earlier, killed run are removed.
A file is verified before it is returned: its size, its sha256 checksum and, for GPT-2's weights, its
safetensors header (`shared.gpt2_layout`: the expected tensors and shapes, data that ends where the file
ends). Files over REHASH_MAX_BYTES (GPT-2's weights) are hashed once, while they download; a copy on disk
is then checked by its size and header, since hashing gigabytes on every use would take longer than loading.
When every step fails, one `ResourceError` names the file, says what went wrong with each URL and where to
put the file. Set LLM_BOOK_OFFLINE=1 to forbid downloads altogether.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from shared.config import MODEL_CONFIGS
from shared.download import BLOCK_BYTES, DownloadError, download
from shared.gpt2_layout import gpt2_file_problem

REHASH_MAX_BYTES = 64 << 20  # files up to this size are hashed again on every use


class ResourceError(RuntimeError):
    """A book resource is missing, unreachable or corrupt; the message says what to do."""


@dataclass(frozen=True)
class Resource:
    name: str
    filename: str
    urls: tuple[str, ...]  # tried in order: the first is the official source, the others backups
    sha256: str | None
    size: int | None
    license: str
    description: str
    zip_member: str | None = None  # the download is a zip archive holding this file
    in_tiktoken_cache: bool = False  # tiktoken caches it as $TIKTOKEN_CACHE_DIR/sha1(url)
    check: Callable[[Path], str | None] | None = None  # a check of the file's structure: what is wrong, or None


_HF = "https://huggingface.co/openai-community"
_BOOK = "https://raw.githubusercontent.com/rasbt/LLMs-from-scratch/main"
_GPT2_ENCODINGS = "https://openaipublic.blob.core.windows.net/gpt-2/encodings/main"

# GPT-2's weights as Hugging Face stores them: (size, repository, preset, bytes, sha256). The checksums are
# those of the files' Git LFS pointers on the Hub; the byte counts of the two largest files could not be
# established, so for them the Content-Length and the safetensors header stand in.
GPT2_WEIGHT_FILES = [
    ("124M", "gpt2", "gpt2-small (124M)", 548_105_171,
     "248dfc3911869ec493c76e65bf2fcf7f615828b0254c12b473182f0f81d3a707"),
    ("355M", "gpt2-medium", "gpt2-medium (355M)", 1_519_984_962,
     "fc5a354a19255ad494f3d71549390baca1ccf61d1d822b9408971705c687c9cd"),
    ("774M", "gpt2-large", "gpt2-large (774M)", None,
     "5f47f3e12f91cd33b662ce7e433b6150ad5512b5884a2cee961b50e9c3bbebce"),
    ("1558M", "gpt2-xl", "gpt2-xl (1558M)", None,
     "0f8b28eb05a8075f48b61b6f35332978c74fc7763fa9fb4051a1c30511736a6a"),
]

def instruction_file_problem(path: Path, min_entries: int = 1) -> str | None:
    """What is wrong with an instruction data file (a JSON list of instruction/input/output entries), or None.

    For files whose checksum is not pinned (Alpaca's is edited upstream from time to time), the structure
    is the check: valid JSON, at least `min_entries` entries, each with the three keys holding text.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"not valid JSON ({err})"
    if not isinstance(data, list) or len(data) < min_entries:
        count = len(data) if isinstance(data, list) else type(data).__name__
        return f"expected a JSON list of at least {min_entries:,} entries, got {count}"
    for i, entry in enumerate(data):
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("instruction", "input", "output")):
            return f"entry {i} is not an object with text under 'instruction', 'input' and 'output'"
    return None


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
             ("https://archive.ics.uci.edu/static/public/228/sms+spam+collection.zip",
              "https://f001.backblazeb2.com/file/LLMs-from-scratch/sms%2Bspam%2Bcollection.zip"),
             "7d039a24a6083ed9ef0f806ebad56bbb976e3aeb8de05669173bfdc4996c239d", 477_907, "CC BY 4.0 (UCI)",
             "UCI SMS Spam Collection, label<TAB>text per line", zip_member="SMSSpamCollection"),
    Resource("instruction-data", "instruction-data.json", (f"{_BOOK}/ch07/01_main-chapter-code/instruction-data.json",),
             "7e09a9af353722ca15c18bc580f093f9c39d3178335a75177319cb1e1d163944", 203_524,
             "Apache-2.0 (the book's repository)", "the book's 1,100 instruction-response entries"),
    Resource("alpaca-52k", "alpaca_data.json",
             ("https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json",), None, None,
             "CC BY-NC 4.0 (Stanford Alpaca: non-commercial use only)",
             "Stanford Alpaca's 52,002 instruction-response entries (exercise 7.3)",
             check=partial(instruction_file_problem, min_entries=52_000)),
    *[Resource(f"gpt2-{size}-weights", f"gpt2-{size}.safetensors", (f"{_HF}/{repo}/resolve/main/model.safetensors",),
               sha256, n_bytes, "MIT (OpenAI GPT-2)", f"GPT-2 {size} weights, Hugging Face safetensors layout",
               check=partial(gpt2_file_problem, cfg=MODEL_CONFIGS[preset]))
      for size, repo, preset, n_bytes, sha256 in GPT2_WEIGHT_FILES],
]}


def book_resources_enabled() -> bool:
    """True in book mode (LLM_BOOK_RESOURCES=1): the library's defaults are then the book's files."""
    return os.environ.get("LLM_BOOK_RESOURCES", "") == "1"


def use_book_resources(enabled: bool = True) -> None:
    """Switch book mode on or off for this process (and the processes it starts): the notebooks' switch."""
    os.environ["LLM_BOOK_RESOURCES"] = "1" if enabled else "0"


def _env_folder(variable: str) -> Path | None:
    """The folder an environment variable names; unset, empty or blank means none (never the current folder)."""
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The per-user cache: LLM_BOOK_CACHE if set and not empty, else ~/.cache/llm-from-scratch-book."""
    return _env_folder("LLM_BOOK_CACHE") or Path.home() / ".cache" / "llm-from-scratch-book"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _problem(resource: Resource, path: Path, rehash: bool = True) -> str | None:
    """None if the file is what the registry says, else what is wrong with it (see the module docstring)."""
    size = path.stat().st_size
    if resource.size is not None and size != resource.size:
        return f"size {size:,} bytes, expected {resource.size:,}"
    if resource.check is not None and (problem := resource.check(path)):
        return problem
    if rehash and resource.sha256 is not None and size <= REHASH_MAX_BYTES and sha256_of(path) != resource.sha256:
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
    data = _env_folder("LLM_BOOK_DATA")
    if data:
        found.append((data / resource.filename, "the file in LLM_BOOK_DATA"))
    tiktoken_cache = _env_folder("TIKTOKEN_CACHE_DIR")
    if resource.in_tiktoken_cache and tiktoken_cache:
        for url in resource.urls:
            found.append((tiktoken_cache / hashlib.sha1(url.encode()).hexdigest(), "the file in TIKTOKEN_CACHE_DIR"))
    return found


def _unwritable(folder: Path, err: OSError) -> ResourceError:
    return ResourceError(f"cannot write to the cache folder {folder} ({err}). Point LLM_BOOK_CACHE (or the "
                         f"cache / models_dir argument) to a folder you can write to, or put the file in a "
                         f"folder named by LLM_BOOK_DATA")


def _extract(resource: Resource, archive_path: Path, out_path: Path) -> None:
    """Write the archive's member `resource.zip_member` to `out_path`, or raise DownloadError."""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            if resource.zip_member not in archive.namelist():
                raise DownloadError(f"the archive has no {resource.zip_member} (it holds: "
                                    f"{', '.join(archive.namelist()[:8]) or 'nothing'})")
            declared = archive.getinfo(resource.zip_member).file_size
            if resource.size is not None and declared != resource.size:  # checked before extracting anything
                raise DownloadError(f"the archive's {resource.zip_member} has {declared:,} bytes, "
                                    f"expected {resource.size:,}")
            with archive.open(resource.zip_member) as member, open(out_path, "wb") as out:
                shutil.copyfileobj(member, out, BLOCK_BYTES)
    except (zipfile.BadZipFile, zlib.error, EOFError) as err:
        raise DownloadError(f"the download is not a valid zip archive ({err})") from err


def _fetch(resource: Resource, url: str, target: Path) -> None:
    """Download `url` into a hidden .part file next to `target`, verify it, move it into place; or raise.

    DownloadError: this URL failed (the caller tries the next). ResourceError: the folder is not writable.
    """
    part = target.with_name(f".{resource.filename}.part")
    archive = target.with_name(f".{resource.filename}.zip.part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for leftover in target.parent.glob(glob.escape(f".{resource.filename}.") + "*part"):
            leftover.unlink()  # from an earlier run that was killed mid-download
        out = open(archive if resource.zip_member else part, "wb")
    except OSError as err:
        raise _unwritable(target.parent, err) from err
    try:
        with out:
            if resource.zip_member:  # the registered size and checksum are the member's, not the archive's
                download(url, out, label=resource.filename)
            else:
                download(url, out, size=resource.size, sha256=resource.sha256, label=resource.filename)
        if resource.zip_member:
            _extract(resource, archive, part)
        problem = _problem(resource, part, rehash=bool(resource.zip_member))
        if problem:
            raise DownloadError(f"the download is corrupt ({problem}); it was deleted")
        os.replace(part, target)
    except OSError as err:  # writing the .part file or moving it into place
        raise _unwritable(target.parent, err) from err
    finally:
        part.unlink(missing_ok=True)
        archive.unlink(missing_ok=True)


def _missing(resource: Resource, target: Path, tried: list[str]) -> ResourceError:
    extract = f" and extract {resource.zip_member}" if resource.zip_member else ""
    return ResourceError(
        f"the book resource {resource.filename!r} ({resource.description}) is not available.\n"
        f"Download tried:\n" + "\n".join(tried) + "\n"
        f"Fix: download it from {resource.urls[0]}{extract}, then either put it at {target} or put it in a "
        f"folder named by the environment variable LLM_BOOK_DATA, or pass its path explicitly. "
        f"The embedded default needs none of this."
    )


def resolve(resource: str | Resource, path: str | Path | None = None, download: bool = True,
            cache: str | Path | None = None) -> Path:
    """Return a local, verified path to a book resource (see the module docstring for the search order).

    cache: the folder to look in and download into, instead of the per-user cache (e.g. a models folder).
    """
    if isinstance(resource, str):
        if resource not in RESOURCES:
            raise ResourceError(f"unknown resource {resource!r}; known: {', '.join(RESOURCES)}")
        resource = RESOURCES[resource]
    if cache is not None and not str(cache).strip():
        raise ValueError("cache is empty; pass a folder, or None for the per-user cache (an empty name "
                         "would mean the current folder)")
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ResourceError(f"{resource.filename} was not found at {path}")
        return _verified(resource, path, "the file")
    for candidate, what in _local_candidates(resource):
        if candidate.is_file():
            return _verified(resource, candidate, what)

    target = (Path(cache).expanduser() if cache is not None else cache_dir()) / resource.filename
    if target.is_file():
        if _problem(resource, target) is None:
            return target
        try:
            target.unlink()  # a corrupt cache entry is dropped and fetched again
        except OSError as err:
            raise _unwritable(target.parent, err) from err
    if not download or os.environ.get("LLM_BOOK_OFFLINE", "") == "1":
        reason = "LLM_BOOK_OFFLINE=1" if download else "download=False"
        raise _missing(resource, target, [f"  (downloads are switched off: {reason})"])
    errors = []
    for url in resource.urls:
        try:
            _fetch(resource, url, target)
            return target
        except DownloadError as err:
            errors.append(f"  {url}: {err}")
    raise _missing(resource, target, errors)
