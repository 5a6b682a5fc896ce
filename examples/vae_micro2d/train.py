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

RAdam, cosine annealing with warm restarts every ``restart_period_epochs`` (stepped per batch), an atomic checkpoint
each epoch (``checkpoint.pt``: model, optimizer, scheduler, grad scaler, RNG states, position), ``--resume``,
SIGINT/SIGTERM save-and-exit, a stop with a clear message on a non-finite loss (the last good checkpoint is kept),
one JSON line of metrics per epoch (``metrics.jsonl``), mixed precision on CUDA, and multi-GPU/multi-node through
``torchrun`` (DistributedDataParallel; NCCL on GPUs, gloo on CPU).

Run::

    python examples/vae_micro2d/train.py --experiment mse --data MICRO2D_homogenized.h5 --out runs/mse
    python examples/vae_micro2d/train.py --experiment cess_finetune --init-checkpoint runs/mse/checkpoint.pt \
        --data MICRO2D_homogenized.h5 --out runs/cess --config runs/sweep/best_cess_finetune.json
    torchrun --nproc_per_node 4 examples/vae_micro2d/train.py --experiment mse --data ... --out runs/mse
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import contextlib
import dataclasses
import json
import math
import os
import random
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

import spatialstats.functional as SF
from vae_micro2d.data import Micro2DDataset, build_splits
from vae_micro2d.model import MicrostructureVAE, kl_divergence

__all__ = ["EXPERIMENTS", "TrainConfig", "NonFiniteLossError", "load_config", "build_model", "make_loss_function", "train", "main"]

EXPERIMENTS = ("mse", "mse_cess", "cess_finetune", "cess_crop_finetune", "style")
_FINETUNE_EXPERIMENTS = ("cess_finetune", "cess_crop_finetune")
_ARCHITECTURE_FIELDS = ("latent_channels", "depth", "width", "stages")
CHECKPOINT_NAME = "checkpoint.pt"
METRICS_NAME = "metrics.jsonl"


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is left in place."""


@dataclass
class TrainConfig:
    """All options of a run (JSON config files and the command line fill these fields)."""

    experiment: str = "mse"
    data: str = "MICRO2D_homogenized.h5"
    out_dir: str = "runs/vae"
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    kl_weight: float = 1e-4
    alpha: float = 1.0
    latent_channels: int = 4
    depth: int = 3
    width: int = 64
    stages: int = 4
    image_size: int = 224
    max_samples_per_class: int | None = None
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    init_checkpoint: str | None = None
    style_weights: str | None = None
    style_random_weights: bool = False
    crop_cutoff: int = SF.CENTER_CROP_CUTOFF
    restart_period_epochs: int = 10
    max_steps_per_epoch: int | None = None
    amp: bool = True
    progress: bool = True

    def validate(self) -> None:
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {self.experiment!r}")
        if self.experiment in _FINETUNE_EXPERIMENTS and not self.init_checkpoint:
            raise ValueError(
                f"experiment {self.experiment!r} fine-tunes an MSE model: pass --init-checkpoint PATH "
                "(e.g. runs/mse/checkpoint.pt)"
            )
        for name in ("epochs", "batch_size", "image_size", "restart_period_epochs", *_ARCHITECTURE_FIELDS):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        for name in ("learning_rate",):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        for name in ("weight_decay", "kl_weight", "alpha"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.image_size % 2**self.stages:
            raise ValueError(f"image_size must be divisible by 2**stages = {2**self.stages}, got {self.image_size}")
        if self.experiment == "cess_crop_finetune" and self.crop_cutoff > (self.image_size - 1) // 2:
            raise ValueError(
                f"crop_cutoff must be <= (image_size - 1) // 2 = {(self.image_size - 1) // 2} for periodic "
                f"statistics, got {self.crop_cutoff}"
            )


def load_config(config_paths: Sequence[str | os.PathLike] = (), **overrides: object) -> TrainConfig:
    """Defaults, updated by each JSON file in order (later wins), then by ``overrides`` that are not ``None``."""
    values = dataclasses.asdict(TrainConfig())
    known = set(values)
    for path in config_paths:
        with open(path) as handle:
            loaded = json.load(handle)
        if not isinstance(loaded, dict):
            raise ValueError(f"config {path!s} must hold a JSON object, got {type(loaded).__name__}")
        unknown = set(loaded) - known
        if unknown:
            raise ValueError(f"config {path!s} has unknown keys {sorted(unknown)}; known keys: {sorted(known)}")
        values.update(loaded)
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}")
    values.update({key: value for key, value in overrides.items() if value is not None})
    config = TrainConfig(**values)
    config.validate()
    return config


def build_model(config: TrainConfig) -> MicrostructureVAE:
    return MicrostructureVAE(
        latent_channels=config.latent_channels, depth=config.depth, width=config.width, stages=config.stages
    )


def make_loss_function(config: TrainConfig, device: torch.device) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Per-sample reconstruction loss ``(batch,)`` of the experiment, from phase-1 probabilities and targets."""
    if config.experiment == "mse":
        return lambda p, x: (p - x).square().flatten(1).mean(dim=1)
    if config.experiment == "mse_cess":
        return lambda p, x: SF.mse_cess(p, x, alpha=config.alpha, reduction="none", check_values=False)
    if config.experiment == "cess_finetune":
        return lambda p, x: SF.cess(p, x, reduction="none", check_values=False)
    if config.experiment == "cess_crop_finetune":
        return lambda p, x: SF.center_crop_cess(p, x, cutoff=config.crop_cutoff, reduction="none", check_values=False)
    from vae_micro2d.style import VGG19StyleLoss

    style = VGG19StyleLoss(config.style_weights, allow_random_weights=config.style_random_weights).to(device)
    return style


