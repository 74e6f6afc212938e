"""Chapter 6 end to end: prepare the SMS data, turn a pretrained GPT into a spam classifier, fine-tune, evaluate.

Usage (from the repository root; every flag has a default):
    python ch06/gpt_class_finetune.py                                   # embedded data + Chapter 5's model, every layer
    python ch06/gpt_class_finetune.py --trainable-blocks 1              # the book's choice: last block, norm, head
    python ch06/gpt_class_finetune.py --lora-rank 8 --lora-alpha 8 --lr 3e-4   # LoRA instead of unfrozen layers
    LLM_BOOK_DATA=... python ch06/gpt_class_finetune.py --data uci --model 124M   # the book's run

--model "embedded" is the model Chapter 5 pretrains on the embedded corpus (checkpoints/, built on first use);
a GPT-2 size (124M, ...) loads OpenAI's weights (a book resource) with GPT-2's tokenizer; "random" is the small-cpu preset
from random weights (how much pretraining helps). The test split is only used once, after training.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root, for `import shared`

from shared import (  # noqa: E402
    GPTModel,
    SpamDataset,
    calc_accuracy_loader,
    count_parameters,
    get_config,
    get_tokenizer,
    load_gpt2,
    make_classifier,
    merge_lora,
    replace_linear_with_lora,
    set_seed,
    train_classifier_simple,
    write_split_csvs,
)
from shared.classifier import save_classifier  # noqa: E402
from shared.gpt2_weights import GPT2_SIZES  # noqa: E402
from shared.pretrained import checkpoints_dir, load_pretrained_embedded  # noqa: E402

GPT2_MODELS = list(GPT2_SIZES)  # "124M", "355M", "774M", "1558M"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", choices=["embedded", "uci"], default="embedded",
                        help="the project's SMS set, or the UCI SMS Spam Collection (book resource)")
    parser.add_argument("--model", choices=["embedded", "random", *GPT2_MODELS], default="embedded",
                        help="Chapter 5's pretrained model, the same preset untrained, or OpenAI's GPT-2")
    parser.add_argument("--trainable-blocks", default=None,
                        help="how many of the last transformer blocks to train (0 to n_layers), or 'all'; "
                             "default: all (embedded/random), 1 (GPT-2, the book's choice)")
    parser.add_argument("--lora-rank", type=int, default=0, help="train LoRA matrices of this rank (0: no LoRA)")
    parser.add_argument("--lora-alpha", type=float, default=8.0, help="the LoRA scale alpha")
    parser.add_argument("--first-token", action="store_true", help="classify from the first token (Exercise 6.3)")
    parser.add_argument("--epochs", type=int, default=None, help="default: 4 (embedded/random), 5 (GPT-2)")
    parser.add_argument("--lr", type=float, default=None, help="default: 2e-4 (embedded/random), 5e-5 (GPT-2)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=None, help="pad/cut every message to this many tokens")
    parser.add_argument("--train-subset", type=int, default=None, help="use only this many training messages")
    parser.add_argument("--seed", type=int, default=123)
    parser.add_argument("--output", default=None, help="where to save the classifier (default: checkpoints/)")
    parser.add_argument("--no-save", action="store_true", help="do not save the classifier")
    args = parser.parse_args(argv)
    if args.trainable_blocks is None:
        args.trainable_blocks = 1 if args.model in GPT2_MODELS else "all"
    if args.trainable_blocks != "all":
        try:
            args.trainable_blocks = int(args.trainable_blocks)
        except ValueError:
            parser.error(f"--trainable-blocks must be a number or 'all', got {args.trainable_blocks!r}")
    if args.lora_rank < 0:
        parser.error("--lora-rank must be 0 (off) or positive")
    return args


def base_model(name: str) -> tuple[GPTModel, str]:
    """The model to fine-tune and the name of its tokenizer."""
    if name == "embedded":
        return load_pretrained_embedded(), "embedded"
    if name == "random":
        return GPTModel(get_config("small-cpu")), "embedded"
    return load_gpt2(name), "gpt2"


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = parse_args(argv)
    set_seed(args.seed)
    model, tokenizer_name = base_model(args.model)
    tokenizer = get_tokenizer(tokenizer_name)
    position = 0 if args.first_token else -1

    with tempfile.TemporaryDirectory() as folder:
        paths = write_split_csvs(folder, source=args.data)
        if args.train_subset:
            import pandas as pd
            pd.read_csv(paths["train"]).iloc[:args.train_subset].to_csv(paths["train"], index=None)
        # the longest training message, or --max-length; never more than the model's context
        max_length = None if args.max_length is None else min(args.max_length, model.context_length)
        train_dataset = SpamDataset(paths["train"], tokenizer, max_length=max_length)
        if train_dataset.max_length > model.context_length:
            train_dataset = SpamDataset(paths["train"], tokenizer, max_length=model.context_length)
        datasets = {name: SpamDataset(paths[name], tokenizer, max_length=train_dataset.max_length)
                    for name in ("validation", "test")}
    print(f"data: {args.data}, {len(train_dataset)}/{len(datasets['validation'])}/{len(datasets['test'])} "
          f"messages, padded to {train_dataset.max_length} tokens")

    set_seed(args.seed)
    train_loader = DataLoader(train_dataset, batch_size=args.batch_size, shuffle=True, drop_last=True)
    val_loader = DataLoader(datasets["validation"], batch_size=args.batch_size)
    test_loader = DataLoader(datasets["test"], batch_size=args.batch_size)

    if args.lora_rank:
        make_classifier(model, num_classes=2, trainable_blocks=0, train_final_norm=False, seed=args.seed)
        model.requires_grad_(False)
        replace_linear_with_lora(model, rank=args.lora_rank, alpha=args.lora_alpha)
    else:
        make_classifier(model, num_classes=2, trainable_blocks=args.trainable_blocks, seed=args.seed)
    print(f"model: {args.model}; trainable parameters: {count_parameters(model):,} of "
          f"{count_parameters(model, trainable_only=False):,}")

    lr = args.lr if args.lr is not None else (5e-5 if args.model in GPT2_MODELS else 2e-4)
    epochs = args.epochs if args.epochs is not None else (5 if args.model in GPT2_MODELS else 4)
    start = time.perf_counter()
    set_seed(args.seed)  # as ch06.ipynb does before training: the same seed gives the notebook's run
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.1)
    train_classifier_simple(model, train_loader, val_loader, optimizer, "cpu", num_epochs=epochs,
                            eval_freq=50, eval_iter=5, position=position)
    seconds = time.perf_counter() - start
    results = {name: calc_accuracy_loader(loader, model, "cpu", position=position)
               for name, loader in (("train", train_loader), ("validation", val_loader), ("test", test_loader))}
    print(f"training took {seconds:.1f} s")
    for name, accuracy in results.items():
        print(f"{name} accuracy: {accuracy * 100:.2f}%")
    if not args.no_save:
        path = Path(args.output) if args.output else checkpoints_dir() / f"classifier-{args.data}-{args.model}.pth"
        save_classifier(path, merge_lora(model), tokenizer_name, train_dataset.max_length, accuracy=results)
        print(f"saved {path}")
    return {**results, "seconds": seconds}


if __name__ == "__main__":
    main()
