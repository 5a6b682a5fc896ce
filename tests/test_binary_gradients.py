"""Gradients at binary predictions (issue 8, item 1).

At a binary prediction many statistics are exactly 0 and FFT round-off makes some of them -1e-17. The gradient must
still be the one-sided derivative of the documented formula: along every feasible direction (one that keeps the
prediction a valid field: up from 0, down from 1, phases still summing to one) the autograd directional derivative
equals the one-sided finite difference. Float64; ``eps=1e-3`` keeps the log's curvature (and so the finite
difference's O(h) error) small, while the target has mass where the prediction has none, so the zero statistics
carry gradient.
"""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

EPS = 1e-3
STEP = 1e-7
SIZE = (6, 7)

LOSSES = {
    "msess": lambda p, t, periodic: F.msess(p, t, periodic=periodic),
    "cess": lambda p, t, periodic: F.cess(p, t, periodic=periodic, eps=EPS),
    "cess-cutoff": lambda p, t, periodic: F.cess(p, t, periodic=periodic, cutoff=2, eps=EPS),
    "kl": lambda p, t, periodic: F.cess(p, t, periodic=periodic, eps=EPS, kl=True),
    "center-crop": lambda p, t, periodic: F.center_crop_cess(p, t, periodic=periodic, cutoff=2, eps=EPS),
    "mse-cess": lambda p, t, periodic: F.mse_cess(p, t, periodic=periodic, eps=EPS, alpha=0.5),
    "clamp": lambda p, t, periodic: F.clamp_loss(p, width=0.3),
    "cess-statistics": lambda p, t, periodic: F.cess(
        p, target_statistics=ss.two_point_stats(t, periodic=periodic), periodic=periodic, eps=EPS
    ),
}


def _binary_prediction_and_direction(channels: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    phase_one = (torch.rand(2, 1, *SIZE, generator=generator) > 0.5).double()
    speed = torch.rand(2, 1, *SIZE, generator=generator, dtype=torch.float64)
    direction = torch.where(phase_one > 0, -speed, speed)  # up from 0, down from 1
    if channels == 1:
        return phase_one, direction
    return ss.two_phase_from_probability(phase_one), torch.cat([-direction, direction], dim=1)


def _soft_target(channels: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed + 1)
    probability = 0.1 + 0.8 * torch.rand(2, 1, *SIZE, generator=generator, dtype=torch.float64)
    return probability if channels == 1 else ss.two_phase_from_probability(probability)


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
@pytest.mark.parametrize("channels", [1, 2], ids=["one-channel", "two-channel"])
def test_autograd_equals_one_sided_difference_at_binary_predictions(name, periodic, channels):
    loss = LOSSES[name]
    for seed in range(3):  # the sign of the round-off at exact zeros varies: several fields
        prediction, direction = _binary_prediction_and_direction(channels, seed)
        target = _soft_target(channels, seed)
        leaf = prediction.clone().requires_grad_(True)
        value = loss(leaf, target, periodic)
        (gradient,) = torch.autograd.grad(value, leaf)
        directional = float((gradient * direction).sum())
        with torch.no_grad():
            stepped = float(loss(prediction + STEP * direction, target, periodic))
        difference = (stepped - value.item()) / STEP
        assert directional == pytest.approx(difference, rel=2e-3, abs=1e-6), (seed, directional, difference)