# ----------------------------------------------------------------------------------------------------------------
# Distributed helpers


@dataclass
class _Distributed:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def _setup_distributed(device_option: str) -> tuple[_Distributed, torch.device]:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    info = _Distributed(int(os.environ.get("RANK", "0")), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if device_option == "auto":
        device_option = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device_option)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", info.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if info.enabled and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return info, device


def _all_reduce_sum(values: torch.Tensor, info: _Distributed) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


# ----------------------------------------------------------------------------------------------------------------
# Checkpoints


def _rng_state() -> dict:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
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


def load_checkpoint(path: str | os.PathLike) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint not found: {path!s}")
    return torch.load(path, map_location="cpu", weights_only=False)


# ----------------------------------------------------------------------------------------------------------------
# Training


class _StopFlag:
    """Set by SIGINT/SIGTERM; the loop saves a checkpoint after the current batch and returns."""

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signal_number: int, frame: object) -> None:
        self.signal_number = signal_number

    def __enter__(self) -> "_StopFlag":
        if threading_is_main():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)


def threading_is_main() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _epoch_indices(dataset_size: int, epoch: int, config: TrainConfig, info: _Distributed) -> list[int]:
    """This rank's shuffled sample order for ``epoch`` (a pure function of seed and epoch, so resumable)."""
    order = torch.randperm(dataset_size, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch)).tolist()
    if info.enabled:
        per_rank = math.ceil(dataset_size / info.world_size)
        order = (order * info.world_size)[: per_rank * info.world_size]  # pad by repeating, like DistributedSampler
        order = order[info.rank :: info.world_size]
    if config.max_steps_per_epoch is not None:
        order = order[: config.max_steps_per_epoch * config.batch_size]
    return order


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if device.type != "cuda" or not enabled:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


@torch.no_grad()
def _validate(model: MicrostructureVAE, loader, loss_function, config: TrainConfig, device, info) -> dict[str, float]:
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=device)  # loss, reconstruction, cess, count
    for images, _ in loader:
        images = images.to(device)
        with _autocast(device, config.amp):
            logits, mean, log_variance = model(images, sample=False)
        probability = torch.sigmoid(logits.float())
        reconstruction = loss_function(probability, images)
        total = reconstruction + config.kl_weight * kl_divergence(mean.float(), log_variance.float())
        cess = SF.cess(probability, images, reduction="none", check_values=False)
        totals += torch.stack([total.sum(), reconstruction.sum(), cess.sum(), total.new_tensor(len(images))]).double()
    totals = _all_reduce_sum(totals, info)
    count = totals[3].item()
    if count == 0:  # no validation images (tiny runs)
        return {"val_loss": None, "val_reconstruction": None, "val_cess": None}
    return {"val_loss": totals[0].item() / count, "val_reconstruction": totals[1].item() / count, "val_cess": totals[2].item() / count}


