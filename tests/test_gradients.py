"""torch.autograd.gradcheck (float64) through every statistics path and every loss."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

import spatialstats as ss
import spatialstats.functional as F


def field(channels, shape=(5, 6), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(2, channels, *shape, dtype=torch.float64, generator=generator).requires_grad_()


STATISTICS_OPTIONS = [
    {},
    {"periodic": False},
    {"cutoff": 1},
    {"periodic": False, "cutoff": (2, 3)},
    {"pairs": [(1, 0), (0, 0)]},
    {"mask": torch.rand(2, 5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))},
    {"periodic": False, "cutoff": 2, "mask": torch.rand(5, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))},
]


@pytest.mark.parametrize("options", STATISTICS_OPTIONS, ids=lambda o: ",".join(o) or "default")
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_statistics_gradcheck(options, channels):
    if "pairs" in options and channels == 1:
        options = {"pairs": [(1, 0), (0, 0)]}
    assert gradcheck(lambda x: ss.two_point_stats(x, **options), (field(channels),))


@pytest.mark.parametrize("shape", [(7,), (3, 4, 4)])
@pytest.mark.parametrize("periodic", [True, False])
def test_statistics_gradcheck_1d_and_3d(shape, periodic):
    assert gradcheck(lambda x: ss.two_point_stats(x, periodic=periodic), (field(2, shape),))
    assert gradcheck(lambda x: ss.two_point_stats(x, periodic=periodic), (field(1, shape),))


LOSSES = {
    "msess": lambda x, t, periodic: F.msess(x, t, periodic=periodic),
    "cess": lambda x, t, periodic: F.cess(x, t, periodic=periodic),
    "cess_kl": lambda x, t, periodic: F.cess(x, t, periodic=periodic, kl=True),
    "center_crop_cess": lambda x, t, periodic: F.center_crop_cess(x, t, periodic=periodic, cutoff=2),
    "mse_cess": lambda x, t, periodic: F.mse_cess(x, t, periodic=periodic, alpha=0.5),
    "clamp": lambda x, t, periodic: F.clamp_loss(3 * x - 1, width=0.3),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("channels", [1, 3])
def test_loss_gradcheck(name, periodic, channels):
    target = field(channels, seed=5).detach()
    assert gradcheck(lambda x: LOSSES[name](x, target, periodic), (field(channels, seed=6),))


def test_gradient_flows_into_target_statistics_too():
    prediction, target = field(1), field(1, seed=3)
    assert gradcheck(lambda x, t: F.cess(x, t), (prediction, target))
