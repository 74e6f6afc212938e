"""Decoding strategies: temperature, top-k, top-p sampling; streaming and batched generation (Chapter 5).

Usage:
    from shared import generate, generate_stream, generate_batch, text_to_token_ids
    torch.manual_seed(123)
    ids = generate(model, text_to_token_ids("Every light", tokenizer), max_new_tokens=30,
                   context_size=256, temperature=1.4, top_k=25)          # (1, prompt + 30)
    tokens = generate_stream(model, prompt_ids, 50, 256, temperature=0.8, top_p=0.9, seed=1)
    for piece in stream_text(tokens, tokenizer):
        print(piece, end="", flush=True)                                  # text as soon as it is chosen
    replies = generate_batch(model, [ids_a, ids_b], 40, 256, eos_id=tokenizer.eot_token)  # new ids per prompt

How the next token is chosen from the model's scores (logits) at the last position:
1. top-k: keep the k highest scores, set the rest to -inf (they get probability 0);
2. temperature: divide the scores by T; T < 1 sharpens the distribution, T > 1 flattens it;
   T = 0 means greedy: always the highest score (exactly `generate_text_simple`'s tokens);
3. top-p (nucleus): keep the smallest set of most likely tokens whose probabilities add up to p;
4. softmax, then draw one token from that distribution.
The draws use PyTorch's global random generator (seed it with `torch.manual_seed`, as the book does), or
a private one when `seed` is given, so the same seed always reproduces the same sample.

All three functions run on the KV cache (`use_cache=False` for the plain loop) and stop at `eos_id`.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from torch import nn

from shared.generation import check_prompt, greedy, next_tokens, unwrap
from shared.kv_cache import KVCache


def filter_top_k(logits: torch.Tensor, top_k: int) -> torch.Tensor:
    """Keep each row's `top_k` highest scores, set the others to -inf: (b, vocab) -> (b, vocab)."""
    top_k = min(top_k, logits.shape[-1])
    kth_best = torch.topk(logits, top_k, dim=-1).values[..., -1:]  # (b, 1)
    return logits.masked_fill(logits < kth_best, -torch.inf)


def filter_top_p(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep each row's smallest set of most likely tokens whose probabilities reach `top_p`; the rest -inf."""
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    mass_before = torch.cumsum(probs, dim=-1) - probs  # probability of the tokens ranked above each one
    drop_sorted = mass_before >= top_p  # the set already reached top_p without this token (never the first)
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, -torch.inf)


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 = greedy), got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise ValueError(f"top_p must be in (0, 1] or None, got {top_p!r}")


def make_sampler(temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                 generator: torch.Generator | None = None) -> Callable[[torch.Tensor], torch.Tensor]:
    """A function that picks the next ids (b, 1) from logits (b, vocab) with the given strategy."""
    check_sampling(temperature, top_k, top_p)

    def choose(logits: torch.Tensor) -> torch.Tensor:
        logits = logits.float()  # sample in full precision, whatever the model ran in
        if top_k is not None:
            logits = filter_top_k(logits, top_k)
        if temperature == 0.0:
            return torch.argmax(logits, dim=-1, keepdim=True)  # greedy
        logits = logits / temperature
        if top_p is not None:
            logits = filter_top_p(logits, top_p)
        probs = torch.softmax(logits, dim=-1)  # softmax subtracts the max: no overflow at low temperature
        return torch.multinomial(probs, num_samples=1, generator=generator)  # (b, 1)

    return choose


def _generator(seed: int | None, model: nn.Module) -> torch.Generator | None:
    if seed is None:
        return None
    return torch.Generator(device=next(model.parameters()).device).manual_seed(seed)


@torch.no_grad()
def generate_stream(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
                    temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                    eos_id: int | None = None, seed: int | None = None, use_cache: bool = True) -> Iterator[int]:
    """Yield each new token id of a single prompt (1, num_tokens) as soon as it is chosen; stop before `eos_id`."""
    idx = check_prompt(model, idx, max_new_tokens, context_size)
    if idx.shape[0] != 1:
        raise ValueError(f"generate_stream streams one sequence, got a batch of {idx.shape[0]}; use generate()")
    choose = make_sampler(temperature, top_k, top_p, _generator(seed, model))
    for next_id in next_tokens(model, idx, max_new_tokens, context_size, choose, use_cache):
        token = int(next_id)
        if token == eos_id:
            return
        yield token


