"""Chapter 2: the data pipeline, get_tokenizer, the resource layer and the chapter's notebooks.

The tokenizer classes themselves are tested in test_ch02_bpe.py.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import threading
import time
import zipfile
from pathlib import Path

import pytest
import torch
from book_data import book_resource
from notebook_checks import chapter_notebooks, execute_notebook

from shared import GPTDatasetV1, create_dataloader_v1, get_tokenizer, load_corpus
from shared.resources import RESOURCES, Resource, ResourceError, resolve

# --- the embedded corpus and tokenizer -------------------------------------------------------------


def test_embedded_corpus_is_long_original_prose():
    text = load_corpus()
    assert len(text) >= 40_000
    assert text == load_corpus("embedded")


def test_embedded_tokenizer_round_trip_and_special_token():
    tokenizer = get_tokenizer()
    assert tokenizer.n_vocab == 2048
    assert tokenizer.encode("<|endoftext|>", allowed_special={"<|endoftext|>"}) == [2047]
    for text in [load_corpus()[:2000], "Zoë's café — 12 boats at 7 o'clock?!  \n\n\tdone 🙂"]:
        assert tokenizer.decode(tokenizer.encode(text)) == text


def test_unknown_names_are_rejected():
    with pytest.raises(ValueError, match="unknown tokenizer"):
        get_tokenizer("gpt5")
    with pytest.raises(ValueError, match="unknown corpus"):
        load_corpus("war-and-peace")


# --- dataset windows and loader ------------------------------------------------------------------------


class CountingTokenizer:
    """Encodes a text of space-separated integers as those integers: windows are easy to read."""

    def encode(self, text, allowed_special=frozenset()):
        return [int(t) for t in text.split()]


def numbers(n: int) -> str:
    return " ".join(str(i) for i in range(n))


def test_dataset_windows_and_shifted_targets():
    dataset = GPTDatasetV1(numbers(10), CountingTokenizer(), max_length=4, stride=3)
    windows = [(x.tolist(), y.tolist()) for x, y in dataset]
    assert windows == [([0, 1, 2, 3], [1, 2, 3, 4]), ([3, 4, 5, 6], [4, 5, 6, 7])]


@pytest.mark.parametrize("max_length,stride", [(2, 2), (8, 2), (4, 1), (256, 128)])
def test_targets_are_inputs_moved_by_one(max_length, stride):
    tokenizer = get_tokenizer()
    dataset = GPTDatasetV1(load_corpus(), tokenizer, max_length, stride)
    ids = tokenizer.encode(load_corpus(), allowed_special={"<|endoftext|>"})
    assert len(dataset) == len(range(0, len(ids) - max_length, stride))
    for i in [0, 1, len(dataset) - 1]:
        x, y = dataset[i]
        assert x.shape == y.shape == (max_length,)
        assert x.tolist() == ids[i * stride:i * stride + max_length]
        assert torch.equal(x[1:], y[:-1])


def test_loader_shapes_and_order():
    loader = create_dataloader_v1(load_corpus(), batch_size=8, max_length=16, stride=16, shuffle=False)
    inputs, targets = next(iter(loader))
    assert inputs.shape == targets.shape == (8, 16)
    assert inputs.dtype == torch.long
    assert inputs[1, 0] == targets[0, -1]  # stride == max_length: windows follow each other
    assert torch.equal(inputs[0, 1:], targets[0, :-1])
    assert all(x.shape == (8, 16) for x, _ in loader)  # drop_last keeps every batch full


def test_loader_shuffle_is_seeded():
    def first_batch():
        torch.manual_seed(123)
        return next(iter(create_dataloader_v1(load_corpus(), batch_size=4, max_length=8, stride=8)))[0]
    assert torch.equal(first_batch(), first_batch())


def test_text_shorter_than_context_is_a_clear_error():
    with pytest.raises(ValueError, match=r"5 tokens long, but max_length=8 needs at least 9"):
        GPTDatasetV1(numbers(5), CountingTokenizer(), max_length=8, stride=1)
    with pytest.raises(ValueError, match="max_length=4 needs at least 5"):
        create_dataloader_v1("Every", max_length=4, stride=1)


@pytest.mark.parametrize("stride", [0, -3])
def test_non_positive_stride_is_a_clear_error(stride):
    with pytest.raises(ValueError, match="stride must be a positive number"):
        GPTDatasetV1(numbers(20), CountingTokenizer(), max_length=4, stride=stride)


def test_empty_loader_is_a_clear_error():
    with pytest.raises(ValueError, match="the loader would be empty"):
        create_dataloader_v1(load_corpus()[:300], batch_size=64, max_length=16, stride=16)


# --- the book's resources (../shared/data in CI; skipped locally when absent) -------------------------


def test_gpt2_tokenizer_on_the_verdict_matches_the_book():
    verdict = book_resource("the-verdict").read_text(encoding="utf-8")
    book_resource("gpt2-vocab-bpe")
    book_resource("gpt2-encoder-json")
    tokenizer = get_tokenizer("gpt2")
    assert tokenizer.n_vocab == 50257
    assert len(tokenizer.encode(verdict)) == 5145
    loader = create_dataloader_v1(verdict, batch_size=8, max_length=4, stride=4, shuffle=False,
                                  tokenizer=tokenizer)
    inputs, targets = next(iter(loader))
    assert inputs.tolist() == [[40, 367, 2885, 1464], [1807, 3619, 402, 271], [10899, 2138, 257, 7026],
                               [15632, 438, 2016, 257], [922, 5891, 1576, 438], [568, 340, 373, 645],
                               [1049, 5975, 284, 502], [284, 3285, 326, 11]]
    assert targets[:, :-1].tolist() == inputs[:, 1:].tolist()
    assert targets[0].tolist() == [367, 2885, 1464, 1807]


def test_book_corpus_loads_through_the_resource_layer():
    book_resource("the-verdict")
    assert load_corpus("the-verdict").startswith("I HAD always thought Jack Gisburn")


# --- the resource layer against a local HTTP server -----------------------------------------------------


class _Server:
    """Serves fixed bytes per path on 127.0.0.1 and counts the requests."""

    def __init__(self, files: dict[str, bytes]):
        self.files, self.requests = files, 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                owner.requests += 1
                body = owner.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    payload = b"Every light needs a keeper.\n" * 100
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("readme.txt", "not this one")
        z.writestr("data.tsv", payload)
    srv = _Server({"/story.txt": payload, "/bundle.zip": archive.getvalue(), "/wrong.txt": payload[:-1] + b"!"})
    srv.payload = payload
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_CACHE", str(tmp_path / "cache"))
    for var in ["LLM_BOOK_DATA", "LLM_BOOK_OFFLINE", "TIKTOKEN_CACHE_DIR"]:
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"


def make_resource(server, *paths: str, zip_member=None, filename="story.txt") -> Resource:
    return Resource("test-story", filename, tuple(server.url + p for p in paths),
                    hashlib.sha256(server.payload).hexdigest(), len(server.payload), "test", "a test file",
                    zip_member=zip_member)


def test_download_is_verified_cached_and_reused(server, cache):
    resource = make_resource(server, "/story.txt")
    path = resolve(resource)
    assert path == cache / "story.txt" and path.read_bytes() == server.payload
    assert resolve(resource) == path and server.requests == 1  # second call: from the cache
    assert list(cache.iterdir()) == [path]  # no temporary files left behind


def test_checksum_mismatch_leaves_no_file(server, cache):
    with pytest.raises(ResourceError, match="corrupt") as err:
        resolve(make_resource(server, "/wrong.txt"))
    assert "story.txt" in str(err.value)
    assert not cache.exists() or list(cache.iterdir()) == []


def test_backup_url_is_used_when_the_first_fails(server, cache):
    assert resolve(make_resource(server, "/missing.txt", "/story.txt")).read_bytes() == server.payload


def test_zip_member_is_extracted(server, cache):
    resource = make_resource(server, "/bundle.zip", zip_member="data.tsv", filename="data.tsv")
    assert resolve(resource).read_bytes() == server.payload


def test_corrupt_cache_entry_is_replaced(server, cache):
    cache.mkdir()
    (cache / "story.txt").write_text("truncated")
    assert resolve(make_resource(server, "/story.txt")).read_bytes() == server.payload


def test_unreachable_host_fails_fast_with_a_helpful_message(cache):
    resource = Resource("test-story", "story.txt", ("http://127.0.0.1:9/story.txt",), None, None, "test", "a file")
    start = time.perf_counter()
    with pytest.raises(ResourceError) as err:
        resolve(resource)
    assert time.perf_counter() - start < 5
    message = str(err.value)
    for needed in ["story.txt", "http://127.0.0.1:9/story.txt", str(cache / "story.txt"), "LLM_BOOK_DATA"]:
        assert needed in message
    assert not cache.exists() or list(cache.iterdir()) == []


def test_offline_switch_forbids_downloads(server, cache, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_OFFLINE", "1")
    with pytest.raises(ResourceError, match="downloads are switched off"):
        resolve(make_resource(server, "/story.txt"))
    assert server.requests == 0


def test_data_folder_and_explicit_path_come_first(server, cache, tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "story.txt").write_bytes(server.payload)
    monkeypatch.setenv("LLM_BOOK_DATA", str(folder))
    resource = make_resource(server, "/story.txt")
    assert resolve(resource) == folder / "story.txt"
    assert resolve(resource, path=folder / "story.txt") == folder / "story.txt"
    assert server.requests == 0
    (folder / "story.txt").write_text("edited by hand")
    with pytest.raises(ResourceError, match="not a valid copy"):
        resolve(resource)
    with pytest.raises(ResourceError, match="was not found at"):
        resolve(resource, path=folder / "nope.txt")


def test_registry_lists_every_book_file_with_license():
    for name in ["gpt2-vocab-bpe", "gpt2-encoder-json", "the-verdict", "sms-spam-collection", "instruction-data",
                 "gpt2-124M-weights", "gpt2-1558M-weights"]:
        entry = RESOURCES[name]
        assert entry.urls and entry.license and entry.filename
    with pytest.raises(ResourceError, match="unknown resource"):
        resolve("no-such-file")


# --- notebooks ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", chapter_notebooks("ch02"), ids=lambda p: p.name)
def test_notebook_runs(path: Path):
    execute_notebook(path)
