"""Every descriptor on CUDA equals the CPU result (skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
from spatialstats import descriptors as D

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]

CASES = {
    "lineal_path": lambda f, p: D.lineal_path(f, max_length=5, periodic=p),
    "radial": lambda f, p: D.radial_two_point_stats(f, bins=4, periodic=p, cutoff=4)[0],
    "directional": lambda f, p: D.directional_two_point_stats(f, cutoff=4, periodic=p),
    "surface": lambda f, p: torch.cat([t.flatten(1) for t in D.surface_correlations(f, cutoff=3, periodic=p)], 1),
    "chords": lambda f, p: D.chord_length_distribution(f, periodic=p),
    "components": lambda f, p: D.connected_components(f, periodic=p),
    "cluster_fft": lambda f, p: D.cluster_function(f, cutoff=3, periodic=p, method="fft"),
    "cluster_direct": lambda f, p: D.cluster_function(f, cutoff=3, periodic=p, method="direct"),
    "loss": lambda f, p: D.DescriptorLoss.from_target(f[:1], weights={"two_point": 1.0, "lineal_path": 1.0,
                                                                     "surface": 1.0}, cutoff=3, periodic=p)(f),
}


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("name", list(CASES))
def test_cuda_equals_cpu(name, periodic):
    labels = ss.synthetic.circles(3, 20, count=3, radius=3, seed=0)
    fields = labels.double().unsqueeze(1)
    on_cpu = CASES[name](fields, periodic)
    on_cuda = CASES[name](fields.cuda(), periodic)
    assert on_cuda.device.type == "cuda"
    torch.testing.assert_close(on_cuda.cpu(), on_cpu)


def test_cuda_gradients():
    fields = torch.rand(2, 1, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    loss = D.DescriptorLoss.from_target(fields[:1], weights={"lineal_path": 1.0, "surface": 1.0, "radial": 1.0},
                                        cutoff=3, max_length=4)
    gradients = []
    for device in ("cpu", "cuda"):
        moved = fields.to(device).requires_grad_()
        loss.to(device)(moved).sum().backward()
        gradients.append(moved.grad.cpu())
    torch.testing.assert_close(gradients[1], gradients[0])
