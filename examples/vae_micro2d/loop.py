"""The training loop proper: one step, one epoch, validation. No host synchronisation per step, except the loss
read for a progress bar that asks for it and, under ``torchrun``, the all-reduce of the stop-signal flag.

Per-epoch totals (loss, reconstruction, KL, non-finite count, samples) accumulate on the device; a non-finite loss
is counted there and reported when the epoch ends (or at once when a progress bar reads the loss), before any
checkpoint is written, so the last good checkpoint is never overwritten by a diverged model.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

import spatialstats.functional as SF
from vae_micro2d.experiments import LossFunction
from vae_micro2d.model import MicrostructureVAE, kl_divergence
from vae_micro2d.runtime import Distributed, StopFlag, all_reduce_sum

__all__ = ["Parts", "EpochTotals", "autocast", "train_step", "run_epoch", "validate"]


@dataclass
class Parts:
    """What a step needs: the (possibly DDP-wrapped) network, its optimiser, schedule, scaler and loss."""

    network: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    loss_function: LossFunction
    kl_weight: float
    device: torch.device
    amp: bool
    info: Distributed


@dataclass
class EpochTotals:
    """Sums over the batches of an epoch, kept on the device: ``loss * n, reconstruction, kl, non-finite, n``, and
    the 1-based index of the first batch with a non-finite loss (0: none)."""

    sums: torch.Tensor
    first_non_finite: torch.Tensor
    batches: int = 0

    @classmethod
    def zeros(cls, device: torch.device, batches: int = 0) -> "EpochTotals":
        return cls(torch.zeros(5, dtype=torch.float64, device=device), torch.zeros((), dtype=torch.long, device=device), batches)

    def add(self, loss: torch.Tensor, reconstruction: torch.Tensor, kl: torch.Tensor) -> None:
        count = torch.full((), float(len(reconstruction)), dtype=loss.dtype, device=loss.device)  # no host copy
        non_finite = ~torch.isfinite(loss)
        self.batches += 1
        self.sums += torch.stack([loss * count, reconstruction.sum(), kl.sum(), non_finite.to(loss.dtype), count]).double()
        first = (self.first_non_finite == 0) & non_finite
        self.first_non_finite = torch.where(first, self.batches, self.first_non_finite)

    def means(self, info: Distributed) -> dict[str, float]:
        sums = all_reduce_sum(self.sums.clone(), info).tolist()
        count = max(sums[4], 1.0)
        return {"train_loss": sums[0] / count, "train_reconstruction": sums[1] / count, "train_kl": sums[2] / count,
                "non_finite_batches": int(sums[3])}


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager:
    if device.type != "cuda" or not enabled:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)


def train_step(parts: Parts, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One optimisation step on a batch; returns the detached mean loss and the per-sample reconstruction and KL."""
    with autocast(parts.device, parts.amp):
        logits, mean, log_variance = parts.network(images)
    probability = torch.sigmoid(logits.float())
    reconstruction = parts.loss_function(probability, images)
    kl = kl_divergence(mean.float(), log_variance.float())
    loss = (reconstruction + parts.kl_weight * kl).mean()
    parts.optimizer.zero_grad(set_to_none=True)
    parts.scaler.scale(loss).backward()
    parts.scaler.step(parts.optimizer)
    parts.scaler.update()
    parts.scheduler.step()
    return loss.detach(), reconstruction.detach(), kl.detach()


def _stop_requested(stop: StopFlag, info: Distributed, device: torch.device) -> bool:
    if not info.enabled:
        return stop.signal_number is not None
    flag = torch.tensor([1.0 if stop.signal_number is not None else 0.0], device=device)
    return bool(all_reduce_sum(flag, info).item() > 0)  # every rank stops after the same batch


def run_epoch(parts: Parts, loader: Iterable, totals: EpochTotals, stop: StopFlag, *, bar: str | None) -> bool:
    """Train over ``loader``, adding to ``totals``; ``bar`` is the progress bar's title (``None``: no bar).

    Returns ``False`` when a stop signal ended the epoch early (after a whole batch), else ``True``.
    """
    batches = tqdm(loader, desc=bar, leave=False) if bar is not None else loader
    for images, _ in batches:
        images = images.to(parts.device, non_blocking=True)
        loss, reconstruction, kl = train_step(parts, images)
        totals.add(loss, reconstruction, kl)
        if bar is not None:  # the bar reads the loss anyway: stop at the first non-finite one
            value = loss.item()
            batches.set_postfix(loss=f"{value:.4g}")
            if not torch.isfinite(loss):
                return True
        if _stop_requested(stop, parts.info, parts.device):
            return False
    return True


@torch.no_grad()
def validate(model: MicrostructureVAE, loader: Iterable, parts: Parts) -> dict[str, float | None]:
    """Mean loss, reconstruction loss and CESS over the validation loader (``None`` when it is empty)."""
    model.eval()
    totals = torch.zeros(4, dtype=torch.float64, device=parts.device)  # loss, reconstruction, cess, count
    for images, _ in loader:
        images = images.to(parts.device)
        with autocast(parts.device, parts.amp):
            logits, mean, log_variance = model(images, sample=False)
        probability = torch.sigmoid(logits.float())
        reconstruction = parts.loss_function(probability, images)
        total = reconstruction + parts.kl_weight * kl_divergence(mean.float(), log_variance.float())
        cess = SF.cess(probability, images, reduction="none", check_values=False)
        totals += torch.stack([total.sum(), reconstruction.sum(), cess.sum(), total.new_tensor(len(images))]).double()
    loss, reconstruction, cess, count = all_reduce_sum(totals, parts.info).tolist()
    model.train()
    if count == 0:  # no validation images (tiny runs)
        return {"val_loss": None, "val_reconstruction": None, "val_cess": None}
    return {"val_loss": loss / count, "val_reconstruction": reconstruction / count, "val_cess": cess / count}
