"""Chatting with a trained model: the models to choose from, persona prompts, a history that fits the context
window, streamed replies, the next-token candidates and the project FAQ (Chapter 7).

Usage:
    from shared.chat import chat_models, load_chat_model, fit_chat_prompt, stream_reply, match_faq
    model, tokenizer, style, multi_turn = load_chat_model("instruction")   # Chapter 7's model, how to prompt it
    system = PERSONA_INSTRUCTIONS["pirate"]                      # a persona is a system-style line
    ids, dropped = fit_chat_prompt(tokenizer, "Hello friend.", history=[], system=system,
                                   context_length=model.cfg["context_length"], max_new_tokens=60, style=style)
    for piece in stream_reply(model, tokenizer, ids, max_new_tokens=60, temperature=0.7, top_k=20, seed=1):
        print(piece, end="", flush=True)

A chat turn is one instruction entry in the fine-tuning format: without a persona the user's message is the
instruction; with one, the persona's line ("Talk like a pirate.") is the instruction of
every turn and the message is its input, the shape the data set's persona entries have. Earlier turns come
first, each closed by <|endoftext|> as in training; when they no longer fit next to the new message and the
reply, the oldest are dropped (`fit_chat_prompt` says how many). A model fine-tuned only on prompts at the
start of its context (multi_turn False, the small model) gets each message alone. `ch07/chat.py` (terminal)
and `ch07/app.py` (Streamlit) are built on these functions.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import torch
from torch import nn

from shared.checkpoint import load_model_from_checkpoint
from shared.decoding import generate_stream, stream_text
from shared.instruction_data import INSTRUCT_EMBEDDED, RESPONSE_MARKERS, format_input
from shared.pretrained import PRETRAINED_EMBEDDED, checkpoints_dir
from shared.resources import ResourceError, resolve
from shared.tokenizer import get_tokenizer

EOT = "<|endoftext|>"
STOP_TEXTS = ("\n\n### ", "\n<|user|>", "\n<|assistant|>")  # the start of a next turn: the reply has ended
FAQ_THRESHOLD = 0.7


@dataclass(frozen=True)
class ChatModelChoice:
    """A model the chat can use: where it comes from, whether it is there, and how to get it if not."""
    key: str
    label: str
    path: Path | None  # a checkpoint; None for GPT-2's weights
    available: bool
    how_to_get: str


def _gpt2_present(size: str) -> bool:
    from shared.gpt2_weights import gpt2_resource_name
    try:
        resolve(gpt2_resource_name(size), download=False)
        resolve("gpt2-encoder-json", download=False)
        resolve("gpt2-vocab-bpe", download=False)
    except ResourceError:
        return False
    return True


def chat_models(gpt2_sizes: Sequence[str] = ("124M", "355M")) -> dict[str, ChatModelChoice]:
    """The instruction-tuned model, the pretrained one and GPT-2 (where its weights are on disk), by key.

    A GPT-2 that ch07/gpt_instruction_finetuning.py fine-tuned (checkpoints/instruct-gpt2-SIZE.pth) is listed too.
    """
    folder = checkpoints_dir()
    instruct, pretrained = folder / INSTRUCT_EMBEDDED, folder / PRETRAINED_EMBEDDED
    choices = [
        ChatModelChoice("instruction", "Instruction-tuned (Chapter 7)", instruct, instruct.is_file(),
                        f"no instruction-tuned model at {instruct} yet: build it with "
                        f"python ch07/gpt_instruction_finetuning.py (or run ch07/ch07.ipynb), then start again"),
        ChatModelChoice("pretrained", "Pretrained (Chapter 5)", pretrained, pretrained.is_file(),
                        f"no pretrained model at {pretrained} yet: build it with python -m shared.pretrained "
                        f"(or run ch05/ch05.ipynb), then start again"),
    ]
    for size in gpt2_sizes:
        tuned = folder / f"instruct-gpt2-{size}.pth"  # what ch07/gpt_instruction_finetuning.py --gpt2 SIZE saves
        if tuned.is_file():
            choices.append(ChatModelChoice(f"instruct-gpt2-{size}", f"GPT-2 {size}, instruction-tuned (book mode)",
                                           tuned, True, ""))
        choices.append(ChatModelChoice(f"gpt2-{size}", f"GPT-2 {size} (OpenAI's weights)", None,
                                       _gpt2_present(size),
                                       f"GPT-2 {size}'s weights are not on disk: python ch05/gpt_download.py "
                                       f"--model-size {size} fetches them (a book resource)"))
    return {choice.key: choice for choice in choices}


class ChatModel(NamedTuple):
    """A loaded model and what the chat needs to know about it."""
    model: nn.Module
    tokenizer: Any
    style: str         # the prompt format it was fine-tuned with
    multi_turn: bool   # whether earlier turns should go in the prompt (False: each message is answered alone)


def load_chat_model(key_or_path: str | Path, device: torch.device | str = "cpu") -> ChatModel:
    """(model in eval mode, tokenizer, prompt style, multi_turn) for a key of `chat_models()` or a checkpoint.

    Style and multi_turn come from the recipe saved in the checkpoint: the small model's recipe trains every
    prompt at position 0, so it answers badly after earlier turns (multi_turn False; ch07.ipynb measures it).
    A checkpoint without a recipe, and GPT-2's own weights, get the book's "alpaca" and multi_turn True.
    """
    if isinstance(key_or_path, str) and key_or_path.startswith("gpt2-"):
        from shared.gpt2_weights import load_gpt2
        return ChatModel(load_gpt2(key_or_path.removeprefix("gpt2-")).to(device), get_tokenizer("gpt2"), "alpaca",
                         True)
    choices = chat_models()
    if isinstance(key_or_path, str) and key_or_path in choices:
        choice = choices[key_or_path]
        if not choice.available:
            raise FileNotFoundError(choice.how_to_get)
        key_or_path = choice.path
    model, state = load_model_from_checkpoint(key_or_path, device)
    recipe = (state.get("trainer") or {}).get("recipe") or {}
    return ChatModel(model, get_tokenizer(state.get("tokenizer") or "embedded"), recipe.get("style", "alpaca"),
                     recipe.get("multi_turn", True))


def turn_entry(user_text: str, system: str | None = None) -> dict[str, str]:
    """One chat turn as an instruction entry: the system line as instruction and the message as input."""
    if system:
        return {"instruction": system, "input": user_text}
    return {"instruction": user_text, "input": ""}


def build_chat_prompt(user_text: str, history: Sequence[tuple[str, str]] = (), system: str | None = None,
                      style: str = "alpaca") -> str:
    """The text the model continues: earlier (message, reply) turns, each ended by <|endoftext|>, then the new one."""
    marker = RESPONSE_MARKERS[style]
    past = "".join(format_input(turn_entry(user, system), style) + marker + reply + EOT for user, reply in history)
    return past + format_input(turn_entry(user_text, system), style) + marker


def fit_chat_prompt(tokenizer, user_text: str, history: Sequence[tuple[str, str]], system: str | None,
                    context_length: int, max_new_tokens: int, style: str = "alpaca") -> tuple[list[int], int]:
    """(prompt token ids, number of oldest turns dropped) so that prompt + reply fit in `context_length`."""
    budget = context_length - max_new_tokens
    for dropped in range(len(history) + 1):
        text = build_chat_prompt(user_text, history[dropped:], system, style)
        ids = tokenizer.encode(text, allowed_special={EOT})
        if len(ids) <= budget:
            return ids, dropped
    raise ValueError(f"this message needs {len(ids)} tokens of prompt, but the model reads {context_length} tokens "
                     f"and {max_new_tokens} are kept for the reply: write a shorter message or lower max new tokens")


def until_stop(pieces: Iterable[str], stops: Sequence[str] = STOP_TEXTS) -> Iterator[str]:
    """The text pieces up to the first stop marker; text that could begin a marker waits for the next pieces."""
    pending = ""
    for piece in pieces:
        pending += piece
        cut = min((pending.find(stop) for stop in stops if stop in pending), default=-1)
        if cut >= 0:
            if pending[:cut]:
                yield pending[:cut]
            return
        keep = max((k for stop in stops for k in range(1, len(stop)) if pending.endswith(stop[:k])), default=0)
        if len(pending) > keep:
            yield pending[:len(pending) - keep]
            pending = pending[len(pending) - keep:]
    if pending:
        yield pending


def stream_reply(model: nn.Module, tokenizer, prompt_ids: Sequence[int], max_new_tokens: int,
                 temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None, stops: Sequence[str] = STOP_TEXTS) -> Iterator[str]:
    """The reply's text, piece by piece as the tokens are chosen; it ends at <|endoftext|> or a next-turn marker."""
    idx = torch.tensor([list(prompt_ids)])  # (1, num_tokens)
    tokens = generate_stream(model, idx, max_new_tokens, model.cfg["context_length"], temperature=temperature,
                             top_k=top_k, top_p=top_p, eos_id=tokenizer.eot_token, seed=seed)
    return until_stop(stream_text(tokens, tokenizer), stops)


