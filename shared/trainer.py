"""The training loop for real runs: schedule, clipping, accumulation, bf16, checkpoints, exact resume, DDP (Chapter 5).

Usage:
    from shared import TrainConfig, train_model
    config = TrainConfig(epochs=10, lr=1e-3, warmup_steps=20, grad_clip=1.0, eval_every=25,
                         checkpoint_every=100, out_dir="checkpoints/my-run")
    result = train_model(model, train_loader, val_loader, config, tokenizer_name="embedded")
    result = train_model(model, train_loader, val_loader, config, resume_from="checkpoints/my-run/last.pth")
    result.history["train_loss"], result.evals, result.tokens_per_second

Same idea as `train_model_simple`, plus:
- learning rate: linear warmup from 0 to `lr` over `warmup_steps`, then cosine decay to `min_lr`
  (`schedule="constant"` keeps `lr`); weight decay on matrices and embeddings only, not on biases
  or LayerNorm parameters;
- gradient clipping to `grad_clip` (global norm) and accumulation over `grad_accum_steps` batches per
  optimizer step (the effective batch is batch_size x grad_accum_steps x processes);
- bf16 autocast on CUDA GPUs that support it (`precision="auto"`), fp32 on the CPU;
- a progress bar with the loss and tokens/second; evaluation every `eval_every` steps and at the end;
- checkpoints every `checkpoint_every` steps and at the end, in `out_dir/last.pth`, with everything
  needed to resume: N steps, save, resume, N steps gives exactly the losses of 2N steps in one run
  (the data order of epoch e comes from `seed + e`, and the random generators are saved);
- a loss that stops being finite ends the run with `TrainingDiverged`; the last checkpoint stays intact;
- under `torchrun` the model is wrapped in DistributedDataParallel and each process trains on its own
  shard of the data (shared/distributed.py).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, RandomSampler
from tqdm import tqdm

from shared.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from shared.distributed import barrier, mean_across_processes, world

PRECISIONS = ("auto", "fp32", "bf16")
SCHEDULES = ("cosine", "constant")


class TrainingDiverged(RuntimeError):
    """The loss or the gradients stopped being finite numbers."""


@dataclass
class TrainConfig:
    epochs: int = 1
    max_steps: int | None = None  # stop after this many optimizer steps (whichever comes first)
    lr: float = 4e-4
    min_lr: float = 0.0
    warmup_steps: int = 0
    schedule: str = "cosine"
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.95)
    grad_clip: float | None = 1.0
    grad_accum_steps: int = 1
    eval_every: int = 0  # 0: only at the end
    eval_batches: int | None = None  # None: the whole validation loader
    checkpoint_every: int = 0  # 0: only at the end (needs out_dir)
    out_dir: str | Path | None = None
    precision: str = "auto"
    compile: bool = False
    seed: int = 123
    progress: bool = True

    def __post_init__(self) -> None:
        problems = []
        for name in ("epochs", "grad_accum_steps"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                problems.append(f"{name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("warmup_steps", "eval_every", "checkpoint_every"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                problems.append(f"{name} must be an integer >= 0, got {getattr(self, name)!r}")
        if self.max_steps is not None and (not isinstance(self.max_steps, int) or self.max_steps < 1):
            problems.append(f"max_steps must be a positive integer or None, got {self.max_steps!r}")
        if not 0 <= self.min_lr <= self.lr or self.lr <= 0:
            problems.append(f"need 0 <= min_lr <= lr and lr > 0, got lr={self.lr}, min_lr={self.min_lr}")
        if self.grad_clip is not None and self.grad_clip <= 0:
            problems.append(f"grad_clip must be positive or None, got {self.grad_clip}")
        if self.schedule not in SCHEDULES:
            problems.append(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.precision not in PRECISIONS:
            problems.append(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.checkpoint_every and self.out_dir is None:
            problems.append("checkpoint_every needs out_dir (where the checkpoints go)")
        if problems:
            raise ValueError("invalid TrainConfig:\n  - " + "\n  - ".join(problems))


@dataclass
class TrainResult:
    history: dict[str, list[float]]  # per optimizer step: step, train_loss, lr, grad_norm, tokens_seen
    evals: list[dict[str, float]]  # per evaluation: step, tokens_seen, train_loss, val_loss
    steps: int
    tokens_seen: int
    seconds: float
    tokens_per_second: float
    checkpoint: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def lr_at_step(step: int, total_steps: int, lr: float, warmup_steps: int = 0, min_lr: float = 0.0,
               schedule: str = "cosine") -> float:
    """The learning rate for optimizer step `step` (0-based): linear warmup, then cosine decay or constant."""
    if step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if schedule == "constant" or total_steps <= warmup_steps:
        return lr
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return min_lr + 0.5 * (lr - min_lr) * (1.0 + math.cos(math.pi * progress))


def make_optimizer(model: nn.Module, config: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    """AdamW with weight decay on the 2-D weights (matrices, embeddings) only; fused kernels where available."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = device.type in ("cuda", "cpu")  # torch >= 2.4 has fused AdamW kernels for both
    return torch.optim.AdamW(groups, lr=config.lr, betas=config.betas, fused=fused)


