r"""Train the MICRO2D VAE with one of the reference experiments.

Experiments (the reconstruction term :math:`\mathcal L_\mathrm{rec}` is computed on the decoder's phase-1
probability :math:`p = \sigma(\text{logits})`, with periodic statistics, and the total loss is
:math:`\mathcal L_\mathrm{rec} + \beta\, D_\mathrm{KL}`):

* ``mse``: pixel MSE :math:`\lVert p - x \rVert^2 / |x|`.
* ``mse_cess``: :math:`\alpha\,\mathrm{MSE} + \mathrm{CESS}` (:func:`spatialstats.functional.mse_cess`).
* ``cess_finetune``: CESS of the full periodic statistics, starting from an MSE checkpoint.
* ``cess_crop_finetune``: center-crop CESS (:func:`spatialstats.functional.center_crop_cess`, cutoff 25: a 51 x 51
  window of offsets around the paper's 50 x 50), starting from an MSE checkpoint.
* ``style``: Gram-matrix style loss on VGG-19 features (:mod:`vae_micro2d.style`).
* ``transport_finetune``: the transport loss for sparse structures (:func:`spatialstats.functional.transport_ss`),
  starting from an MSE checkpoint (compared with ``cess_finetune`` by ``sparse_comparison.py``).

RAdam, cosine annealing with warm restarts every ``restart_period_epochs`` (stepped per batch), an atomic checkpoint
each epoch (``checkpoint.pt``: model, optimizer, scheduler, grad scaler, RNG states, position), ``--resume``,
SIGINT/SIGTERM save-and-exit, a stop with a clear message on a non-finite loss (the last good checkpoint is kept),
one JSON line of metrics per epoch (``metrics.jsonl``), mixed precision on CUDA, and multi-GPU/multi-node through
``torchrun`` (DistributedDataParallel; NCCL on GPUs, gloo on CPU).

The code is in layers: :mod:`vae_micro2d.config` (the options and the command line generated from them),
:mod:`vae_micro2d.experiments` (the losses, a table), :mod:`vae_micro2d.loop` (step, epoch, validation),
:mod:`vae_micro2d.runtime` (distributed set-up, checkpoints and RNG state, signals) and this file, which wires
them into a run. ``train_minimal.py`` shows the bare idea in a plain PyTorch loop.

Run::

    python examples/vae_micro2d/train.py --experiment mse --data MICRO2D_homogenized.h5 --out runs/mse
    python examples/vae_micro2d/train.py --experiment cess_finetune --init-checkpoint runs/mse/checkpoint.pt \
        --data MICRO2D_homogenized.h5 --out runs/cess --config runs/sweep/best_cess_finetune.json
    torchrun --nproc_per_node 4 examples/vae_micro2d/train.py --experiment mse --data ... --out runs/mse
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import dataclasses
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from vae_micro2d.config import ARCHITECTURE_FIELDS, TrainConfig, build_parser, config_overrides, load_config
from vae_micro2d.data import Micro2DDataset, build_splits, check_image_size
from vae_micro2d.experiments import EXPERIMENTS, LOSSES, make_loss_function
from vae_micro2d.loop import EpochTotals, Parts, run_epoch, validate
from vae_micro2d.model import MicrostructureVAE
from vae_micro2d.runtime import (
    Distributed, StopFlag, describe_position, load_checkpoint, rng_state, save_checkpoint, set_rng_state,
    setup_distributed,
)

__all__ = [
    "EXPERIMENTS", "LOSSES", "TrainConfig", "NonFiniteLossError", "load_config", "load_checkpoint", "build_model",
    "make_loss_function", "train", "main", "CHECKPOINT_NAME", "METRICS_NAME",
]

CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is left in place."""


def build_model(config: TrainConfig) -> MicrostructureVAE:
    return MicrostructureVAE(
        latent_channels=config.latent_channels, depth=config.depth, width=config.width, stages=config.stages
    )


def _architecture(values: dict | TrainConfig) -> dict:
    values = dataclasses.asdict(values) if isinstance(values, TrainConfig) else values
    return {name: values[name] for name in ARCHITECTURE_FIELDS}


def _load_states(config: TrainConfig, out_dir: Path, resume: bool) -> tuple[dict | None, dict | None]:
    """``(resume_state, init_model_state)``; a fine-tuned run takes the architecture of its starting checkpoint.

    Raises:
        ValueError: a fresh run into a folder holding a run, or a resume whose experiment or architecture differs.
    """
    init_state = None
    if config.init_checkpoint:
        init = load_checkpoint(config.init_checkpoint, argument="--init-checkpoint")
        for name, value in _architecture(init["config"]).items():
            setattr(config, name, value)
        init_state = init["model"]
    path = out_dir / CHECKPOINT_NAME
    if not resume:
        if path.exists():
            raise ValueError(f"--out {out_dir} already holds a run ({CHECKPOINT_NAME}): pass --resume to continue it, "
                             "or choose another --out")
        return None, init_state
    state = load_checkpoint(path, argument="--resume")
    saved = state["config"]
    if saved["experiment"] != config.experiment or _architecture(saved) != _architecture(config):
        raise ValueError(
            f"--resume: the run in {out_dir} is experiment {saved['experiment']!r} with {_architecture(saved)}, this "
            f"command asks for {config.experiment!r} with {_architecture(config)}; choose another --out"
        )
    return state, None


