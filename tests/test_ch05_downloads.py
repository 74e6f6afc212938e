"""Chapter 5 downloads: the resource layer against servers on 127.0.0.1 that misbehave in every way the
issue lists, GPT-2's weights (download_gpt2, load_gpt2, the safetensors check) and ch05/gpt_download.py."""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import io
import json
import math
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time
import zipfile
from functools import partial
from pathlib import Path
from types import MappingProxyType

import pytest
import torch
from safetensors.torch import save_file

import shared.config
from shared.config import MODEL_CONFIGS
from shared.download import DownloadError, download
from shared.gpt2_layout import gpt2_file_problem, gpt2_tensor_shapes, read_safetensors_header
from shared.gpt2_weights import GPT2_SIZES, download_gpt2, load_gpt2
from shared.resources import RESOURCES, Resource, ResourceError, cache_dir, resolve

ROOT = Path(__file__).resolve().parent.parent
PAYLOAD = b"Every light needs a keeper.\n" * 100  # 2,800 bytes
HTML = b"<!doctype html><html><body>Please sign in to continue.</body></html>"


# --- a server that misbehaves on request -----------------------------------------------------------------


def send_headers(handler, length: int | None, content_type: str = "application/octet-stream") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    if length is not None:
        handler.send_header("Content-Length", str(length))
    handler.end_headers()