@torch.no_grad()
def next_token_candidates(model: nn.Module, tokenizer, prompt_ids: Sequence[int], k: int = 10,
                          temperature: float = 1.0) -> list[tuple[str, float]]:
    """The `k` most likely next tokens after the prompt, as (text, probability), at `temperature` (0 counts as 1)."""
    context = model.cfg["context_length"]
    idx = torch.tensor([list(prompt_ids)[-context:]], device=next(model.parameters()).device)  # (1, num_tokens)
    logits = model(idx)[0, -1].float()  # (vocab_size,)
    probs = torch.softmax(logits / (temperature if temperature > 0 else 1.0), dim=-1)
    top = torch.topk(probs, min(k, probs.numel()))
    return [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(top.values, top.indices)]


def load_faq(path: str | Path) -> list[dict[str, Any]]:
    """The FAQ entries of a JSON file: a list of {"questions": [...], "answer": "..."}; checked."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        faq = json.load(f)
    for i, entry in enumerate(faq if isinstance(faq, list) else [None]):
        if not (isinstance(entry, dict) and isinstance(entry.get("answer"), str)
                and isinstance(entry.get("questions"), list) and entry["questions"]):
            raise ValueError(f"{path}: entry {i} must be an object with a non-empty 'questions' list and an "
                             f"'answer' string, got {entry!r:.100}")
    return faq


_STOPWORDS = frozenset("a an the is are am be do does did i you it its of to in on at for and or so what which why how "
                       "who when where can could should would my me this that there here with about".split())


def _content_words(text: str) -> list[str]:
    """The words that carry meaning, lower-cased, with a plural or -ed/-ing ending cut off ("needed" -> "need")."""
    words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS]
    return [re.sub(r"(?<=..)(ing|ed|es|s)$", "", w) if len(w) > 4 else w for w in words]


def question_similarity(a: str, b: str) -> float:
    """How close two questions are, 0 to 1: the larger of difflib's ratio and the overlap of their content words."""
    words_a, words_b = _content_words(a), _content_words(b)
    if not words_a or not words_b:
        return 0.0
    ratio = difflib.SequenceMatcher(None, " ".join(words_a), " ".join(words_b)).ratio()
    overlap = len(set(words_a) & set(words_b)) / max(len(set(words_a)), len(set(words_b)))
    return max(ratio, overlap)


def match_faq(question: str, faq: Sequence[dict[str, Any]],
              threshold: float = FAQ_THRESHOLD) -> tuple[dict[str, Any], float] | None:
    """(the FAQ entry, similarity) whose questions come closest to `question`, if at least `threshold`; else None."""
    best, best_score = None, 0.0
    for entry in faq:
        score = max(question_similarity(question, q) for q in entry["questions"])
        if score > best_score:
            best, best_score = entry, score
    return (best, best_score) if best is not None and best_score >= threshold else None