def _datasets(config: TrainConfig, info: Distributed):
    note = check_image_size(config.data, config.image_size)
    if note and info.is_main:
        print(note)
    splits = build_splits(config.data, fractions=config.split_fractions, seed=config.seed,
                          max_samples_per_class=config.max_samples_per_class)
    train_set = Micro2DDataset(config.data, splits["train"], image_size=config.image_size)
    val_set = Micro2DDataset(config.data, splits["val"], image_size=config.image_size)
    if len(train_set) == 0:
        raise ValueError(f"the training split of {config.data} is empty; use more samples per class")
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=config.batch_size, num_workers=config.num_workers,
                                             sampler=list(range(len(val_set)))[info.rank :: info.world_size])
    return train_set, val_loader


def _epoch_indices(dataset_size: int, epoch: int, config: TrainConfig, info: Distributed) -> list[int]:
    """This rank's shuffled sample order for ``epoch`` (a pure function of seed and epoch, so resumable)."""
    order = torch.randperm(dataset_size, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch)).tolist()
    if info.enabled:
        per_rank = math.ceil(dataset_size / info.world_size)
        order = (order * info.world_size)[: per_rank * info.world_size]  # pad by repeating, like DistributedSampler
        order = order[info.rank :: info.world_size]
    if config.max_steps_per_epoch is not None:
        order = order[: config.max_steps_per_epoch * config.batch_size]
    return order


def _build_parts(config: TrainConfig, model: MicrostructureVAE, device, info: Distributed, steps_per_epoch: int) -> Parts:
    optimizer = torch.optim.RAdam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=config.restart_period_epochs * steps_per_epoch
    )
    use_scaler = device.type == "cuda" and config.amp and not torch.cuda.is_bf16_supported()
    network = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) \
        if info.enabled else model
    return Parts(network, optimizer, scheduler, torch.amp.GradScaler("cuda", enabled=use_scaler),
                 make_loss_function(config, device), config.kl_weight, device, config.amp, info)


def _restore(parts: Parts, model: MicrostructureVAE, state: dict, info: Distributed) -> EpochTotals:
    """Load a resumed run's state; returns the totals of its unfinished epoch (zeros at an epoch boundary)."""
    model.load_state_dict(state["model"])
    parts.optimizer.load_state_dict(state["optimizer"])
    parts.scheduler.load_state_dict(state["scheduler"])
    parts.scaler.load_state_dict(state["scaler"])
    saved_rng, saved_sums = state["rng"], state.get("epoch_sums")
    saved_processes = len(saved_rng) if isinstance(saved_rng, list) else 1
    totals = EpochTotals.zeros(parts.device, state["batch_in_epoch"])
    if saved_processes != info.world_size:
        if info.is_main:
            print(f"note: checkpoint written by {saved_processes} processes, resuming with {info.world_size}: "
                  "fresh random streams (the run stays valid but is no longer bit-reproducible)")
        return totals
    set_rng_state(saved_rng[info.rank] if isinstance(saved_rng, list) else saved_rng)
    if saved_sums is not None:
        totals.sums.copy_(saved_sums[info.rank] if isinstance(saved_sums, list) else saved_sums)
    return totals


def _checkpoint(path: Path, config: TrainConfig, model, parts: Parts, position: tuple[int, int], totals) -> None:
    """Save model, optimiser, schedule, scaler, every rank's RNG state and unfinished-epoch sums at ``position``."""
    info = parts.info
    rank_state = {"rng": rng_state(), "sums": totals.sums.cpu()}
    if info.enabled:
        gathered: list[dict] = [None] * info.world_size  # type: ignore[list-item]
        dist.all_gather_object(gathered, rank_state)
        rng, sums = [item["rng"] for item in gathered], [item["sums"] for item in gathered]
    else:
        rng, sums = rank_state["rng"], rank_state["sums"]
    if info.is_main:
        save_checkpoint(path, {
            "model": model.state_dict(), "optimizer": parts.optimizer.state_dict(),
            "scheduler": parts.scheduler.state_dict(), "scaler": parts.scaler.state_dict(), "rng": rng,
            "epoch_sums": sums, "epoch": position[0], "batch_in_epoch": position[1],
            "config": dataclasses.asdict(config), "world_size": info.world_size,
        })


def _epoch_loader(train_set, epoch: int, skip: int, config: TrainConfig, parts: Parts):
    indices = _epoch_indices(len(train_set), epoch, config, parts.info)
    # its own generator: creating the iterator then leaves the global RNG alone, so a resumed epoch draws as a straight
    # one; pinned memory on CUDA, so that the non-blocking copy to the device does not wait for the host
    return torch.utils.data.DataLoader(train_set, batch_size=config.batch_size, num_workers=config.num_workers,
                                       sampler=indices[skip * config.batch_size :], pin_memory=parts.device.type == "cuda",
                                       generator=torch.Generator().manual_seed(epoch))


