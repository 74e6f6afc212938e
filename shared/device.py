"""Pick the compute device and seed every random generator (used from Chapter 2 on).

Usage:
    from shared import get_device, set_seed
    set_seed(123)
    device = get_device()          # cuda if present, else cpu
    device = get_device(mps=True)  # also consider Apple's MPS backend (opt-in, see below)

MPS is opt-in because some PyTorch operations are still missing or numerically different on it:
results can differ from CPU in the last digits and a few ops fall back to the CPU (slowly) or fail.
Set `PYTORCH_ENABLE_MPS_FALLBACK=1` if an op is reported as not implemented.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def get_device(mps: bool | None = None) -> torch.device:
    """CUDA when available; else MPS if asked for (argument or LLM_BOOK_MPS=1) and available; else CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if mps is None:
        mps = os.environ.get("LLM_BOOK_MPS", "") == "1"
    if mps and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def set_seed(seed: int = 123) -> None:
    """Seed Python, NumPy and PyTorch (all devices) so a run repeats exactly on the same machine."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
