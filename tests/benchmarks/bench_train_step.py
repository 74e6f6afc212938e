"""A 124M training step, `GPTModel` against Hugging Face's `GPT2LMHeadModel`, same config and weights (CPU or GPU).

Usage:
    python tests/benchmarks/bench_train_step.py                    # batch 2 x 256, 9 alternating repeats
    python tests/benchmarks/bench_train_step.py --batch 4 --seq 512 --repeats 15
    python tests/benchmarks/bench_train_step.py --compile          # + both models under torch.compile (slow start)
    python tests/benchmarks/bench_train_step.py --dry-run          # the tiny preset, 2 repeats: checks it runs

One step = forward, cross-entropy on the same (inputs, targets), backward, fused AdamW step, for both models:
only the models differ. Both tie the output head to the token embedding (GPT-2 does) and keep dropout 0.1.
With --compile, each model's forward pass and loss also run as one `torch.compile`d function (Inductor; in
--dry-run the quick "aot_eager" backend), compiled during the warm-up, next to the eager rows.
"""

from __future__ import annotations

import argparse
import copy

import torch
import torch.nn.functional as F
from common import alternate, machine_line, median, print_table

from shared import GPTModel, get_config, load_hf_gpt2_weights


def build(preset: str, device: torch.device):
    import transformers

    transformers.logging.set_verbosity_error()
    cfg = get_config(preset, qkv_bias=True, tie_weights=True)
    hf_config = transformers.GPT2Config(
        vocab_size=cfg["vocab_size"], n_positions=cfg["context_length"], n_embd=cfg["emb_dim"],
        n_layer=cfg["n_layers"], n_head=cfg["n_heads"], resid_pdrop=cfg["drop_rate"], embd_pdrop=cfg["drop_rate"],
        attn_pdrop=cfg["drop_rate"], activation_function="gelu_new", layer_norm_epsilon=1e-5)
    torch.manual_seed(0)
    hf = transformers.GPT2LMHeadModel(hf_config).to(device)
    ours = load_hf_gpt2_weights(GPTModel(cfg), hf.state_dict()).to(device)
    return ours, hf, cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="gpt2-small (124M)")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="also both models under torch.compile")
    parser.add_argument("--dry-run", action="store_true", help="tiny model, 2 repeats")
    args = parser.parse_args()
    if args.dry_run:
        args.preset, args.seq, args.repeats = "tiny", 16, 2
    device = torch.device(args.device)
    ours, hf, cfg = build(args.preset, device)
    x = torch.randint(0, cfg["vocab_size"], (args.batch, args.seq + 1), generator=torch.Generator().manual_seed(1))
    inputs, targets = x[:, :-1].to(device), x[:, 1:].to(device)

    with torch.no_grad():  # same weights: same logits without dropout
        difference = (ours.eval()(inputs) - hf.eval()(inputs).logits).abs().max().item()
    ours.train(), hf.train()

    def stepper(model, forward, compiled: bool = False):
        optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=True)

        def loss_of(batch_inputs, batch_targets):
            return F.cross_entropy(forward(model, batch_inputs).flatten(0, 1), batch_targets.flatten())
        if compiled:
            loss_of = torch.compile(loss_of, backend="aot_eager" if args.dry_run else "inductor")

        def step():
            optimizer.zero_grad(set_to_none=True)
            loss_of(inputs, targets).backward()
            optimizer.step()
        return step

    contenders = {"GPTModel (shared)": stepper(ours, lambda m, i: m(i)),
                  "GPT2LMHeadModel (transformers)": stepper(hf, lambda m, i: m(i).logits)}
    if args.compile:  # copies, so that the eager rows keep training their own weights
        ours_c, hf_c = copy.deepcopy(ours), copy.deepcopy(hf)
        contenders["GPTModel, torch.compile"] = stepper(ours_c, lambda m, i: m(i), compiled=True)
        contenders["GPT2LMHeadModel, torch.compile"] = stepper(hf_c, lambda m, i: m(i).logits, compiled=True)
    times = alternate(contenders, repeats=args.repeats, warmup=2, device=device)
    print(machine_line(device))
    print(f"{args.preset}, batch {args.batch} x {args.seq} tokens, dropout {cfg['drop_rate']}, fused AdamW; "
          f"{args.repeats} alternating repeats; max logit difference without dropout {difference:.1e}")
    def reference(name: str) -> float:  # transformers run the same way: eager against eager, compiled against compiled
        return median(times["GPT2LMHeadModel, torch.compile" if "compile" in name else "GPT2LMHeadModel (transformers)"])

    print_table(["contender", "median ms/step", "tokens/s", "time vs transformers (same mode)"],
                [[name, f"{1e3 * median(t):.0f}", f"{args.batch * args.seq / median(t):,.0f}",
                  f"{median(t) / reference(name):.2f}x"] for name, t in times.items()])


if __name__ == "__main__":
    main()