def epoch_batches(num_items: int, batch_size: int, shuffle: bool, drop_last: bool, seed: int, epoch: int,
                  rank: int = 0, world_size: int = 1) -> list[list[int]]:
    """This process' batches (lists of dataset indices) for `epoch`: the same on every run with the same seed."""
    if shuffle:
        order = torch.randperm(num_items, generator=torch.Generator().manual_seed(seed + epoch)).tolist()
    else:
        order = list(range(num_items))
    order = order[rank:num_items - num_items % world_size:world_size]  # equal, disjoint shards
    stop = len(order) - len(order) % batch_size if drop_last else len(order)
    return [order[i:i + batch_size] for i in range(0, stop, batch_size)]


def _autocast(device: torch.device, precision: str):
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda"
                                       and torch.cuda.is_bf16_supported())
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_bf16)


def _loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    logits = model(inputs)  # (b, num_tokens, vocab_size)
    return nn.functional.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def _val_loss(model: nn.Module, loader: DataLoader, device: torch.device, config: TrainConfig) -> float:
    model.eval()
    total, count = 0.0, 0
    # fork_rng: iterating a DataLoader draws a seed from the global generator; evaluating must not shift
    # the dropout masks of the following steps (or a resumed run would differ from an uninterrupted one)
    with torch.no_grad(), _autocast(device, config.precision), torch.random.fork_rng(devices=[]):
        for i, (inputs, targets) in enumerate(loader):
            if config.eval_batches is not None and i >= config.eval_batches:
                break
            total += _loss(model, inputs.to(device), targets.to(device)).item()
            count += 1
    model.train()
    return total / count if count else float("nan")


def _check_resume(state: dict[str, Any], config: TrainConfig, batch_size: int, path: str | Path) -> dict[str, Any]:
    trainer = state.get("trainer")
    if not trainer:
        raise CheckpointError(f"{path} was not written by train_model: it has no position in the data to resume from")
    saved = {**trainer["config"], "batch_size": trainer["batch_size"]}
    now = {**asdict(config), "batch_size": batch_size}
    keys = ("epochs", "max_steps", "lr", "min_lr", "warmup_steps", "schedule", "grad_accum_steps", "seed", "batch_size")
    differences = [f"{k}: checkpoint {saved.get(k)!r}, now {now[k]!r}" for k in keys if saved.get(k) != now[k]]
    if differences:
        raise CheckpointError(f"{path} was trained with other settings; an exact resume needs the same ones:\n  "
                              + "\n  ".join(differences))
    return trainer


