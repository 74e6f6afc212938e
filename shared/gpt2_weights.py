"""OpenAI's pretrained GPT-2 weights, downloaded and loaded into a `GPTModel` without TensorFlow (Chapter 5).

Usage:
    from shared.gpt2_weights import download_gpt2, load_gpt2
    path = download_gpt2("124M", "gpt2")   # gpt2/gpt2-124M.safetensors (548 MB), downloaded once, verified
    model = load_gpt2("124M", "gpt2")      # a GPTModel in eval mode with GPT-2's weights

The weights come from Hugging Face's safetensors copies of OpenAI's checkpoints (the repositories
openai-community/gpt2, gpt2-medium, gpt2-large and gpt2-xl), so reading them needs only the small
`safetensors` package. Each file goes through `shared.resources.resolve` like every book resource: a copy
in LLM_BOOK_DATA is used first, LLM_BOOK_OFFLINE=1 forbids the download, and a download is accepted only
after its size, checksum and safetensors header (`shared.gpt2_layout`) check out.

| model_size | preset                 | file                     |
|------------|------------------------|--------------------------|
| "124M"     | "gpt2-small (124M)"    | gpt2-124M.safetensors    |
| "355M"     | "gpt2-medium (355M)"   | gpt2-355M.safetensors    |
| "774M"     | "gpt2-large (774M)"    | gpt2-774M.safetensors    |
| "1558M"    | "gpt2-xl (1558M)"      | gpt2-1558M.safetensors   |

The output head: GPT-2 ties it to the token embedding, and its files store only `wte`. `load_gpt2` builds
the model with the preset's `tie_weights=False`, as the book does, so the head starts as a copy of the
embedding matrix and the two can drift apart in fine-tuning (Chapters 6 and 7 change the head). Pass
`tie_weights=True` to share one matrix instead (38.6M fewer parameters for 124M).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from safetensors.torch import load_file

from shared.config import get_config
from shared.model import GPTModel
from shared.resources import GPT2_WEIGHT_FILES, resolve
from shared.weights import load_hf_gpt2_weights

GPT2_SIZES: dict[str, str] = {size: preset for size, _, preset, _, _ in GPT2_WEIGHT_FILES}  # size -> preset


def gpt2_resource_name(model_size: str) -> str:
    """The registry name (shared.resources.RESOURCES) of a GPT-2 size's weight file, e.g. "gpt2-124M-weights"."""
    if model_size not in GPT2_SIZES:
        raise ValueError(f"unknown GPT-2 model size {model_size!r}; choose one of {list(GPT2_SIZES)}")
    return f"gpt2-{model_size}-weights"


def download_gpt2(model_size: str = "124M", models_dir: str | Path | None = None) -> Path:
    """The path of GPT-2's verified weight file for `model_size`, downloaded into `models_dir` if needed.

    models_dir: the folder for the weights (None: the per-user cache, LLM_BOOK_CACHE). A verified copy in
    LLM_BOOK_DATA is returned instead of downloading. Raises ResourceError (offline, unreachable, corrupt).
    """
    return resolve(gpt2_resource_name(model_size), cache=models_dir)


def load_gpt2(model_size: str = "124M", models_dir: str | Path | None = None, **config_overrides: Any) -> GPTModel:
    """A `GPTModel` with GPT-2's pretrained weights, in eval mode, on the CPU.

    The model is built from get_config(<the size's preset>, qkv_bias=True, **config_overrides), e.g.
    drop_rate=0.0 or tie_weights=True; an override that changes a shape makes the loading fail with ValueError.
    """
    path = download_gpt2(model_size, models_dir)
    model = GPTModel(get_config(GPT2_SIZES[model_size], qkv_bias=True, **config_overrides))
    load_hf_gpt2_weights(model, load_file(path))
    return model.eval()
