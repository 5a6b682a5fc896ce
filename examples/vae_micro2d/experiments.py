r"""The experiments as a table: experiment name -> builder of its per-sample reconstruction loss.

Each builder takes the run's configuration and device and returns ``loss(p, x) -> (batch,)`` on the decoder's
phase-1 probability :math:`p` and the binary target :math:`x` (periodic statistics; see :mod:`vae_micro2d.train`).
Experiments whose name ends in ``_finetune`` start from an MSE checkpoint (``FINETUNE_EXPERIMENTS``).

``transport_finetune`` fine-tunes with the transport-like distance of the statistics,
:func:`spatialstats.functional.transport_ss` (TSS, the theory page ``sparse_loss``): unlike CESS it keeps growing
with the distance a sparse feature (a line, a small void) is misplaced. It uses the full periodic window (no
cutoff): a cutoff would cap the distances TSS can measure, and the cumulative sums cost about 2x CESS's FFTs
(16 images of 64 x 64, forward + backward on one CPU core: 20 ms against 10 ms; 224 x 224: 0.30 s against 0.13 s).

Example:
    >>> import torch
    >>> from vae_micro2d.config import TrainConfig
    >>> loss = make_loss_function(TrainConfig(experiment="mse"), torch.device("cpu"))
    >>> loss(torch.full((2, 1, 4, 4), 0.5), torch.ones(2, 1, 4, 4)).tolist()
    [0.25, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

import spatialstats.functional as SF

if TYPE_CHECKING:
    from vae_micro2d.config import TrainConfig

__all__ = ["LossFunction", "LOSSES", "EXPERIMENTS", "FINETUNE_EXPERIMENTS", "make_loss_function"]

LossFunction = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _mse(config: TrainConfig, device: torch.device) -> LossFunction:
    return lambda p, x: (p - x).square().flatten(1).mean(dim=1)


def _mse_cess(config: TrainConfig, device: torch.device) -> LossFunction:
    return lambda p, x: SF.mse_cess(p, x, alpha=config.alpha, reduction="none", check_values=False)


def _cess(config: TrainConfig, device: torch.device) -> LossFunction:
    return lambda p, x: SF.cess(p, x, reduction="none", check_values=False)


def _center_crop_cess(config: TrainConfig, device: torch.device) -> LossFunction:
    return lambda p, x: SF.center_crop_cess(p, x, cutoff=config.crop_cutoff, reduction="none", check_values=False)


def _transport(config: TrainConfig, device: torch.device) -> LossFunction:
    return lambda p, x: SF.transport_ss(p, x, reduction="none", check_values=False)


def _style(config: TrainConfig, device: torch.device) -> LossFunction:
    from vae_micro2d.style import VGG19StyleLoss

    return VGG19StyleLoss(config.style_weights, allow_random_weights=config.style_random_weights).to(device)


#: experiment name -> loss builder ``(config, device) -> loss(p, x)``.
LOSSES: dict[str, Callable[[TrainConfig, torch.device], LossFunction]] = {
    "mse": _mse,
    "mse_cess": _mse_cess,
    "cess_finetune": _cess,
    "cess_crop_finetune": _center_crop_cess,
    "style": _style,
    "transport_finetune": _transport,
}
EXPERIMENTS = tuple(LOSSES)
#: experiments that start from an MSE checkpoint (``init_checkpoint``).
FINETUNE_EXPERIMENTS = tuple(name for name in LOSSES if name.endswith("_finetune"))


def make_loss_function(config: TrainConfig, device: torch.device) -> LossFunction:
    """Per-sample reconstruction loss ``(batch,)`` of ``config.experiment``."""
    return LOSSES[config.experiment](config, device)
