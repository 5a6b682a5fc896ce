"""Interface indicator and surface correlation functions: an independent NumPy indicator with the direct sum,
exact specific surfaces of lamellae, a disk's perimeter, the sum rule and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from spatialstats.descriptors import interface_indicator, surface_correlations


def numpy_indicator(fields: np.ndarray, periodic) -> np.ndarray:
    """|grad m| by central differences on ``(batch, P, *spatial)``, wrapping the periodic axes (a bool for all, or
    one per axis) and repeating the edge voxel of the others."""
    flags = [periodic] * (fields.ndim - 2) if isinstance(periodic, bool) else list(periodic)
    squared = np.zeros_like(fields)
    for axis, axis_periodic in zip(range(2, fields.ndim), flags):
        if axis_periodic:
            ahead, behind = np.roll(fields, -1, axis), np.roll(fields, 1, axis)
        else:
            pad = [(0, 0)] * fields.ndim
            pad[axis] = (1, 1)
            padded = np.pad(fields, pad, mode="edge")
            n = fields.shape[axis]
            ahead, behind = padded.take(range(2, n + 2), axis), padded.take(range(0, n), axis)
        squared += ((ahead - behind) / 2) ** 2
    return np.sqrt(squared)


@pytest.mark.parametrize(
    "shape, cutoff, periodic",
    [(shape, cutoff, periodic) for shape, cutoff in [((10,), None), ((6, 7), 2), ((4, 5, 4), 1)] for periodic in (True, False)]
    # per-axis boundaries (periodic=(True, False, ...)): wrap only the periodic axes
    + [((6, 5), None, (False, True)), ((6, 7), (2, 3), (True, False)), ((4, 5, 3), 1, (False, True, False))],
    ids=str,
)
def test_matches_numpy_indicator_and_direct_sum(direct_stats, random_fields, shape, cutoff, periodic):
    fields = random_fields(2, 2, *shape)
    interfaces = numpy_indicator(fields.numpy(), periodic)
    np.testing.assert_allclose(interface_indicator(fields, periodic=periodic).numpy(), interfaces, atol=1e-14)
    f_ss, f_sv = surface_correlations(fields, periodic=periodic, cutoff=cutoff)
    direct = direct_stats(np.concatenate([interfaces, fields.numpy()], axis=1), periodic=periodic, cutoff=cutoff)
    np.testing.assert_allclose(f_ss.numpy(), np.stack([direct[:, h, h] for h in range(2)], axis=1), atol=1e-13)
    np.testing.assert_allclose(f_sv.numpy(), direct[:, :2, 2:], atol=1e-13)


@pytest.mark.parametrize("periodic", [True, False])
def test_lamellae_specific_surface_is_exact(periodic):
    """Layers of thickness 5 in a period of 12 along axis 0: 2 interfaces per 12 voxels. Non-periodic, the
    field holds 4 whole periods starting inside a layer of phase 0, so 8 interfaces lie inside 48 voxels."""
    layer = ((torch.arange(48) + 3) % 12 < 5).double()
    fields = layer[:, None].expand(48, 9).reshape(1, 1, 48, 9)
    s_v = interface_indicator(fields, periodic=periodic).mean(dim=(2, 3))
    torch.testing.assert_close(s_v, torch.full((1, 2), 1 / 6, dtype=torch.float64))


def test_sum_rule_and_single_channel(random_fields):
    fields = random_fields(2, 1, 9, 8)
    f_ss, f_sv = surface_correlations(fields, cutoff=3)
    s_v = interface_indicator(fields).mean(dim=(2, 3))
    torch.testing.assert_close(f_sv.sum(dim=2), s_v[..., None, None].expand(2, 2, 7, 7))
    torch.testing.assert_close(f_ss[:, 0], f_ss[:, 1])  # |grad(1 - p)| = |grad p|
    torch.testing.assert_close(f_ss[:, 1, 3, 3], (interface_indicator(fields)[:, 1] ** 2).mean(dim=(1, 2)))


@pytest.mark.parametrize("soft, tolerance", [(False, 0.08), (True, 0.02)])
def test_disk_perimeter(soft, tolerance):
    """sum M estimates a disk's perimeter 2 pi R: a binary digitised disk to ~6 %, an anti-aliased one to ~1.4 %."""
    radius, n = 30, 128
    grid = torch.arange(n, dtype=torch.float64) - n / 2 + 0.5
    distance = (grid[:, None] ** 2 + grid[None, :] ** 2).sqrt()
    disk = (radius + 0.5 - distance).clamp(0, 1) if soft else (distance <= radius).double()
    perimeter = interface_indicator(disk[None, None], periodic=False)[0, 1].sum()
    assert abs(float(perimeter) / (2 * math.pi * radius) - 1) < tolerance


def test_gradcheck():
    fields = torch.rand(1, 2, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    for periodic in (True, False):
        assert torch.autograd.gradcheck(
            lambda f: torch.cat([part.flatten(1) for part in surface_correlations(f, periodic=periodic, cutoff=1)], 1),
            (fields.requires_grad_(),),
        )


def test_gradient_is_finite_on_flat_regions():
    fields = torch.zeros(1, 1, 6, 6, dtype=torch.float64)
    fields[..., 2:4, 2:4] = 1
    fields.requires_grad_()
    surface_correlations(fields, cutoff=1)[0].sum().backward()
    assert bool(torch.isfinite(fields.grad).all())


def test_bad_input():
    with pytest.raises(TypeError, match="periodic must be a bool"):
        interface_indicator(torch.rand(1, 1, 4), periodic="yes")
    with pytest.raises(ValueError, match="cutoff 3 is too large"):
        surface_correlations(torch.rand(1, 1, 6, 6), cutoff=3)