def _check_finite(totals: EpochTotals, epoch: int, config: TrainConfig, saved_at, path: Path, info) -> dict:
    means = totals.means(info)
    if means.pop("non_finite_batches") or not math.isfinite(means["train_loss"]):
        first_batch = int(totals.first_non_finite)
        first = f", batch {first_batch}" if first_batch else ""
        last = "none yet" if saved_at is None else f"{path} ({describe_position(*saved_at)})"
        raise NonFiniteLossError(
            f"non-finite loss in epoch {epoch + 1}{first} of experiment {config.experiment!r}; stopped without "
            f"saving. Last good checkpoint: {last}. Try a lower learning_rate or kl_weight."
        )
    return means


def _log_epoch(out_dir: Path, metrics: dict, epochs: int) -> None:
    with open(out_dir / METRICS_NAME, "a") as handle:
        handle.write(json.dumps(metrics) + "\n")
    validation = "" if metrics["val_cess"] is None else f", val_cess {metrics['val_cess']:.4f}"
    print(f"{metrics['experiment']} epoch {metrics['epoch']}/{epochs}: train_loss {metrics['train_loss']:.4g}"
          f"{validation} ({metrics['seconds']:.1f} s)", flush=True)


def train(config: TrainConfig, *, resume: bool = False) -> dict:
    """Run (or resume) training; returns ``{"status": "completed" | "interrupted" | "nothing_to_do", "epoch": ...}``.

    Raises:
        NonFiniteLossError: the loss became NaN/inf (the last good checkpoint is kept).
        ValueError, FileNotFoundError: bad options, files or checkpoints (messages name the option).
    """
    config.validate()
    info, device = setup_distributed(config.device)
    out_dir = Path(config.out_dir)
    state, init_state = _load_states(config, out_dir, resume)
    if state is not None and state["epoch"] >= config.epochs:
        if info.is_main:
            print(f"nothing to do: the run in {out_dir} has finished {state['epoch']} epochs (--epochs "
                  f"{config.epochs}); pass a larger --epochs to continue it")
        return {"status": "nothing_to_do", "epoch": state["epoch"]}
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    if init_state is not None:
        model.load_state_dict(init_state)
    train_set, val_loader = _datasets(config, info)
    steps = math.ceil(len(_epoch_indices(len(train_set), 0, config, info)) / config.batch_size)
    parts = _build_parts(config, model, device, info, steps)
    torch.manual_seed(config.seed + 7919 * info.rank)  # each rank draws its own reparameterization noise
    totals = EpochTotals.zeros(device)
    start = (state["epoch"], state["batch_in_epoch"]) if state is not None else (0, 0)
    if state is not None:
        totals = _restore(parts, model, state, info)
        if info.is_main:
            print(f"resuming {out_dir / CHECKPOINT_NAME} ({describe_position(*start)})")
    if info.is_main:
        (out_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))
    return _train_epochs(config, model, parts, train_set, val_loader, totals, start, out_dir)


def _train_epochs(config, model, parts: Parts, train_set, val_loader, totals, start, out_dir: Path) -> dict:
    info, path = parts.info, out_dir / CHECKPOINT_NAME
    saved_at = start if start != (0, 0) else None
    result: dict = {"status": "completed", "epoch": start[0]}
    with StopFlag() as stop:
        for epoch in range(start[0], config.epochs):
            began = time.perf_counter()
            skip = start[1] if epoch == start[0] else 0
            bar = f"{config.experiment} epoch {epoch + 1}/{config.epochs}" if config.progress and info.is_main else None
            finished = run_epoch(parts, _epoch_loader(train_set, epoch, skip, config, parts), totals, stop, bar=bar)
            means = _check_finite(totals, epoch, config, saved_at, path, info)
            if not finished:
                _checkpoint(path, config, model, parts, (epoch, totals.batches), totals)
                if info.is_main:
                    print(f"stopped by signal; saved {path} ({describe_position(epoch, totals.batches)}); "
                          "continue with --resume")
                return {"status": "interrupted", "epoch": epoch, "batch_in_epoch": totals.batches}
            metrics = {"epoch": epoch + 1, "experiment": config.experiment, **means, **validate(model, val_loader, parts),
                       "learning_rate": parts.optimizer.param_groups[0]["lr"],
                       "seconds": time.perf_counter() - began, "world_size": info.world_size}
            totals = EpochTotals.zeros(parts.device)
            _checkpoint(path, config, model, parts, (epoch + 1, 0), totals)
            saved_at = (epoch + 1, 0)
            if info.is_main:
                _log_epoch(out_dir, metrics, config.epochs)
            result = {"status": "completed", **metrics}
    return result


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config, **config_overrides(args))
        result = train(config, resume=args.resume)
    except (NonFiniteLossError, OSError, ValueError, TypeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0 if result["status"] in ("completed", "interrupted", "nothing_to_do") else 1


if __name__ == "__main__":
    sys.exit(main())