def stream_text(token_ids: Iterable[int], tokenizer) -> Iterator[str]:
    """Turn a stream of token ids into text pieces, holding back bytes of a character split across tokens.

    A byte-level BPE can split one character (an accented letter, an emoji) over several tokens; decoding
    each token alone would print replacement characters, so the bytes are decoded incrementally.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    for token_id in token_ids:
        piece = decoder.decode(tokenizer.decode_single_token_bytes(token_id))
        if piece:
            yield piece
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, context_size: int,
             temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
             eos_id: int | None = None, seed: int | None = None, use_cache: bool = True) -> torch.Tensor:
    """The prompt (b, num_tokens) followed by up to `max_new_tokens` chosen tokens.

    Generation stops at `eos_id`, which is not appended (as in the book). In a batch, a row that has
    finished is padded with `eos_id` until every row has finished or `max_new_tokens` is reached.
    """
    idx = check_prompt(model, idx, max_new_tokens, context_size)
    choose = make_sampler(temperature, top_k, top_p, _generator(seed, model))
    finished = torch.zeros(idx.shape[0], 1, dtype=torch.bool, device=idx.device)
    out = idx
    for next_id in next_tokens(model, idx, max_new_tokens, context_size, choose, use_cache):
        if eos_id is not None:
            finished |= next_id == eos_id
            if bool(finished.all()):
                break
            next_id = next_id.masked_fill(finished, eos_id)
        out = torch.cat([out, next_id], dim=1)  # (b, num_tokens + 1)
    return out


@torch.no_grad()
def generate_batch(model: nn.Module, prompts: Sequence[Sequence[int] | torch.Tensor], max_new_tokens: int,
                   context_size: int, temperature: float = 0.0, top_k: int | None = None,
                   top_p: float | None = None, eos_id: int | None = None, seed: int | None = None) -> list[list[int]]:
    """Generate for prompts of different lengths in one batch; return each prompt's new token ids.

    The prompts are padded on the right and share one `KVCache` with a length per row, so every row
    gets exactly the tokens it would get alone (greedy), at the cost of one forward pass per step for
    the whole batch. A row stops at `eos_id` (not included). When a row would outgrow `context_size`,
    every row's cache is rebuilt from its last `context_size` tokens (as `generate` does for one row).
    """
    if not prompts:
        return []
    rows = [torch.as_tensor(p, dtype=torch.long).reshape(-1).tolist() for p in prompts]
    for i, row in enumerate(rows):
        check_prompt(model, torch.tensor([row or [0]]), max_new_tokens, context_size)
        if not row:
            raise ValueError(f"prompt {i} is empty: every prompt needs at least one token")
    plain = unwrap(model)
    device = next(plain.parameters()).device
    choose = make_sampler(temperature, top_k, top_p, _generator(seed, plain))
    cache = KVCache.for_model(plain, batch_size=len(rows), max_len=min(context_size, plain.context_length))
    new_tokens: list[list[int]] = [[] for _ in rows]
    active = [True] * len(rows)

    def prefill() -> torch.Tensor:
        windows = [(row + new)[-context_size:] for row, new in zip(rows, new_tokens)]
        lengths = [len(w) for w in windows]
        padded = torch.zeros(len(rows), max(lengths), dtype=torch.long, device=device)
        for i, window in enumerate(windows):
            padded[i, :len(window)] = torch.tensor(window, device=device)
        cache.reset()
        logits = model(padded, kv_cache=cache)  # (b, longest window, vocab_size)
        cache.set_lengths(lengths)
        return logits[torch.arange(len(rows), device=device), torch.tensor(lengths, device=device) - 1]

    last_logits = prefill()  # (b, vocab_size): the scores for each row's next token
    for _ in range(max_new_tokens):
        next_ids = choose(last_logits)  # (b, 1)
        for i, token in enumerate(next_ids[:, 0].tolist()):
            if active[i]:
                if token == eos_id:
                    active[i] = False
                else:
                    new_tokens[i].append(token)
        if not any(active):
            break
        if cache.max_length() >= cache.max_len:  # some row's window is full: it has to slide
            last_logits = prefill()
        else:
            last_logits = model(next_ids, kv_cache=cache)[:, -1]
    return new_tokens


def compiled_decoder(model: nn.Module, batch_size: int = 1, max_len: int | None = None,
                     mode: str | None = "reduce-overhead",
                     backend: str = "inductor") -> Callable[[torch.Tensor, int], torch.Tensor]:
    """Greedy decoding with a static KV cache and a `torch.compile`d one-token step (CUDA graphs on a GPU).

    Returns `decode(prompt, max_new_tokens)`, which gives exactly `generate`'s greedy tokens as long as prompt
    and new tokens fit in `max_len` (this path does not slide the window). Every step has the same shapes, so
    the compiled step is recorded once (the first calls are slow: they compile) and then replayed; mode
    "reduce-overhead" turns the replay into a CUDA graph, "default" works on the CPU too. `backend="aot_eager"`
    (with `mode=None`) traces the same graph without generating code: what the CPU tests use, in seconds.
    """
    plain = unwrap(model)
    cache = KVCache.for_model(plain, batch_size, max_len, static=True)
    for tensor in (cache.keys, cache.values, cache.lengths):
        torch._dynamo.mark_static_address(tensor)  # updated in place: the graph may keep their addresses

    def one_token(next_id: torch.Tensor) -> torch.Tensor:
        return plain(next_id, kv_cache=cache, last_token_only=True)[:, -1]  # (b, vocab_size)

    step = torch.compile(one_token, mode=mode, backend=backend, fullgraph=True)

    @torch.no_grad()
    def decode(prompt: torch.Tensor, max_new_tokens: int) -> torch.Tensor:
        prompt = check_prompt(plain, prompt, max_new_tokens, cache.max_len)
        if prompt.shape != (batch_size, prompt.shape[1]) or prompt.shape[1] + max_new_tokens > cache.max_len:
            raise ValueError(f"this decoder holds {batch_size} row(s) of at most {cache.max_len} tokens; got a "
                             f"prompt of shape {tuple(prompt.shape)} and {max_new_tokens} new tokens")
        cache.reset()
        logits = plain(prompt, kv_cache=cache, last_token_only=True)[:, -1]  # prefill, eager
        pieces = [prompt]
        for i in range(max_new_tokens):
            next_id = greedy(logits)  # (b, 1)
            pieces.append(next_id)
            if i + 1 < max_new_tokens:
                logits = step(next_id).clone()  # clone: a CUDA graph reuses its output memory on the next replay
        return torch.cat(pieces, dim=1)

    return decode
