"""Checkpoints: everything a run needs to continue exactly, in one file written atomically (Chapter 5).

Usage:
    from shared import save_checkpoint, load_checkpoint, load_model_from_checkpoint
    save_checkpoint("checkpoints/run.pth", model, optimizer=optimizer, scheduler=scheduler, step=step,
                    tokenizer_name="embedded", trainer_state={"epoch": 3, "batch_in_epoch": 5})
    state = load_checkpoint("checkpoints/run.pth", model, optimizer=optimizer, tokenizer_name="embedded")
    model, state = load_model_from_checkpoint("checkpoints/run.pth", device="cpu")

A checkpoint holds the model weights, its configuration and tokenizer name, and optionally the optimizer
and scheduler state, the step, the random-number generators' states and the trainer's own position
in the data. It is written to a temporary file in the same folder and then renamed over the target
(`os.replace` is atomic), so a run killed while saving leaves the previous checkpoint intact.

Loading checks the file before touching the model: a missing, truncated or foreign file, a different
configuration (every differing key is listed) or a different tokenizer raises `CheckpointError` with
what to do. The book's simpler files (`torch.save(model.state_dict(), ...)` or a dict with
"model_state_dict") load too, without those checks.
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from shared.generation import unwrap

FORMAT = "llm-from-scratch-book checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint is missing, unreadable, or does not fit the model; the message says what to do."""


def capture_rng_state() -> dict[str, Any]:
    """The state of every random generator a training step uses (Python, NumPy, PyTorch CPU and CUDA)."""
    numpy_state = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (numpy_state[0], torch.from_numpy(numpy_state[1].copy()), *numpy_state[2:]),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put every random generator back to a state from `capture_rng_state`."""
    random.setstate(tuple(state["python"][:1]) + (tuple(state["python"][1]),) + tuple(state["python"][2:]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy(), *rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, step: int = 0, tokenizer_name: str | None = None,
                    trainer_state: dict[str, Any] | None = None, save_rng: bool = True) -> Path:
    """Write a checkpoint atomically and return its path (folders are created as needed)."""
    model = unwrap(model)
    cfg = getattr(model, "cfg", None)
    if not isinstance(cfg, dict):
        raise TypeError(f"save_checkpoint needs a model with a .cfg dict (a GPTModel), got {type(model).__name__}; "
                        f"for other models use torch.save(model.state_dict(), path)")
    payload = {
        "format": FORMAT, "version": VERSION, "config": dict(cfg), "tokenizer": tokenizer_name, "step": step,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": capture_rng_state() if save_rng else None,
        "trainer": trainer_state,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())  # on disk before the rename makes it visible
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)
    return path


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """The contents of a checkpoint file, checked to be one (book-style state dicts are wrapped as one)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train first (the chapter's notebook or script writes it), "
                              f"or check the path")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 — truncated zip, pickle errors, foreign files: all the same to a user
        raise CheckpointError(f"{path} is not a readable checkpoint ({type(err).__name__}: {str(err)[:120]}); it may "
                              f"be truncated (a run killed while copying it) or not a PyTorch file: delete it and "
                              f"train again, or point to another file") from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        if payload.get("version") != VERSION:
            raise CheckpointError(f"{path} has checkpoint version {payload.get('version')}, this code reads "
                                  f"version {VERSION}")
        return payload
    if isinstance(payload, dict) and "model_state_dict" in payload:  # the book's model-and-optimizer file
        return {"model": payload["model_state_dict"], "optimizer": payload.get("optimizer_state_dict"),
                "config": None, "tokenizer": None}
    if isinstance(payload, dict) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return {"model": payload, "optimizer": None, "config": None, "tokenizer": None}  # torch.save(state_dict)
    raise CheckpointError(f"{path} is a PyTorch file but not a model checkpoint (no weights found in it)")


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """'key: checkpoint X, model Y' for every key whose value differs (missing keys count as None)."""
    return [f"{key}: checkpoint {saved.get(key)!r}, model {current.get(key)!r}"
            for key in sorted(set(saved) | set(current)) if saved.get(key) != current.get(key)]


def load_checkpoint(path: str | Path, model: nn.Module, *, optimizer: torch.optim.Optimizer | None = None,
                    scheduler: Any = None, tokenizer_name: str | None = None, restore_rng: bool = False,
                    map_location: str | torch.device | None = None) -> dict[str, Any]:
    """Check a checkpoint against `model` (and the tokenizer), then load it; return the checkpoint's contents."""
    plain = unwrap(model)
    if map_location is None:
        map_location = next(plain.parameters()).device
    state = read_checkpoint(path, map_location)
    cfg = getattr(plain, "cfg", None)
    if state["config"] is not None and isinstance(cfg, dict):
        differences = config_differences(state["config"], cfg)
        if differences:
            raise CheckpointError(f"{path} was saved from a model with another configuration:\n  "
                                  + "\n  ".join(differences)
                                  + "\nbuild the model with the checkpoint's configuration "
                                    "(load_model_from_checkpoint does this) or choose the matching checkpoint")
    if state["tokenizer"] is not None and tokenizer_name is not None and state["tokenizer"] != tokenizer_name:
        raise CheckpointError(f"{path} was trained with the {state['tokenizer']!r} tokenizer, not {tokenizer_name!r}: "
                              f"its token ids mean different text; use get_tokenizer({state['tokenizer']!r})")
    try:
        plain.load_state_dict(state["model"])
    except RuntimeError as err:
        raise CheckpointError(f"the weights in {path} do not fit this model:\n{str(err)[:800]}") from None
    if optimizer is not None:
        if state.get("optimizer") is None:
            raise CheckpointError(f"{path} holds no optimizer state: it cannot resume training exactly")
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    if restore_rng and state.get("rng") is not None:
        restore_rng_state(state["rng"])
    return state


def load_model_from_checkpoint(path: str | Path, device: str | torch.device = "cpu",
                               use_sdpa: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """A `GPTModel` built from the checkpoint's own configuration, with its weights, in eval mode."""
    from shared.model import GPTModel

    state = read_checkpoint(path, "cpu")
    if state["config"] is None:
        raise CheckpointError(f"{path} holds weights but no configuration: build the GPTModel yourself and "
                              f"call load_checkpoint(path, model)")
    model = GPTModel(state["config"], use_sdpa=use_sdpa)
    model.load_state_dict(state["model"])
    return model.to(device).eval(), state
