"""Scoring model responses with a larger model served by Ollama, through its REST API (Chapter 7).

Usage:
    from shared.ollama import ollama_running, query_model, generate_model_scores, average_score
    if ollama_running():                                   # GET /api/tags answers: a server is up
        print(query_model("What do llamas eat?", model="llama3"))
        scores = generate_model_scores(test_data, "model_response", model="llama3")
        print(f"Number of scores: {len(scores)} of {len(test_data)}; average score: {average_score(scores):.2f}")

Ollama (https://ollama.com) runs open-weight models on a laptop and answers HTTP on 127.0.0.1:11434. This
client needs nothing but the standard library: `query_model` POSTs one user message to /api/chat with
`stream: true` and joins the JSON lines the server sends back, one piece of the answer per line, until the
line with `"done": true`. A fixed seed and temperature 0 make the judge's answers reproducible.

The judge is asked for a score from 0 to 100 for each (instruction, reference answer, model response); its
reply may wrap the number in words ("Score: 85/100"), so `parse_score` picks the number out of the text.
When no server answers, `OllamaNotRunning` says how to start one (`ollama serve`, `ollama pull llama3`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

DEFAULT_HOST = "http://127.0.0.1:11434"
DEFAULT_MODEL = "llama3"
_open = urllib.request.build_opener(urllib.request.ProxyHandler({})).open  # a local server: never via a proxy


class OllamaError(RuntimeError):
    """The Ollama server answered with an error (an unknown model, a bad request); the message says what to do."""


class OllamaNotRunning(OllamaError):
    """No Ollama server answers at the host; the message says how to start one."""


def default_host() -> str:
    """The server's address: $OLLAMA_HOST (Ollama's own variable, e.g. "127.0.0.1:11434") or 127.0.0.1:11434."""
    host = os.environ.get("OLLAMA_HOST", "").strip() or DEFAULT_HOST
    return host if "://" in host else f"http://{host}"


def _base(host: str | None) -> str:
    return (host or default_host()).rstrip("/")


def not_running_message(host: str | None = None, model: str = DEFAULT_MODEL) -> str:
    """What to do when no Ollama server answers at `host`."""
    return (f"No Ollama server answers at {_base(host)}. To score the responses with a larger model:\n"
            f"  1. install Ollama from https://ollama.com/download\n"
            f"  2. start the server in a terminal:   ollama serve   (the desktop app starts it too)\n"
            f"  3. fetch a model once:               ollama pull {model}   (about 4.7 GB; llama3.2 is 2 GB)\n"
            f"then run this again; --host (or OLLAMA_HOST) points to a server elsewhere.")


def ollama_running(host: str | None = None, timeout: float = 2.0) -> bool:
    """True when an Ollama server answers GET /api/tags at `host` within `timeout` seconds."""
    try:
        list_models(host, timeout)
    except OllamaError:
        return False
    return True


def check_ollama(host: str | None = None, model: str = DEFAULT_MODEL, timeout: float = 2.0) -> None:
    """Raise `OllamaNotRunning` (with how to start it) when no server answers at `host`."""
    if not ollama_running(host, timeout):
        raise OllamaNotRunning(not_running_message(host, model))


def list_models(host: str | None = None, timeout: float = 2.0) -> list[str]:
    """The names of the models the server has pulled (GET /api/tags), e.g. ["llama3:latest"]."""
    url = f"{_base(host)}/api/tags"
    try:
        with _open(url, timeout=timeout) as response:
            answer = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError) as err:
        raise OllamaNotRunning(f"{not_running_message(host)}\n({type(err).__name__}: {err})") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("models"), list):
        raise OllamaNotRunning(f"{url} answered, but not as an Ollama server does (no 'models' list)")
    return [m.get("name", "") for m in answer["models"] if isinstance(m, dict)]


def stream_chat(prompt: str, model: str = DEFAULT_MODEL, url: str | None = None, seed: int = 123,
                temperature: float = 0.0, num_ctx: int = 2048, timeout: float = 300.0) -> Iterator[str]:
    """Yield the pieces of the model's answer to one user message as the server streams them."""
    url = url or f"{default_host()}/api/chat"
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": prompt}],
        "options": {"seed": seed, "temperature": temperature, "num_ctx": num_ctx},  # reproducible answers
        "stream": True,
    }
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    host = url.split("/api/")[0]
    try:
        response = _open(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        detail = _error_text(err.read())
        hint = f"; fetch the model with: ollama pull {model}" if err.code == 404 else ""
        raise OllamaError(f"Ollama at {host} refused the request (HTTP {err.code}: {detail}){hint}") from None
    except (urllib.error.URLError, OSError) as err:
        raise OllamaNotRunning(f"{not_running_message(host, model)}\n({type(err).__name__}: {err})") from None
    with response:
        for line in response:  # one JSON object per line
            if not line.strip():
                continue
            try:
                chunk = json.loads(line)
            except ValueError:
                raise OllamaError(f"Ollama at {host} sent a line that is not JSON: {line[:200]!r}") from None
            if "error" in chunk:
                raise OllamaError(f"Ollama at {host} stopped with an error: {chunk['error']}")
            yield chunk.get("message", {}).get("content", "")
            if chunk.get("done"):
                return
    raise OllamaError(f"Ollama at {host} closed the stream before its final 'done' line; try again")


def _error_text(body: bytes) -> str:
    try:
        return str(json.loads(body).get("error", body[:200]))
    except (ValueError, AttributeError):
        return body[:200].decode("utf-8", errors="replace")


def query_model(prompt: str, model: str = DEFAULT_MODEL, url: str | None = None, seed: int = 123,
                temperature: float = 0.0, num_ctx: int = 2048, timeout: float = 300.0) -> str:
    """The model's whole answer to `prompt` (the streamed pieces joined); `url` ends in /api/chat."""
    return "".join(stream_chat(prompt, model, url, seed, temperature, num_ctx, timeout))


def describe_task(entry: dict[str, Any]) -> str:
    """The task of an instruction entry in plain words: its instruction, and its input when it has one."""
    text = f"Instruction: {entry['instruction']}"
    if entry.get("input"):
        text += f"\nInput: {entry['input']}"
    return text


def scoring_prompt(entry: dict[str, Any], json_key: str = "model_response") -> str:
    """The request to the judge: score `entry[json_key]` against the reference `entry["output"]`, 0 to 100."""
    return (f"You are grading the answer of a small language model.\n\n{describe_task(entry)}\n\n"
            f"Reference answer: {entry['output']}\n\nModel's answer: {entry[json_key]}\n\n"
            f"How well does the model's answer complete the task, compared with the reference? Give a score "
            f"from 0 (wrong or empty) to 100 (as good as the reference). Reply with the integer only.")


_NUMBER = r"\d+(?:\.\d+)?"


def parse_score(text: str) -> int | None:
    """The 0-100 score in a judge's reply ("85", "Score: 85/100", "Out of 100, I give it 85"); None if there is none.

    A number written as "N/100" or "N out of 100" wins; otherwise the first number from 0 to 100 that is not
    part of the scale itself ("from 0 to 100", "out of 100").
    """
    marked = re.search(rf"({_NUMBER})\s*(?:/|out of)\s*100(?![\d.])", text, flags=re.IGNORECASE)
    if marked:
        candidates = [marked.group(1)]
    else:
        without_scale = re.sub(r"\b0\s*(?:-|–|to)\s*100\b|\b(?:out )?of 100\b", " ", text, flags=re.IGNORECASE)
        candidates = re.findall(rf"(?<![\d.]){_NUMBER}", without_scale)
    for number in candidates:
        value = float(number)
        if 0 <= value <= 100:
            return round(value)
    return None


def generate_model_scores(json_data: Iterable[dict[str, Any]], json_key: str = "model_response",
                          model: str = DEFAULT_MODEL, url: str | None = None, verbose: bool = False) -> list[int]:
    """The judge's score of each entry's `json_key` response; a reply without a score is reported and left out."""
    scores = []
    for i, entry in enumerate(json_data):
        reply = query_model(scoring_prompt(entry, json_key), model, url)
        score = parse_score(reply)
        if score is None:
            print(f"entry {i}: no score in the judge's reply {reply[:80]!r}; left out", file=sys.stderr)
            continue
        if verbose:
            print(f"entry {i}: {score}")
        scores.append(score)
    return scores


def average_score(scores: list[int]) -> float:
    """The mean of the scores (0.0 for none)."""
    return sum(scores) / len(scores) if scores else 0.0
