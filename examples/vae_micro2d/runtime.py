"""The runtime around the training loop: distributed set-up, checkpoints with RNG state, and stop signals.

A checkpoint records its position as ``(epoch, batch_in_epoch)``: ``epoch`` epochs are complete and
``batch_in_epoch`` batches of the next one are done. :func:`describe_position` prints it the same way everywhere
(1-based epochs), in the save, resume and error messages.

Example:
    >>> describe_position(2, 0), describe_position(1, 3)
    ('after epoch 2', 'epoch 2, after batch 3')
"""

from __future__ import annotations

import os
import pickle
import random
import signal
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from vae_micro2d.config import resolve_device

__all__ = [
    "Distributed", "setup_distributed", "all_reduce_sum", "rng_state", "set_rng_state", "save_checkpoint",
    "load_checkpoint", "CHECKPOINT_KEYS", "describe_position", "StopFlag",
]

#: keys every training checkpoint holds.
CHECKPOINT_KEYS = ("model", "optimizer", "scheduler", "scaler", "rng", "epoch", "batch_in_epoch", "config")


@dataclass
class Distributed:
    """This process's place in a ``torchrun`` job (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup_distributed(device_option: str) -> tuple[Distributed, torch.device]:
    """Read ``torchrun``'s environment, pick this rank's device and start the process group (NCCL or gloo)."""
    info = Distributed(int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1")),
                       int(os.environ.get("LOCAL_RANK", "0")))
    device = resolve_device(device_option)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if info.enabled and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info, device


def all_reduce_sum(values: torch.Tensor, info: Distributed) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write ``payload`` atomically: a temporary file in the same folder, then ``os.replace``."""
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(payload, temporary)
    os.replace(temporary, path)


def load_checkpoint(path: str | os.PathLike, *, argument: str = "checkpoint") -> dict:
    """A training checkpoint written by :func:`save_checkpoint`; ``argument`` names the option in error messages.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a torch file, or not a training checkpoint (missing keys).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{argument}: checkpoint not found: {os.fspath(path)}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except (pickle.UnpicklingError, RuntimeError, EOFError, AttributeError, ImportError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{argument}: {os.fspath(path)} is not a torch checkpoint file ({first_line})") from None
    missing = [key for key in CHECKPOINT_KEYS if not isinstance(state, dict) or key not in state]
    if missing:
        raise ValueError(f"{argument}: {os.fspath(path)} is not a training checkpoint of train.py (missing {missing})")
    return state


def describe_position(epoch: int, batch_in_epoch: int) -> str:
    """``epoch`` complete epochs plus ``batch_in_epoch`` batches of the next, in 1-based words."""
    return f"after epoch {epoch}" if batch_in_epoch == 0 else f"epoch {epoch + 1}, after batch {batch_in_epoch}"


class StopFlag:
    """Set by SIGINT/SIGTERM; the loop saves a checkpoint after the current batch and returns."""

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signal_number: int, frame: object) -> None:
        self.signal_number = signal_number

    def __enter__(self) -> "StopFlag":
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
