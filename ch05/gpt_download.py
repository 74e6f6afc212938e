"""Download OpenAI's pretrained GPT-2 weights and check them: no TensorFlow needed (Chapter 5).

Usage (from any folder):
    python ch05/gpt_download.py                                   # 124M into the per-user cache
    python ch05/gpt_download.py --model-size 355M --models-dir gpt2
    LLM_BOOK_OFFLINE=1 python ch05/gpt_download.py                # only look for a copy already on disk

The files are Hugging Face's safetensors copies of OpenAI's checkpoints (shared/gpt2_weights.py). A
download is kept only after its size, checksum and tensor layout check out; a copy already on disk (in
--models-dir, or in the folder named by LLM_BOOK_DATA) is checked and used as it is. Then, in Python:

    from shared.gpt2_weights import load_gpt2
    model = load_gpt2("124M", "gpt2")   # a GPTModel with GPT-2's weights
"""

from __future__ import annotations

import argparse
import os
import sys

from shared.gpt2_layout import read_safetensors_header
from shared.gpt2_weights import GPT2_SIZES, download_gpt2, gpt2_resource_name
from shared.resources import RESOURCES, ResourceError, cache_dir, resolve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-size", default="124M", choices=list(GPT2_SIZES),
                        help="which GPT-2 (default: 124M)")
    parser.add_argument("--models-dir", default=None,
                        help="folder for the weights (default: the per-user cache, LLM_BOOK_CACHE)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Find or download the weights, printing what happens; return the exit status (0: verified file)."""
    args = parse_args(argv)
    resource = RESOURCES[gpt2_resource_name(args.model_size)]
    try:
        path = resolve(resource, download=False, cache=args.models_dir)
        print(f"found a verified copy of GPT-2 {args.model_size}: nothing to download")
    except ResourceError:  # not on disk yet (or a corrupt copy): download, or say why not
        if os.environ.get("LLM_BOOK_OFFLINE", "") != "1":
            folder = args.models_dir if args.models_dir is not None else cache_dir()
            size = f"{resource.size / 1e6:,.1f} MB" if resource.size else "several GB"
            print(f"downloading GPT-2 {args.model_size} ({size}) from {resource.urls[0]}\n  into {folder} ...")
        try:
            path = download_gpt2(args.model_size, args.models_dir)
        except ResourceError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    n_tensors = len(read_safetensors_header(path))
    print(f"verified {path}: {path.stat().st_size:,} bytes, {n_tensors} tensors "
          f"in the layout of {GPT2_SIZES[args.model_size]!r}")
    print(f"load it with: load_gpt2({args.model_size!r}, {str(path.parent)!r})   # from shared.gpt2_weights")
    return 0


if __name__ == "__main__":
    sys.exit(main())
