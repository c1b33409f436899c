"""One training loop for pretraining and fine-tuning.

It is written so ``torch.distributed`` can wrap it: each rank draws its own shard of every epoch through a
``DistributedSampler`` when a process group is initialised, all randomness comes from the ``seed`` argument, and
checkpoints (written atomically, rank 0 only) make a run resumable.
"""
from __future__ import annotations

import math
import os
from functools import partial
from pathlib import Path
from typing import Callable, Sequence

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler

from ..utils.files import atomic_write
from ..utils.progress import progress_bar


def _is_main() -> bool:
    return not torch.distributed.is_available() or not torch.distributed.is_initialized() or \
        torch.distributed.get_rank() == 0


def train(params: Sequence[nn.Parameter], items: Sequence, collate: Callable, step: Callable[[object], Tensor], *,
          epochs: int, batch_size: int, lr: float, weight_decay: float = 0.0, seed: int = 0, desc: str = "train",
          progress: bool | None = None, checkpoint: str | os.PathLike | None = None,
          state: Callable[[], dict] | None = None, load_state: Callable[[dict], None] | None = None,
          on_epoch_end: Callable[[int], None] | None = None) -> list[float]:
    """Minimise ``step(batch)`` over ``items`` with AdamW and a cosine schedule; returns the mean loss per epoch.

    ``checkpoint``: a file to resume from and to write after every epoch, holding ``state()`` (the caller's modules),
    the optimiser, the schedule and the epoch; ``load_state`` restores the caller's part.
    """
    params = [p for p in params if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    steps_per_epoch = max(1, math.ceil(len(items) / batch_size))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(1.0, s / max(1, epochs * steps_per_epoch)))))
    start, history = 0, []
    if checkpoint is not None and Path(checkpoint).is_file():
        ck = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if load_state is not None:
            load_state(ck["state"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        start, history = ck["epoch"], ck["history"]
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    generator = torch.Generator().manual_seed(seed)
    sampler = DistributedSampler(items, seed=seed) if distributed else RandomSampler(items, generator=generator)
    loader = DataLoader(items, batch_size=batch_size, sampler=sampler, collate_fn=collate)
    bar = progress_bar(total=epochs, initial=start, desc=desc, enabled=progress)
    for epoch in range(start, epochs):
        if distributed:
            sampler.set_epoch(epoch)
        else:
            generator.manual_seed(seed * 100_003 + epoch)
        total, count = 0.0, 0
        for batch in loader:
            loss = step(batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            sched.step()
            total, count = total + float(loss.detach()), count + 1
        history.append(total / max(count, 1))
        if on_epoch_end is not None:
            on_epoch_end(epoch)
        bar.update(1)
        bar.set_postfix(loss=f"{history[-1]:.4f}")
        if checkpoint is not None and _is_main():
            ck = {"state": state() if state else {}, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                  "epoch": epoch + 1, "history": history}
            atomic_write(checkpoint, partial(torch.save, ck))
    bar.close()
    return history
