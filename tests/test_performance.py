"""The fast paths change no result: compiled vs eager, bf16 within a stated bound, and the benchmark scripts run.

Speed itself is measured by the scripts in tests/benchmarks/ (never by a timed test); here each script runs in
its dry-run mode (tiny preset, CPU, a few steps) so it cannot rot. The other fast paths are proven where they
are introduced: SDPA vs explicit attention and the KV cache in test_ch03.py/test_ch04.py, fused LayerNorm/GELU
and the padded vocabulary in test_ch04.py, batched generation and fused AdamW training in test_ch05.py.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from shared import GPTModel, generate, get_config
from shared.decoding import compiled_decoder

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"


def tiny_model(seed: int = 0) -> GPTModel:
    torch.manual_seed(seed)
    return GPTModel(get_config("tiny", drop_rate=0.0))


def test_compiled_decoder_gives_generates_tokens():
    model = tiny_model().eval()
    context = model.context_length
    decode = compiled_decoder(model, batch_size=1, max_len=context, mode=None, backend="aot_eager")
    for length, new in [(5, 10), (3, 13)]:  # a second prompt reuses the traced step with a reset cache
        prompt = torch.randint(0, 100, (1, length), generator=torch.Generator().manual_seed(length))
        assert torch.equal(decode(prompt, new), generate(model, prompt, new, context))
    with pytest.raises(ValueError, match="holds 1 row"):
        decode(torch.zeros(2, 3, dtype=torch.long), 2)


def test_compiled_model_equals_eager_forward_and_gradients():
    eager, compiled_source = tiny_model(), tiny_model()
    compiled = torch.compile(compiled_source, backend="aot_eager", fullgraph=True)
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(1))
    targets = torch.roll(ids, -1, dims=1)
    losses = []
    for model in (eager, compiled):
        loss = F.cross_entropy(model(ids).flatten(0, 1), targets.flatten())
        loss.backward()
        losses.append(loss.detach())
    torch.testing.assert_close(losses[0], losses[1], atol=1e-6, rtol=1e-6)
    for (name, p), q in zip(eager.named_parameters(), compiled_source.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-6, rtol=1e-5, msg=f"gradient of {name}")


def test_bf16_autocast_stays_within_the_stated_bound():
    """bf16 keeps 8 bits of mantissa: logits within 0.1 of fp32 and the loss within 1% on the tiny model."""
    model = tiny_model().eval()
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        full = model(ids)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            half = model(ids).float()
    assert (full - half).abs().max() < 0.1
    targets = torch.roll(ids, -1, dims=1).flatten()
    loss_full, loss_half = F.cross_entropy(full.flatten(0, 1), targets), F.cross_entropy(half.flatten(0, 1), targets)
    assert abs(loss_full - loss_half) / loss_full < 0.01


@pytest.mark.parametrize("script, extra", [
    ("bench_train_step.py", []), ("bench_train_step.py", ["--compile"]), ("bench_generate.py", []), ("bench_batched_generate.py", []),
    ("bench_pretrain.py", []), ("bench_pretrain.py", ["--ladder"]), ("bench_parallel_training.py", []),
], ids=lambda v: v if isinstance(v, str) else " ".join(v) or "default")
def test_benchmark_script_runs_in_dry_run_mode(script, extra):
    done = subprocess.run([sys.executable, str(BENCHMARKS / script), "--dry-run", *extra], capture_output=True,
                          text=True, timeout=600, cwd=BENCHMARKS)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "device: cpu" in done.stdout and "median" in done.stdout
    assert "identical tokens: False" not in done.stdout
