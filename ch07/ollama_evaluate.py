"""Score a fine-tuned model's responses from 0 to 100 with a larger model served by Ollama (Chapter 7).

Usage (an Ollama server running: `ollama serve`, and `ollama pull llama3` done once):
    python ch07/ollama_evaluate.py                 # checkpoints/instruction-data-with-response.json, llama3
    python ch07/ollama_evaluate.py --file responses.json --model llama3.2 --host http://127.0.0.1:11434
    python ch07/ollama_evaluate.py --file responses.json --json-key model_response --limit 20 --verbose

The file is a JSON list of entries with "instruction", "input", "output" (the reference) and the model's
answer under --json-key (default "model_response"), as the fine-tuning notebook and script write it. The
judge runs with seed 123 and temperature 0, so a second run gives the same scores. Without a server the
script says how to start one and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from shared.ollama import (
    DEFAULT_MODEL,
    OllamaError,
    average_score,
    default_host,
    generate_model_scores,
    list_models,
    not_running_message,
    ollama_running,
)
from shared.pretrained import checkpoints_dir

RESPONSES_FILE = "instruction-data-with-response.json"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--file", type=Path, default=checkpoints_dir() / RESPONSES_FILE,
                        help="the test entries with the model's responses, JSON (default: the one "
                             "ch07/gpt_instruction_finetuning.py writes in checkpoints/)")
    parser.add_argument("--json-key", default="model_response", help="the key holding each response")
    parser.add_argument("--model", default=DEFAULT_MODEL, help="the judge: an Ollama model you have pulled")
    parser.add_argument("--host", default=None, help=f"the Ollama server (default: $OLLAMA_HOST or {default_host()})")
    parser.add_argument("--limit", type=int, help="score only the first N entries")
    parser.add_argument("--verbose", action="store_true", help="print each entry's score")
    return parser.parse_args(argv)


def load_entries(path: Path, json_key: str) -> list[dict]:
    """The entries of the responses file, checked to hold what the judge needs."""
    if not path.is_file():
        raise FileNotFoundError(f"no responses file at {path}: the fine-tuning (ch07/ch07.ipynb or "
                                f"ch07/gpt_instruction_finetuning.py) writes the test set with the model's "
                                f"responses; pass its path with --file")
    entries = json.loads(path.read_text(encoding="utf-8"))
    needed = ("instruction", "output", json_key)
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path} must hold a non-empty JSON list of entries")
    for i, entry in enumerate(entries):
        missing = [key for key in needed if not isinstance(entry, dict) or key not in entry]
        if missing:
            raise ValueError(f"{path}: entry {i} lacks {missing} (each entry needs {', '.join(needed)}; is "
                             f"--json-key right?)")
    return entries


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    host = (args.host or default_host()).rstrip("/")
    try:
        entries = load_entries(args.file, args.json_key)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if not ollama_running(host):
        print(not_running_message(host, args.model), file=sys.stderr)
        return 1
    pulled = list_models(host)
    if args.model not in pulled and f"{args.model}:latest" not in pulled:
        print(f"error: Ollama at {host} has no model {args.model!r} (it has: {', '.join(pulled) or 'none'}); "
              f"fetch it with: ollama pull {args.model}", file=sys.stderr)
        return 1
    entries = entries[:args.limit] if args.limit else entries
    print(f"Scoring {len(entries)} responses from {args.file} with {args.model} at {host} ...", flush=True)
    try:
        scores = generate_model_scores(entries, args.json_key, model=args.model, url=f"{host}/api/chat",
                                       verbose=args.verbose)
    except OllamaError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"Number of scores: {len(scores)} of {len(entries)}")
    print(f"Average score: {average_score(scores):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
