"""Run by test_ch05.py under `torchrun --nproc_per_node=2`: train a tiny model for 4 steps with train_model and
write, per rank, which samples it saw first and a checksum of its final weights to OUT_DIR/rank<N>.json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from torch.utils.data import Dataset

from shared import GPTModel, TrainConfig, create_dataloader_v1, get_config, load_corpus, set_seed, train_model
from shared.distributed import cleanup_distributed, init_distributed


class Recording(Dataset):
    """The training windows, remembering which indices this process asked for."""

    def __init__(self, inner: Dataset):
        self.inner, self.seen = inner, []

    def __len__(self) -> int:
        return len(self.inner)

    def __getitem__(self, i: int):
        self.seen.append(i)
        return self.inner[i]


def main(out_dir: Path) -> None:
    info = init_distributed("cpu")
    set_seed(0)
    model = GPTModel(get_config("tiny"))
    loader = create_dataloader_v1(load_corpus()[:8000], batch_size=4, max_length=16, stride=16)
    loader = torch.utils.data.DataLoader(Recording(loader.dataset), batch_size=4, shuffle=True, drop_last=True)
    config = TrainConfig(max_steps=4, lr=1e-2, out_dir=out_dir, progress=False)
    result = train_model(model, loader, None, config, device="cpu", tokenizer_name="embedded")
    checksum = sum(float(p.detach().double().sum()) for p in model.parameters())
    report = {"rank": info.rank, "first_batch": loader.dataset.seen[:4], "weights": repr(checksum),
              "steps": result.steps}
    (out_dir / f"rank{info.rank}.json").write_text(json.dumps(report))
    cleanup_distributed()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
