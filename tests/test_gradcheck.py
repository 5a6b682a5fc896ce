"""Finite-difference gradient checks (torch.autograd.gradcheck, float64, full Jacobians) of the statistics and
every loss: about 20 s on 2 quiet cores.

Inputs are kept inside (0.05, 0.9), phases summing to one, so that the finite-difference steps stay valid
probabilities.
"""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

import spatialstats as ss
import spatialstats.functional as F

SIZE = (5, 6)


@pytest.fixture
def interior(generator):
    def make(batch: int, phases: int, *spatial: int) -> torch.Tensor:
        values = 0.1 + 0.8 * torch.rand(batch, phases, *spatial, generator=generator, dtype=torch.float64)
        if phases > 1:  # phases sum to one (gradcheck's 1e-6 steps stay within the 1e-4 tolerance)
            values = values / values.sum(dim=1, keepdim=True)
        return values.requires_grad_(True)

    return make


@pytest.mark.parametrize(
    "options",
    [
        dict(periodic=True),
        dict(periodic=False),
        dict(periodic=True, cutoff=1),
        dict(periodic=False, cutoff=(2, 1)),
        dict(periodic=True, pairs=[(0, 1), (2, 2)]),
        dict(periodic=False, cutoff=2, pairs=[(1, 0)]),
    ],
    ids=["periodic", "nonperiodic", "periodic-cutoff", "nonperiodic-cutoff", "pairs", "nonperiodic-pairs"],
)
def test_two_point_stats_three_phases(interior, options):
    fields = interior(2, 3, *SIZE)
    assert gradcheck(lambda f: ss.two_point_stats(f, **options), (fields,))


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
@pytest.mark.parametrize("pairs", [None, [(0, 0), (1, 0)]], ids=["all-pairs", "pairs"])
def test_two_point_stats_single_channel(interior, periodic, pairs):
    probability = interior(2, 1, *SIZE)
    assert gradcheck(lambda p: ss.two_point_stats(p, periodic=periodic, cutoff=2, pairs=pairs), (probability,))


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_two_point_stats_two_channels_one_dimension_and_three(interior, periodic):
    assert gradcheck(lambda f: ss.two_point_stats(f, periodic=periodic), (interior(1, 2, 7),))
    assert gradcheck(lambda f: ss.two_point_stats(f, periodic=periodic, cutoff=1), (interior(1, 2, 3, 4, 3),))


@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_two_point_stats_with_mask_in_fields_and_mask(interior, generator, periodic):
    fields = interior(2, 2, *SIZE)
    mask = (0.2 + 0.7 * torch.rand(SIZE, generator=generator, dtype=torch.float64)).requires_grad_(True)
    assert gradcheck(lambda f, m: ss.two_point_stats(f, periodic=periodic, cutoff=2, mask=m), (fields, mask))


def _one_hot_target(batch: int, phases: int, generator: torch.Generator) -> torch.Tensor:
    labels = torch.randint(0, phases, (batch, *SIZE), generator=generator)
    return ss.one_hot_from_labels(labels, num_phases=phases, dtype=torch.float64)


LOSSES = {
    "msess": lambda p, t: F.msess(p, t),
    "msess-nonperiodic-none": lambda p, t: F.msess(p, t, periodic=False, reduction="none"),
    "cess": lambda p, t: F.cess(p, t),
    "cess-nonperiodic-cutoff": lambda p, t: F.cess(p, t, periodic=False, cutoff=2, reduction="sum"),
    "kl": lambda p, t: F.cess(p, t, kl=True),
    "center-crop": lambda p, t: F.center_crop_cess(p, t, cutoff=2),
    "mse-cess": lambda p, t: F.mse_cess(p, t, alpha=0.7),
    "clamp": lambda p, t: F.clamp_loss(p, width=0.2),
    "msess-statistics": lambda p, t: F.msess(p, target_statistics=ss.two_point_stats(t, cutoff=1), cutoff=1),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("phases", [1, 3], ids=["single-channel", "three-phase"])
def test_losses(interior, generator, name, phases):
    target = _one_hot_target(2, max(phases, 2), generator)
    if phases == 1:
        target = target[:, 1:]
    prediction = interior(2, phases, *SIZE)
    loss = LOSSES[name]
    assert gradcheck(lambda p: loss(p, target), (prediction,))


def test_two_point_stats_tiny_fields(interior):
    """3 x 4 fields: odd and even axes in one field, general and single-channel paths."""
    assert gradcheck(lambda f: ss.two_point_stats(f, periodic=False, cutoff=1), (interior(1, 3, 3, 4),))
    assert gradcheck(lambda p: ss.two_point_stats(p, periodic=True), (interior(1, 1, 3, 4),))
    target = ss.one_hot_from_labels(torch.tensor([[[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 0, 1]]]), dtype=torch.float64)
    assert gradcheck(lambda p: F.mse_cess(p, target, periodic=False, cutoff=1), (interior(1, 2, 3, 4),))
