"""Chapter 7's exercises from a shell: the chapter's fine-tuning run with one change each, scored offline.

Usage (from any folder):
    python ch07/exercise_experiments.py --exercise_solution alpaca_style  # 7.1: Alpaca prompts (the chapter: Phi-3)
    python ch07/exercise_experiments.py --exercise_solution unmasked      # 7.2: the prompt in the loss (chapter: not)
    python ch07/exercise_experiments.py --exercise_solution alpaca52k     # 7.3: Alpaca's 52k (book resource)
    python ch07/exercise_experiments.py --exercise_solution lora          # 7.4: LoRA matrices only
    python ch07/exercise_experiments.py --exercise_solution baseline      # the chapter's run, to compare
    python ch07/exercise_experiments.py --exercise_solution unmasked --num-epochs 1 --train-subset 2000   # quicker

Each run is `ch07/gpt_instruction_finetuning.py` with the exercise's options: it prints the exact-match and
overlap scores before and after fine-tuning and writes its checkpoint and answers to --out-dir (default
out/ch07-<exercise>/, so the chapter's own model in checkpoints/ is left alone). 7.3 trains one epoch on
5,000 of Alpaca's entries and answers 100 of its test entries (the whole set takes hours on a CPU; pass
--train-subset to change that); the file (23 MB) is downloaded once, or read from LLM_BOOK_DATA.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXERCISES = {
    "baseline": [],
    "alpaca_style": ["--style", "alpaca"],
    "unmasked": ["--no-mask-instruction"],
    "alpaca52k": ["--data", "alpaca", "--train-subset", "5000", "--test-subset", "100", "--num-epochs", "1"],
    "lora": ["--lora-rank", "16", "--lora-alpha", "16", "--lr", "3e-4"],  # alpha 16 scales the steps: a lower lr
}


def finetuning_script():
    spec = importlib.util.spec_from_file_location("gpt_instruction_finetuning", HERE / "gpt_instruction_finetuning.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exercise_solution", choices=sorted(EXERCISES), required=True)
    parser.add_argument("--out-dir", type=Path, help="default: out/ch07-<exercise> at the top of the repository")
    args, passed_on = parser.parse_known_args(argv)
    out_dir = args.out_dir or HERE.parent / "out" / f"ch07-{args.exercise_solution}"
    print(f"exercise {args.exercise_solution}: gpt_instruction_finetuning.py "
          f"{' '.join(EXERCISES[args.exercise_solution] + passed_on)}")
    return finetuning_script().main([*EXERCISES[args.exercise_solution], *passed_on, "--out-dir", str(out_dir)])


if __name__ == "__main__":
    sys.exit(main())
