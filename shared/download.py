"""Download one file over HTTP so that only the complete, expected bytes get through (Chapter 2).

Usage:
    from shared.download import DownloadError, download
    with open("story.txt.part", "wb") as out:
        download("https://example.org/story.txt", out, size=20_479, sha256="b41e41a6...")

`shared.resources` calls this for every book resource and takes care of the temporary file, the cache
and the backup URLs. `download` returns only if all of this holds, and raises DownloadError otherwise:
  - the server answered 200 OK, and not with an HTML page (a login, error or captive-portal page);
  - the size the server announces (Content-Length) is the size the caller expects; a server that
    announces another size is refused before the body is read, and one that announces none is accepted
    only when the caller knows the size;
  - the bytes received are exactly that many: reading stops as soon as one byte too many arrives, and a
    connection that closes early is a failure, not a shorter file;
  - no connect and no single read waits longer than TIMEOUT_S, and the whole file must arrive within
    DEADLINE_BASE_S + size / MIN_AVERAGE_RATE seconds, so a server that trickles a byte now and then is
    given up on rather than waited for forever;
  - the sha256 checksum, when given, matches; it is computed while the bytes stream past.
Every failure of the network or of the server (refused connection, reset, timeout, bad status line,
cut-off body) becomes one DownloadError with a short reason; the caller decides whether to try elsewhere.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.error
import urllib.request
from typing import BinaryIO

from tqdm import tqdm  # the text bar: tqdm.auto warns in every notebook kernel without ipywidgets

TIMEOUT_S = 10                 # the longest wait for a connection or for any single read
MIN_AVERAGE_RATE = 100_000     # bytes per second: a slower transfer is abandoned at its deadline
DEADLINE_BASE_S = 60           # every file gets this much time on top
BLOCK_BYTES = 1 << 20
PROGRESS_FROM_BYTES = 10_000_000  # show a progress bar for files at least this large
USER_AGENT = "llm-from-scratch-book (Python urllib)"


class DownloadError(RuntimeError):
    """A download failed or delivered something other than the expected file; the message says how."""


def deadline_for(n_bytes: int) -> float:
    """Seconds allowed for a whole file of `n_bytes`: DEADLINE_BASE_S plus its time at MIN_AVERAGE_RATE."""
    return DEADLINE_BASE_S + n_bytes / MIN_AVERAGE_RATE


def _expected_bytes(response: http.client.HTTPResponse, size: int | None) -> int:
    """How many bytes the body must have, from the status, the headers and the size the caller expects."""
    if response.status != 200:
        raise DownloadError(f"the server answered {response.status} {response.reason} instead of 200 OK")
    if response.headers.get_content_type() == "text/html":
        raise DownloadError("the server sent an HTML page instead of the file (an error, login or "
                            "captive-portal page?)")
    announced = response.headers.get("Content-Length")
    if announced is None:
        if size is None:
            raise DownloadError("the server does not say how large the file is (no Content-Length) and no "
                                "size is registered for it; an unbounded download is refused")
        return size
    if not announced.strip().isdigit():
        raise DownloadError(f"the server sent an invalid Content-Length {announced!r}")
    if size is not None and int(announced) != size:
        raise DownloadError(f"the server announces {int(announced):,} bytes, but the file has {size:,} "
                            f"(an error page, or another version of the file?)")
    return int(announced)


def _stream(response: http.client.HTTPResponse, out: BinaryIO, expected: int, deadline_s: float,
            label: str) -> str:
    """Copy exactly `expected` bytes of the body to `out` before the deadline; return their sha256."""
    digest = hashlib.sha256()
    received = 0
    give_up_at = time.monotonic() + deadline_s
    with tqdm(total=expected, unit="B", unit_scale=True, desc=label, disable=expected < PROGRESS_FROM_BYTES) as bar:
        while True:
            if time.monotonic() > give_up_at:
                raise DownloadError(f"gave up after {deadline_s:,.0f} s with {received:,} of {expected:,} bytes "
                                    f"(the server is too slow)")
            block = response.read1(expected - received + 1)  # at most one byte more than expected
            if not block:
                break
            received += len(block)
            if received > expected:
                raise DownloadError(f"the server sent more than the {expected:,} bytes expected")
            out.write(block)
            digest.update(block)
            bar.update(len(block))
    if received != expected:
        raise DownloadError(f"the connection closed after {received:,} of {expected:,} bytes")
    return digest.hexdigest()


def download(url: str, out: BinaryIO, *, size: int | None = None, sha256: str | None = None,
             deadline_s: float | None = None, label: str = "") -> None:
    """Stream `url` into the open binary file `out`, enforcing everything the module docstring lists.

    size: the exact number of bytes expected, or None to rely on the server's Content-Length.
    sha256: the expected hex digest, or None. deadline_s: seconds for the whole transfer
    (default: `deadline_for` the expected size). label: the name on the progress bar.
    Raises DownloadError; `out` may then hold part of the file, which the caller must discard.
    """
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            expected = _expected_bytes(response, size)
            seconds = deadline_for(expected) if deadline_s is None else deadline_s
            digest = _stream(response, out, expected, seconds, label)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"the server answered {err.code} {err.reason}") from err
    except urllib.error.URLError as err:
        raise DownloadError(f"cannot connect ({err.reason})") from err
    except TimeoutError as err:
        raise DownloadError(f"no answer for {TIMEOUT_S} s (timed out)") from err
    except (OSError, http.client.HTTPException) as err:  # resets, bad status lines, cut-off chunked bodies
        raise DownloadError(f"the transfer failed ({type(err).__name__}: {str(err).strip()[:100]})") from err
    if sha256 is not None and digest != sha256:
        raise DownloadError("the sha256 checksum does not match: the download is corrupt or another version")