def cut_short(handler):
    send_headers(handler, len(PAYLOAD))
    handler.wfile.write(PAYLOAD[: len(PAYLOAD) // 2])


def html_page(handler):
    send_headers(handler, len(HTML), content_type="text/html")
    handler.wfile.write(HTML)


def bad_status_line(handler):
    handler.wfile.write(b"SPAM SPAM SPAM\r\n\r\n")


def reset(handler):
    send_headers(handler, len(PAYLOAD))
    handler.wfile.write(PAYLOAD[:100])
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()  # linger 0: the close sends a TCP reset


def endless(handler):
    send_headers(handler, None)  # no Content-Length, and no end
    for _ in range(10_000):
        handler.wfile.write(PAYLOAD)


def wrong_length(handler):
    send_headers(handler, len(PAYLOAD) + 100)
    handler.wfile.write(PAYLOAD + b"!" * 100)


def no_length(handler):
    send_headers(handler, None)
    handler.wfile.write(PAYLOAD)


def trickle(handler):
    send_headers(handler, len(PAYLOAD))
    for byte in PAYLOAD:  # 2,800 bytes at 20 per second: over two minutes
        handler.wfile.write(bytes([byte]))
        time.sleep(0.05)


class Server:
    """Serves on 127.0.0.1: each path maps to bytes (a proper 200 answer with Content-Length) or to a
    function that writes the raw response itself; the paths asked for are recorded."""

    def __init__(self, routes: dict):
        self.routes, self.paths = routes, []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the stdlib's name)
                owner.paths.append(self.path)
                route = owner.routes.get(self.path)
                try:
                    if route is None:
                        self.send_error(404)
                    elif isinstance(route, bytes):
                        send_headers(self, len(route))
                        self.wfile.write(route)
                    else:
                        route(self)
                except OSError:
                    pass  # the client hung up (a deadline, too many bytes): what the test wanted

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def zip_of(**members: bytes) -> bytes:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return archive.getvalue()


@pytest.fixture
def server():
    srv = Server({
        "/story.txt": PAYLOAD, "/wrong-bytes": PAYLOAD[:-1] + b"!", "/cut-short": cut_short, "/html": html_page,
        "/bad-status": bad_status_line, "/reset": reset, "/endless": endless, "/wrong-length": wrong_length,
        "/no-length": no_length, "/trickle": trickle,
        "/bundle.zip": zip_of(readme=b"see data.tsv", **{"data.tsv": PAYLOAD}),
        "/no-member.zip": zip_of(readme=b"the data went elsewhere"), "/not-a-zip.zip": b"PK\x03\x04" + HTML,
        "/other-data.zip": zip_of(**{"data.tsv": PAYLOAD + b"!"}),
    })
    yield srv
    srv.close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LLM_BOOK_CACHE", str(tmp_path / "cache"))
    for var in ["LLM_BOOK_DATA", "LLM_BOOK_OFFLINE", "TIKTOKEN_CACHE_DIR"]:
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "cache"


def files_in(folder: Path) -> list[str]:
    """Every file in `folder`, hidden .part files included ([] if the folder does not exist)."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def story(server, *paths: str, zip_member: str | None = None, size: int | None = len(PAYLOAD)) -> Resource:
    return Resource("test-story", zip_member or "story.txt", tuple(server.url + p for p in paths),
                    hashlib.sha256(PAYLOAD).hexdigest() if size else None, size, "test", "a test file",
                    zip_member=zip_member)


# --- every failure is one ResourceError, leaves nothing behind, and the backup URL is tried ---------------

FAILURES = [  # (path, zip member or None, what the message says about this URL)
    ("/cut-short", None, "the connection closed after 1,400 of 2,800 bytes"),
    ("/html", None, "HTML page"),
    ("/bad-status", None, "BadStatusLine"),
    ("/reset", None, "ConnectionResetError|RemoteDisconnected|closed after 100 of 2,800"),
    ("/endless", None, "the server sent more than the 2,800 bytes expected"),
    ("/wrong-length", None, "announces 2,900 bytes, but the file has 2,800"),
    ("/wrong-bytes", None, "sha256 checksum does not match"),
    ("/missing", None, "404"),
    ("/no-member.zip", "data.tsv", r"the archive has no data.tsv \(it holds: readme\)"),
    ("/not-a-zip.zip", "data.tsv", "not a valid zip archive"),
    ("/other-data.zip", "data.tsv", "the archive's data.tsv has 2,801 bytes, expected 2,800"),
]


@pytest.mark.parametrize("path, member, reason", FAILURES, ids=[f[0] for f in FAILURES])
def test_a_failed_download_is_one_clear_error_and_leaves_nothing(server, cache, path, member, reason):
    with pytest.raises(ResourceError) as err:
        resolve(story(server, path, zip_member=member))
    message = str(err.value)
    assert message.count("is not available") == 1
    assert f"{server.url}{path}: " in message
    assert re.search(reason, message), message
    for needed in [member or "story.txt", str(cache / (member or "story.txt")), "LLM_BOOK_DATA"]:
        assert needed in message
    assert files_in(cache) == []


@pytest.mark.parametrize("path, member, reason", FAILURES, ids=[f[0] for f in FAILURES])
def test_the_backup_url_is_tried_after_a_failure(server, cache, path, member, reason):
    backup = "/bundle.zip" if member else "/story.txt"
    assert resolve(story(server, path, backup, zip_member=member)).read_bytes() == PAYLOAD
    assert server.paths == [path, backup]
    assert files_in(cache) == [member or "story.txt"]


def test_a_file_of_unknown_size_needs_a_content_length(server, cache):
    with pytest.raises(ResourceError, match="no Content-Length.*unbounded download is refused"):
        resolve(story(server, "/no-length", size=None))
    assert resolve(story(server, "/story.txt", size=None)).read_bytes() == PAYLOAD  # announced: accepted


def test_a_trickling_server_is_given_up_at_the_deadline(server):
    out = io.BytesIO()
    with pytest.raises(DownloadError, match=r"gave up after 1 s with \d+ of 2,800 bytes \(the server is too slow\)"):
        download(server.url + "/trickle", out, size=len(PAYLOAD), deadline_s=1.0)
    assert 0 < len(out.getvalue()) < len(PAYLOAD)


def test_reading_stops_soon_after_the_expected_size(server):
    out = io.BytesIO()
    with pytest.raises(DownloadError, match="more than the 2,800 bytes"):
        download(server.url + "/endless", out, size=len(PAYLOAD))
    assert len(out.getvalue()) <= len(PAYLOAD)  # the extra byte that gave it away is not written


def test_an_unwritable_cache_is_one_error_before_any_download(server, tmp_path, monkeypatch, cache):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("LLM_BOOK_CACHE", str(tmp_path / "a-file" / "cache"))
    with pytest.raises(ResourceError, match="cannot write to the cache folder .*LLM_BOOK_CACHE"):
        resolve(story(server, "/story.txt", "/story.txt"))
    assert server.paths == []


def test_part_files_of_a_killed_run_are_removed(server, cache):
    cache.mkdir()
    for leftover in [".story.txt.part", ".story.txt.zip.part", ".story.txt.x8f2k1q9.part"]:
        (cache / leftover).write_bytes(PAYLOAD[:10])
    (cache / ".story.txt2.part").write_bytes(b"another file's download")
    assert resolve(story(server, "/story.txt")).read_bytes() == PAYLOAD
    assert files_in(cache) == [".story.txt2.part", "story.txt"]


def test_an_empty_setting_never_means_the_current_folder(server, tmp_path, monkeypatch):
    home, work = tmp_path / "home", tmp_path / "work"
    work.mkdir()
    (work / "story.txt").write_bytes(PAYLOAD)  # a copy in the current folder must not be picked up
    monkeypatch.chdir(work)
    monkeypatch.setenv("HOME", str(home))
    for var in ["LLM_BOOK_CACHE", "LLM_BOOK_DATA", "TIKTOKEN_CACHE_DIR"]:
        monkeypatch.setenv(var, "")
    monkeypatch.delenv("LLM_BOOK_OFFLINE", raising=False)
    assert cache_dir() == home / ".cache" / "llm-from-scratch-book"
    assert resolve(story(server, "/story.txt")) == cache_dir() / "story.txt"
    assert files_in(work) == ["story.txt"]
    with pytest.raises(ValueError, match="cache is empty"):
        resolve(story(server, "/story.txt"), cache="")


# --- GPT-2's weights ---------------------------------------------------------------------------------------

TINY_GPT2 = {"vocab_size": 64, "context_length": 16, "emb_dim": 8, "n_heads": 2, "n_layers": 2, "drop_rate": 0.0,
             "qkv_bias": True}


def hf_gpt2(cfg: dict, seed: int):
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(seed)
    config = transformers.GPT2Config(
        vocab_size=cfg["vocab_size"], n_positions=cfg["context_length"], n_embd=cfg["emb_dim"],
        n_head=cfg["n_heads"], n_layer=cfg["n_layers"], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        activation_function="gelu_new", layer_norm_epsilon=1e-5)
    config._attn_implementation = "eager"
    return transformers.GPT2LMHeadModel(config).eval()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """(Hugging Face model, its safetensors file as written by save_pretrained, a file of another model)."""
    folder = tmp_path_factory.mktemp("hf")
    model = hf_gpt2(TINY_GPT2, seed=1)
    model.save_pretrained(folder / "tiny")
    hf_gpt2({**TINY_GPT2, "emb_dim": 12, "n_layers": 3}, seed=2).save_pretrained(folder / "other")
    return model, (folder / "tiny" / "model.safetensors").read_bytes(), (folder / "other" / "model.safetensors").read_bytes()


@pytest.fixture
def gpt2_server(checkpoints):
    _, good, other = checkpoints
    srv = Server({"/model.safetensors": good, "/truncated.safetensors": good[: len(good) * 2 // 3],
                  "/other.safetensors": other, "/login.safetensors": HTML})
    yield srv
    srv.close()


@pytest.fixture
def tiny_gpt2_size(gpt2_server, checkpoints, monkeypatch, cache):
    """Registers a GPT-2 size "tiny" (preset, resource) served by gpt2_server, as the real sizes are."""
    good = checkpoints[1]
    # the preset registry is read-only: the test swaps in a copy that also knows the tiny model
    monkeypatch.setattr(shared.config, "MODEL_CONFIGS", MappingProxyType({**MODEL_CONFIGS,
                                                                        "gpt2-tiny (test)": TINY_GPT2}))
    monkeypatch.setitem(GPT2_SIZES, "tiny", "gpt2-tiny (test)")
    monkeypatch.setitem(RESOURCES, "gpt2-tiny-weights", Resource(
        "gpt2-tiny-weights", "gpt2-tiny.safetensors", (gpt2_server.url + "/model.safetensors",),
        hashlib.sha256(good).hexdigest(), len(good), "test", "a tiny GPT-2 built with transformers",
        check=partial(gpt2_file_problem, cfg=TINY_GPT2)))
    return "tiny"


def test_download_gpt2_and_load_gpt2_from_a_local_server(tiny_gpt2_size, gpt2_server, checkpoints, tmp_path):
    hf_model, good, _ = checkpoints
    models_dir = tmp_path / "gpt2"
    path = download_gpt2("tiny", models_dir)
    assert path == models_dir / "gpt2-tiny.safetensors" and path.read_bytes() == good

    model = load_gpt2("tiny", models_dir)
    assert gpt2_server.paths == ["/model.safetensors"]  # the second call found the verified file
    assert not model.training
    assert model.out_head.weight is not model.tok_emb.weight  # its own copy of the embedding, as in the book
    assert torch.equal(model.out_head.weight, model.tok_emb.weight)
    ids = torch.randint(0, TINY_GPT2["vocab_size"], (2, TINY_GPT2["context_length"]))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), hf_model(ids).logits, atol=1e-5, rtol=0)

    tied = load_gpt2("tiny", models_dir, tie_weights=True)
    assert tied.out_head.weight is tied.tok_emb.weight


@pytest.mark.parametrize("path, reason", [
    ("/truncated.safetensors", "cut off"),
    ("/other.safetensors", r"12 unexpected \(transformer\.h\.2\..*28 with other shapes \(wte\.weight \(64, 12\) instead of \(64, 8\)"),
    ("/login.safetensors", "not a safetensors file"),
], ids=["truncated", "another-model", "html-page"])
def test_a_weight_file_that_is_not_the_expected_model_never_enters_the_cache(gpt2_server, cache, path, reason):
    unchecked = Resource("gpt2-tiny-weights", "gpt2-tiny.safetensors", (gpt2_server.url + path,), None, None,
                         "test", "a tiny GPT-2", check=partial(gpt2_file_problem, cfg=TINY_GPT2))
    with pytest.raises(ResourceError, match=reason):  # no size, no checksum: the header check alone
        resolve(unchecked, cache=cache / "gpt2")
    assert files_in(cache / "gpt2") == []


def write_safetensors(path: Path, header: dict, data: bytes) -> Path:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data)
    return path


def test_the_header_check_reads_offsets_against_the_file(tmp_path, checkpoints):
    good = tmp_path / "good.safetensors"
    good.write_bytes(checkpoints[1])
    assert gpt2_file_problem(good, TINY_GPT2) is None
    assert len(read_safetensors_header(good)) == len(gpt2_tensor_shapes(TINY_GPT2))
    openai_layout = {k.removeprefix("transformer."): v.contiguous() for k, v in checkpoints[0].state_dict().items()
                     if k != "lm_head.weight"}  # no prefix, no head, and the causal-mask buffers OpenAI's files carry
    openai_layout.update({f"h.{i}.attn.bias": torch.ones(1, 1, 16, 16) for i in range(TINY_GPT2["n_layers"])})
    save_file(openai_layout, tmp_path / "openai.safetensors")
    assert gpt2_file_problem(tmp_path / "openai.safetensors", TINY_GPT2) is None

    entry = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    cases = {
        "gap": ({"a": entry, "b": {**entry, "data_offsets": [12, 20]}}, bytes(20), "starts at byte 12, expected 8"),
        "short": ({"a": entry}, bytes(6), "need 8 bytes of data, the file holds 6 (cut off)"),
        "long": ({"a": entry}, bytes(9), "extra bytes at the end"),
        "size": ({"a": {**entry, "shape": [3]}}, bytes(8), "needs 12 bytes, its byte range has 8"),
        "dtype": ({"a": {**entry, "dtype": "F31"}}, bytes(8), "entry for 'a' is malformed"),
    }
    for name, (header, data, reason) in cases.items():
        with pytest.raises(ValueError, match=re.escape(reason)):
            read_safetensors_header(write_safetensors(tmp_path / f"{name}.safetensors", header, data))
    (tmp_path / "huge.safetensors").write_bytes(struct.pack("<Q", 10**9) + b"{}")
    assert "announce a 1,000,000,000-byte header" in gpt2_file_problem(tmp_path / "huge.safetensors", TINY_GPT2)


def test_the_expected_layouts_have_gpt2s_parameter_counts():
    counts = {"124M": 124_439_808, "355M": 354_823_168, "774M": 774_030_080, "1558M": 1_557_611_200}
    for size, count in counts.items():
        shapes = gpt2_tensor_shapes(MODEL_CONFIGS[GPT2_SIZES[size]])
        assert sum(math.prod(shape) for shape in shapes.values()) == count


def test_every_gpt2_size_is_registered_with_a_checksum_and_a_header_check():
    for size, repo in [("124M", "gpt2"), ("355M", "gpt2-medium"), ("774M", "gpt2-large"), ("1558M", "gpt2-xl")]:
        entry = RESOURCES[f"gpt2-{size}-weights"]
        assert entry.urls == (f"https://huggingface.co/openai-community/{repo}/resolve/main/model.safetensors",)
        assert len(entry.sha256) == 64 and entry.check is not None
    assert RESOURCES["sms-spam-collection"].urls[1].startswith("https://f001.backblazeb2.com/")


def test_gpt2_offline_names_the_file_the_url_and_where_to_put_it(cache, monkeypatch, tmp_path):
    monkeypatch.setenv("LLM_BOOK_OFFLINE", "1")
    with pytest.raises(ResourceError) as err:
        download_gpt2("124M", tmp_path / "gpt2")
    for needed in ["gpt2-124M.safetensors", "https://huggingface.co/openai-community/gpt2/resolve/main/",
                   str(tmp_path / "gpt2" / "gpt2-124M.safetensors"), "LLM_BOOK_OFFLINE=1"]:
        assert needed in str(err.value)
    assert not (tmp_path / "gpt2").exists()


def test_gpt2_bad_arguments_are_clear_errors(cache):
    with pytest.raises(ValueError, match=r"unknown GPT-2 model size '125M'; choose one of \['124M'"):
        download_gpt2("125M")
    with pytest.raises(ValueError, match="unknown GPT-2 model size"):
        load_gpt2("gpt2-small (124M)")
    with pytest.raises(ValueError, match="cache is empty"):
        download_gpt2("124M", "")


# --- ch05/gpt_download.py ------------------------------------------------------------------------------------


def load_script():
    spec = importlib.util.spec_from_file_location("ch05_gpt_download", ROOT / "ch05" / "gpt_download.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_gpt_download_downloads_then_finds_the_file(tiny_gpt2_size, gpt2_server, tmp_path, capsys):
    script = load_script()
    models_dir = tmp_path / "gpt2"
    assert script.main(["--model-size", "tiny", "--models-dir", str(models_dir)]) == 0
    printed = capsys.readouterr().out
    assert f"downloading GPT-2 tiny (0.0 MB) from {gpt2_server.url}/model.safetensors" in printed
    assert f"verified {models_dir / 'gpt2-tiny.safetensors'}" in printed and "28 tensors" in printed
    assert script.main(["--model-size", "tiny", "--models-dir", str(models_dir)]) == 0
    assert "found a verified copy of GPT-2 tiny: nothing to download" in capsys.readouterr().out
    assert gpt2_server.paths == ["/model.safetensors"]


def test_gpt_download_runs_as_a_script_and_explains_offline(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LLM_BOOK_DATA", "LLM_BOOK_CACHE")}
    env["LLM_BOOK_OFFLINE"] = "1"
    result = subprocess.run([sys.executable, str(ROOT / "ch05" / "gpt_download.py"), "--model-size", "355M",
                             "--models-dir", str(tmp_path / "gpt2")], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("error: the book resource 'gpt2-355M.safetensors'")
    assert "LLM_BOOK_OFFLINE=1" in result.stderr and "Traceback" not in result.stderr