def train(config: TrainConfig, *, resume: bool = False) -> dict:
    """Run (or resume) training; returns ``{"status": "completed" | "interrupted", "epoch": ..., metrics...}``.

    Raises:
        NonFiniteLossError: the loss became NaN/inf (the last good checkpoint is kept).
    """
    config.validate()
    info, device = _setup_distributed(config.device)
    out_dir = Path(config.out_dir)
    checkpoint_path = out_dir / CHECKPOINT_NAME
    if info.is_main:
        out_dir.mkdir(parents=True, exist_ok=True)
    state = load_checkpoint(checkpoint_path) if resume else None
    if resume and info.is_main:
        print(f"resuming from {checkpoint_path} (epoch {state['epoch']}, batch {state['batch_in_epoch']})")

    init_state = None
    if config.init_checkpoint and state is None:
        init = load_checkpoint(config.init_checkpoint)
        for name in _ARCHITECTURE_FIELDS:  # the fine-tuned model keeps the architecture of its starting point
            setattr(config, name, init["config"][name])
        init_state = init["model"]

    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)
    model = build_model(config).to(device)
    if init_state is not None:
        model.load_state_dict(init_state)
    splits = build_splits(
        config.data, fractions=config.split_fractions, seed=config.seed, max_samples_per_class=config.max_samples_per_class
    )
    train_set = Micro2DDataset(config.data, splits["train"], image_size=config.image_size)
    val_set = Micro2DDataset(config.data, splits["val"], image_size=config.image_size)
    if len(train_set) == 0:
        raise ValueError(f"the training split of {config.data} is empty; use more samples per class")
    val_indices = list(range(len(val_set)))[info.rank :: info.world_size]
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=config.batch_size, sampler=val_indices, num_workers=config.num_workers)

    optimizer = torch.optim.RAdam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = math.ceil(len(_epoch_indices(len(train_set), 0, config, info)) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        optimizer, T_0=config.restart_period_epochs * steps_per_epoch
    )
    use_scaler = device.type == "cuda" and config.amp and not torch.cuda.is_bf16_supported()
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    start_epoch, start_batch = 0, 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        start_epoch, start_batch = state["epoch"], state["batch_in_epoch"]
    # seed + rank: each rank draws its own reparameterization noise
    torch.manual_seed(config.seed + 7919 * info.rank)
    if state is not None:
        saved_rng = state["rng"]
        saved_processes = len(saved_rng) if isinstance(saved_rng, list) else 1
        if saved_processes != info.world_size:
            if info.is_main:
                print(f"note: checkpoint written by {saved_processes} processes, resuming with {info.world_size}: "
                      "fresh random streams (the run stays valid but is no longer bit-reproducible)")
        else:
            _set_rng_state(saved_rng[info.rank] if isinstance(saved_rng, list) else saved_rng)
    trained = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None) if info.enabled else model
    loss_function = make_loss_function(config, device)
    if info.is_main:
        (out_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=2))

    def checkpoint(epoch: int, batch_in_epoch: int) -> None:
        rng = _rng_state()
        if info.enabled:
            gathered: list[dict] = [None] * info.world_size  # type: ignore[list-item]
            dist.all_gather_object(gathered, rng)
            rng = gathered
        if info.is_main:
            save_checkpoint(checkpoint_path, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "scaler": scaler.state_dict(), "rng": rng, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
                "config": dataclasses.asdict(config), "world_size": info.world_size,
            })

    saved_at = (start_epoch, start_batch) if state is not None else None
    result: dict = {"status": "completed", "epoch": start_epoch}
    with _StopFlag() as stop:
        for epoch in range(start_epoch, config.epochs):
            model.train()
            started = time.perf_counter()
            indices = _epoch_indices(len(train_set), epoch, config, info)
            skip = start_batch if epoch == start_epoch else 0
            loader = torch.utils.data.DataLoader(
                train_set, batch_size=config.batch_size, sampler=indices[skip * config.batch_size :],
                num_workers=config.num_workers, generator=torch.Generator().manual_seed(epoch),
                persistent_workers=False,
            )
            sums = torch.zeros(4, dtype=torch.float64, device=device)  # loss, reconstruction, kl, count
            bar = tqdm(loader, desc=f"{config.experiment} epoch {epoch + 1}/{config.epochs}", disable=not (config.progress and info.is_main), leave=False)
            batch_index = skip
            for images, _ in bar:
                images = images.to(device, non_blocking=True)
                with _autocast(device, config.amp):
                    logits, mean, log_variance = trained(images)
                probability = torch.sigmoid(logits.float())
                reconstruction = loss_function(probability, images)
                kl = kl_divergence(mean.float(), log_variance.float())
                loss = (reconstruction + config.kl_weight * kl).mean()
                flags = torch.tensor([0.0 if torch.isfinite(loss) else 1.0, 1.0 if stop.signal_number else 0.0], device=device)
                flags = _all_reduce_sum(flags, info)
                if flags[0] > 0:
                    last = "none yet" if saved_at is None else f"{checkpoint_path} (epoch {saved_at[0]}, batch {saved_at[1]})"
                    raise NonFiniteLossError(
                        f"non-finite loss ({loss.item()}) in epoch {epoch + 1}, batch {batch_index + 1} of experiment "
                        f"{config.experiment!r}; stopped without saving. Last good checkpoint: {last}. "
                        "Try a lower learning_rate or kl_weight."
                    )
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                batch_index += 1
                sums += torch.stack([loss.detach() * len(images), reconstruction.detach().sum(), kl.detach().sum(), loss.new_tensor(len(images))]).double()
                bar.set_postfix(loss=f"{loss.item():.4g}")
                if flags[1] > 0:
                    checkpoint(epoch, batch_index)
                    if info.is_main:
                        print(f"stopped by signal; saved {checkpoint_path} at epoch {epoch + 1}, batch {batch_index}; resume with --resume")
                    return {"status": "interrupted", "epoch": epoch, "batch_in_epoch": batch_index}
            sums = _all_reduce_sum(sums, info)
            count = max(sums[3].item(), 1.0)
            metrics = {
                "epoch": epoch + 1, "experiment": config.experiment, "train_loss": sums[0].item() / count,
                "train_reconstruction": sums[1].item() / count, "train_kl": sums[2].item() / count,
                **_validate(model, val_loader, loss_function, config, device, info),
                "learning_rate": optimizer.param_groups[0]["lr"], "seconds": time.perf_counter() - started,
                "world_size": info.world_size,
            }
            checkpoint(epoch + 1, 0)
            saved_at = (epoch + 1, 0)
            if info.is_main:
                with open(out_dir / METRICS_NAME, "a") as handle:
                    handle.write(json.dumps(metrics) + "\n")
                if config.progress:
                    print(json.dumps(metrics))
            result = {"status": "completed", **metrics}
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Train the MICRO2D VAE.", formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--experiment", choices=EXPERIMENTS)
    parser.add_argument("--data", help="MICRO2D_homogenized.h5 (or the synthetic stand-in)")
    parser.add_argument("--out", dest="out_dir", help="run folder (checkpoint.pt, metrics.jsonl, config.json)")
    parser.add_argument("--config", action="append", default=[], help="JSON config (repeatable; later wins; e.g. a sweep's best_<experiment>.json)")
    parser.add_argument("--resume", action="store_true", help="continue from <out>/checkpoint.pt")
    for name, kind in (("epochs", int), ("batch-size", int), ("learning-rate", float), ("weight-decay", float),
                       ("kl-weight", float), ("alpha", float), ("latent-channels", int), ("depth", int), ("width", int),
                       ("stages", int), ("image-size", int), ("max-samples-per-class", int), ("seed", int),
                       ("num-workers", int), ("crop-cutoff", int), ("restart-period-epochs", int),
                       ("max-steps-per-epoch", int)):
        parser.add_argument(f"--{name}", type=kind)
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--init-checkpoint", help="start from this checkpoint's model (fine-tuning)")
    parser.add_argument("--style-weights", help="torchvision-format VGG-19 state dict for the style experiment")
    parser.add_argument("--style-random-weights", action="store_true", default=None, help="random VGG-19 (smoke tests only)")
    parser.add_argument("--no-amp", dest="amp", action="store_false", default=None, help="disable mixed precision on CUDA")
    parser.add_argument("--no-progress", dest="progress", action="store_false", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = vars(_parser().parse_args(argv))
    config_paths, resume = args.pop("config"), args.pop("resume")
    try:
        config = load_config(config_paths, **args)
        result = train(config, resume=resume)
    except (NonFiniteLossError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return 0 if result["status"] in ("completed", "interrupted") else 1


if __name__ == "__main__":
    sys.exit(main())
