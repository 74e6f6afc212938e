"""Instruction fine-tuning from a shell: train, answer the test set, score it offline, save model and answers.

Usage (from any folder):
    python ch07/gpt_instruction_finetuning.py                   # Chapter 5's model on the embedded set: the
                                                                # chapter's recipe -> checkpoints/instruct-small-embedded.pth
    python ch07/gpt_instruction_finetuning.py --style alpaca --no-mask-instruction   # exercises 7.1 and 7.2
    python ch07/gpt_instruction_finetuning.py --lora-rank 16                       # exercise 7.4: LoRA only
    python ch07/gpt_instruction_finetuning.py --data alpaca --train-subset 5000    # exercise 7.3 (book resource)
    python ch07/gpt_instruction_finetuning.py --gpt2 355M --data book              # the book's run (its recipe)
    python ch07/gpt_instruction_finetuning.py --preset tiny --num-epochs 1 --train-subset 24     # a quick try

The chapter's recipe (shared.INSTRUCT_RECIPE: Phi-3 prompts, the loss on the responses only, batches of 16,
a warmup and cosine decay of the learning rate) is the default; with --gpt2 the defaults are the book's
(shared.instruction_finetune.BOOK_RECIPE: Alpaca prompts, the whole text in the loss, 2 epochs at 5e-5).

The test set with each answer is written to <out-dir>/instruction-data-with-response.json (the file
ch07/ollama_evaluate.py scores), with the offline scores (exact match per rule-based family, token F1,
ROUGE-L) printed before and after fine-tuning. GPT-2 and the book's data are book resources.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from shared import (
    format_input,
    get_config,
    get_tokenizer,
    load_instruction_data,
    set_seed,
    split_instruction_data,
)
from shared.classifier import count_parameters
from shared.instruction_eval import evaluate_responses, print_scores
from shared.instruction_finetune import (
    BOOK_RECIPE,
    INSTRUCT_RECIPE,
    finetune,
    generate_responses,
    recipe_loaders,
    save_instruction_model,
    save_responses_json,
)
from shared.lora import merge_lora, replace_linear_with_lora
from shared.model import GPTModel
from shared.pretrained import checkpoints_dir, load_pretrained_embedded
from shared.resources import ResourceError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--preset", choices=["tiny"], help="start from a randomly initialised preset instead of "
                                                         "Chapter 5's pretrained model (quick tries)")
    base.add_argument("--gpt2", metavar="SIZE", choices=["124M", "355M", "774M", "1558M"],
                      help="start from OpenAI's GPT-2 weights (book resource; GPT-2's tokenizer; the book's recipe)")
    parser.add_argument("--data", choices=["embedded", "book", "alpaca"], default="embedded",
                        help="the embedded set, the book's 1,100 entries or Alpaca's 52k (book resources)")
    parser.add_argument("--style", choices=["alpaca", "phi3"], help="the prompt format (7.1)")
    parser.add_argument("--mask-instruction", action=argparse.BooleanOptionalAction,
                        help="no loss on the prompt's tokens (7.2)")
    parser.add_argument("--lora-rank", type=int, default=0, help="train LoRA matrices of this rank only (7.4)")
    parser.add_argument("--lora-alpha", type=float, default=16.0, help="the LoRA scale alpha")
    parser.add_argument("--num-epochs", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--train-subset", type=int, help="train on the first N training entries only")
    parser.add_argument("--test-subset", type=int, help="answer the first N test entries only")
    parser.add_argument("--max-new-tokens", type=int)
    parser.add_argument("--out-dir", type=Path, help="where the model and the answers go (default: checkpoints/)")
    args = parser.parse_args(argv)
    if args.lora_rank < 0:
        parser.error("--lora-rank must be 0 (off) or positive")
    return args


def recipe_for(args: argparse.Namespace) -> dict:
    """The chapter's recipe (the book's with --gpt2) with the options given on the command line."""
    recipe = dict(BOOK_RECIPE if args.gpt2 else INSTRUCT_RECIPE)
    options = {"style": args.style, "mask_instruction": args.mask_instruction, "num_epochs": args.num_epochs,
               "lr": args.lr, "batch_size": args.batch_size, "max_new_tokens": args.max_new_tokens}
    recipe.update({key: value for key, value in options.items() if value is not None})
    recipe.update(data=args.data, lora_rank=args.lora_rank)
    return recipe


def base_model(args: argparse.Namespace, recipe: dict) -> tuple[GPTModel, str, str]:
    """(model, tokenizer name, checkpoint name) for the chosen starting point."""
    if args.gpt2:
        from shared.gpt2_weights import load_gpt2
        return load_gpt2(args.gpt2), "gpt2", f"instruct-gpt2-{args.gpt2}.pth"
    if args.preset:
        set_seed(recipe["seed"])
        return GPTModel(get_config(args.preset, context_length=256)), "embedded", f"instruct-{args.preset}.pth"
    changes = [f"-{recipe['style']}" if recipe["style"] != INSTRUCT_RECIPE["style"] else "",
               "-unmasked" if recipe["mask_instruction"] != INSTRUCT_RECIPE["mask_instruction"] else "",
               f"-{args.data}" if args.data != "embedded" else "", f"-lora{args.lora_rank}" if args.lora_rank else ""]
    return load_pretrained_embedded(), "embedded", f"instruct-small-embedded{''.join(changes)}.pth"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe = recipe_for(args)
    try:
        data = load_instruction_data(args.data)
        model, tokenizer_name, checkpoint_name = base_model(args, recipe)
    except ResourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    tokenizer = get_tokenizer(tokenizer_name)
    recipe.update(tokenizer=tokenizer_name, allowed_max_length=model.context_length)
    train_data, test_data, val_data = split_instruction_data(data, shuffle=args.data == "embedded",
                                                             seed=recipe["seed"])
    train_data = train_data[:args.train_subset] if args.train_subset else train_data
    test_data = test_data[:args.test_subset] if args.test_subset else test_data
    recipe["batch_size"] = min(recipe["batch_size"], len(train_data))
    print(f"{args.data} data: {len(train_data)} train / {len(test_data)} test / {len(val_data)} validation entries")
    print(f"recipe: {recipe['style']} prompts, {'responses only' if recipe['mask_instruction'] else 'whole texts'} "
          f"in the loss, {recipe['num_epochs']} epochs of batches of {recipe['batch_size']}, lr {recipe['lr']:g}")

    def answers() -> list[str]:
        return generate_responses(model, test_data, tokenizer, recipe["style"], recipe["max_new_tokens"])

    print_scores(evaluate_responses(test_data, answers()), "before fine-tuning:")
    if args.lora_rank:
        model.requires_grad_(False)
        replace_linear_with_lora(model, rank=args.lora_rank, alpha=args.lora_alpha)
        print(f"LoRA rank {args.lora_rank}, alpha {args.lora_alpha:g}: {count_parameters(model):,} trainable "
              f"parameters of {count_parameters(model, trainable_only=False):,}")
    set_seed(recipe["seed"])
    train_loader, val_loader, _ = recipe_loaders(train_data, val_data, test_data, tokenizer, recipe)
    recipe["eval_freq"] = min(recipe["eval_freq"], max(1, len(train_loader)))
    start = time.perf_counter()
    train_losses, val_losses, tokens_seen = finetune(model, train_loader, val_loader, tokenizer,
                                                     format_input(val_data[0], recipe["style"]), recipe)
    seconds = time.perf_counter() - start
    print(f"training took {seconds:.0f} s ({recipe['num_epochs']} epochs)")
    responses = answers()
    print_scores(evaluate_responses(test_data, responses), "after fine-tuning:")
    out_dir = args.out_dir or checkpoints_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    path = save_responses_json(test_data, responses, out_dir / "instruction-data-with-response.json")
    print(f"wrote {path}")
    history = {"train_losses": train_losses, "val_losses": val_losses, "tokens_seen": tokens_seen,
               "seconds": seconds}
    print(f"saved {save_instruction_model(merge_lora(model), history, out_dir / checkpoint_name, recipe)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
