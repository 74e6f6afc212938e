"""The spam classifier Chapter 6 fine-tunes, found where the chapter saves it or built once (Chapter 1).

Usage:
    from shared.finetuned import load_spam_classifier
    classifier, info = load_spam_classifier()   # checkpoints/review_classifier.pth; trained first if missing
    classify_review("You won a prize!", classifier, get_tokenizer("embedded"), "cpu", max_length=info["max_length"])

Chapter 1 starts from the finished models. The pretrained model (`shared.pretrained.load_pretrained_embedded`)
and the instruction-tuned one (`shared.instruction_data.load_instruction_model`) have loaders of their own;
this is the classifier's. When `ch06/ch06.ipynb` has not been run yet, the chapter's script
(`ch06/gpt_class_finetune.py`, the embedded SMS set on Chapter 5's model) trains and saves it: a few minutes
on a CPU, once.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import torch
from torch import nn

from shared.classifier import load_classifier
from shared.pretrained import checkpoints_dir

SPAM_CLASSIFIER = "review_classifier.pth"  # the name ch06/ch06.ipynb saves it under
FINETUNE_SCRIPT = Path(__file__).resolve().parent.parent / "ch06" / "gpt_class_finetune.py"


def load_spam_classifier(device: torch.device | str = "cpu",
                         build_if_missing: bool = True) -> tuple[nn.Module, dict[str, Any]]:
    """The Chapter 6 classifier in eval mode and its information (tokenizer, max_length, accuracy)."""
    path = checkpoints_dir() / SPAM_CLASSIFIER
    if not path.is_file():
        if not build_if_missing or not FINETUNE_SCRIPT.is_file():
            raise FileNotFoundError(f"no spam classifier at {path}: run ch06/ch06.ipynb or "
                                    f"python ch06/gpt_class_finetune.py --output {path}")
        print(f"No spam classifier at {path} yet: fine-tuning it now with ch06/gpt_class_finetune.py "
              f"(a few minutes on a CPU) ...", flush=True)
        done = subprocess.run([sys.executable, str(FINETUNE_SCRIPT), "--output", str(path)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"fine-tuning the classifier failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return load_classifier(path, device)