def train_model(model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None, config: TrainConfig,
                *, device: torch.device | str | None = None, tokenizer_name: str | None = None,
                resume_from: str | Path | None = None, until_step: int | None = None) -> TrainResult:
    """Train `model` on `train_loader` as `config` says; see the module docstring. Returns a `TrainResult`.

    `until_step` ends this call after that optimizer step, as if the run were interrupted there (the
    checkpoint is written): a later call with `resume_from` continues it with the same schedule.
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    rank, world_size = world()
    model.to(device).train()
    optimizer = make_optimizer(model, config, device)
    sampler_shuffles = isinstance(train_loader.sampler, RandomSampler)
    batch_size = train_loader.batch_size
    num_items = len(train_loader.dataset)

    def batches_for(epoch: int) -> list[list[int]]:
        return epoch_batches(num_items, batch_size, sampler_shuffles, train_loader.drop_last, config.seed, epoch,
                             rank, world_size)

    steps_per_epoch = len(batches_for(0)) // config.grad_accum_steps
    if steps_per_epoch == 0:
        raise ValueError(f"one epoch has {len(batches_for(0))} batch(es) per process, fewer than grad_accum_steps="
                         f"{config.grad_accum_steps}: nothing to train on; use more data or smaller batches")
    total_steps = config.epochs * steps_per_epoch
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_at_step(
        s, total_steps, config.lr, config.warmup_steps, config.min_lr, config.schedule) / config.lr)

    history: dict[str, list[float]] = {"step": [], "train_loss": [], "lr": [], "grad_norm": [], "tokens_seen": []}
    evals: list[dict[str, float]] = []
    step, epoch, batch_in_epoch, tokens_seen = 0, 0, 0, 0
    if resume_from is not None:
        state = load_checkpoint(resume_from, model, optimizer=optimizer, scheduler=scheduler,
                                tokenizer_name=tokenizer_name, restore_rng=True)
        trainer = _check_resume(state, config, batch_size, resume_from)
        step, epoch, batch_in_epoch = state["step"], trainer["epoch"], trainer["batch_in_epoch"]
        tokens_seen, history, evals = trainer["tokens_seen"], trainer["history"], trainer["evals"]

    plain = model
    if world_size > 1:
        model = nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    if config.compile:
        model = torch.compile(model)
    out_dir = Path(config.out_dir) if config.out_dir is not None else None
    checkpoint_path = out_dir / "last.pth" if out_dir is not None else None

    def save() -> None:
        if checkpoint_path is not None and rank == 0:
            save_checkpoint(checkpoint_path, plain, optimizer=optimizer, scheduler=scheduler, step=step,
                            tokenizer_name=tokenizer_name, trainer_state={
                                "epoch": epoch, "batch_in_epoch": batch_in_epoch, "tokens_seen": tokens_seen,
                                "history": history, "evals": evals, "config": asdict(config) | {"out_dir": None},
                                "batch_size": batch_size})
        barrier()

    def evaluate() -> None:
        recent = history["train_loss"][len(history["train_loss"]) - (step - (evals[-1]["step"] if evals else 0)):]
        val = _val_loss(model, val_loader, device, config) if val_loader is not None else float("nan")
        evals.append({"step": step, "tokens_seen": tokens_seen, "val_loss": mean_across_processes(val, device),
                      "train_loss": sum(recent) / len(recent) if recent else float("nan")})

    stop_at = total_steps if until_step is None else min(until_step, total_steps)
    progress = tqdm(total=total_steps, initial=step, disable=not config.progress or rank != 0, unit="step",
                    mininterval=1.0, dynamic_ncols=True)
    start, tokens_at_start = time.perf_counter(), tokens_seen
    pending_loss, micro = torch.zeros((), device=device), 0
    while step < stop_at:
        batches = batches_for(epoch)
        usable = steps_per_epoch * config.grad_accum_steps  # leftover batches of an epoch are skipped
        loader = DataLoader(train_loader.dataset, batch_sampler=batches[batch_in_epoch:usable],
                            collate_fn=train_loader.collate_fn, num_workers=train_loader.num_workers,
                            generator=torch.Generator().manual_seed(config.seed))  # never draws from the global RNG
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            micro += 1
            last_micro = micro == config.grad_accum_steps
            sync = last_micro or world_size == 1
            with model.no_sync() if not sync and hasattr(model, "no_sync") else nullcontext():
                with _autocast(device, config.precision):
                    loss = _loss(model, inputs, targets)
                (loss / config.grad_accum_steps).backward()
            pending_loss += loss.detach() / config.grad_accum_steps
            tokens_seen += inputs.numel() * world_size
            batch_in_epoch += 1
            if not last_micro:
                continue
            # a non-finite loss makes the gradient norm non-finite: one check (one device sync) per step,
            # before the optimizer could write NaN into the weights
            norm = nn.utils.clip_grad_norm_(plain.parameters(), config.grad_clip or float("inf"))
            step_loss = pending_loss.item()
            if not (math.isfinite(step_loss) and torch.isfinite(norm)):
                what, value = ("loss", step_loss) if not math.isfinite(step_loss) else ("gradient norm", float(norm))
                raise TrainingDiverged(_diverged_message(step, value, scheduler, checkpoint_path, what))
            history["lr"].append(scheduler.get_last_lr()[0])
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            for key, value in (("step", step), ("train_loss", step_loss), ("grad_norm", float(norm)),
                               ("tokens_seen", tokens_seen)):
                history[key].append(value)
            pending_loss, micro = torch.zeros((), device=device), 0
            elapsed = time.perf_counter() - start
            progress.update(1)
            progress.set_postfix(loss=f"{history['train_loss'][-1]:.3f}",
                                 tok_s=f"{(tokens_seen - tokens_at_start) / max(elapsed, 1e-9):,.0f}", refresh=False)
            if config.eval_every and step % config.eval_every == 0 and step < stop_at:
                evaluate()
            if config.checkpoint_every and step % config.checkpoint_every == 0 and step < stop_at:
                save()
            if step >= stop_at:
                break
        else:
            epoch, batch_in_epoch = epoch + 1, 0
    progress.close()
    seconds = time.perf_counter() - start
    if step == total_steps and (not evals or evals[-1]["step"] != step):
        evaluate()  # the final evaluation (an interrupted call, until_step, leaves it to the run's real end)
    save()
    return TrainResult(history, evals, step, tokens_seen, seconds, (tokens_seen - tokens_at_start) / max(seconds, 1e-9),
                       checkpoint_path)


def _diverged_message(step: int, value: float, scheduler: Any, checkpoint: Path | None, what: str = "loss") -> str:
    kept = f"the last checkpoint, {checkpoint}, is intact" if checkpoint is not None and checkpoint.exists() \
        else "no checkpoint was written yet"
    return (f"the {what} became {value} at step {step + 1} (learning rate {scheduler.get_last_lr()[0]:.2e}); "
            f"training stopped and {kept}. Lower the learning rate, add warmup steps, or clip gradients "
            f"(grad_clip), then resume from the checkpoint or start again")

