"""Radial and directional profiles against a direct sum of the definition, hand binning and porespy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import spatialstats as ss
from spatialstats.descriptors import directional_two_point_stats, radial_two_point_stats


def offsets_of(shape, periodic, cutoff):
    """Offsets in the statistics' output order (the direct-sum reference's layout)."""
    ranges = []
    for n in shape:
        if cutoff is not None:
            ranges.append(range(-cutoff, cutoff + 1))
        elif periodic:
            ranges.append(range(-(n // 2), n - n // 2))
        else:
            ranges.append(range(-(n - 1), n))
    return list(itertools.product(*ranges))


def hand_radial(stats: np.ndarray, offsets, edges) -> np.ndarray:
    """Average the flattened statistics of one sample over [e_k, e_k+1) by explicit loops."""
    flat = stats.reshape(*stats.shape[:2], -1)
    out = np.zeros((*stats.shape[:2], len(edges) - 1))
    for k in range(len(edges) - 1):
        members = [j for j, r in enumerate(offsets) if edges[k] <= math.sqrt(sum(c * c for c in r)) < edges[k + 1]]
        if members:
            out[:, :, k] = flat[:, :, members].mean(axis=-1)
    return out


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape, cutoff", [((9,), None), ((6, 7), 2), ((6, 5), None), ((5, 5, 6), 2)])
def test_radial_matches_direct_sum(direct_stats, random_fields, shape, cutoff, periodic):
    fields = random_fields(2, 3, *shape)
    edges = [0.0, 0.5, 1.0, 1.5, 2.2, 3.0]
    values, radii = radial_two_point_stats(fields, bins=edges, periodic=periodic, cutoff=cutoff)
    direct = direct_stats(fields.numpy(), periodic=periodic, cutoff=cutoff)
    offsets = offsets_of(shape, periodic, cutoff)
    for b in range(2):
        np.testing.assert_allclose(values[b].numpy(), hand_radial(direct[b], offsets, edges), atol=1e-13, rtol=0)
    np.testing.assert_allclose(radii.numpy(), [0.25, 0.75, 1.25, 1.85, 2.6])


def test_default_bins_are_unit_wide_and_start_at_the_volume_fraction(random_fields):
    fields = (random_fields(3, 1, 12, 10) > 0.5).double()  # binary: f11(0) is the volume fraction
    values, radii = radial_two_point_stats(fields)
    assert values.shape == (3, 2, 2, 5)
    torch.testing.assert_close(radii, torch.arange(5, dtype=torch.float64) + 0.5)
    torch.testing.assert_close(values[:, 1, 1, 0], fields.mean(dim=(1, 2, 3)))


def test_integer_bins_follow_porespy_rule(random_fields):
    fields = random_fields(1, 1, 40, 30)
    values, radii = radial_two_point_stats(fields, bins=4, periodic=False)
    # r_max = 15, width ceil(15 / 4) = 4, edges 0, 4, ..., 16
    torch.testing.assert_close(radii, torch.tensor([2.0, 6.0, 10.0, 14.0], dtype=torch.float64))


def test_porespy_two_point_correlation():
    porespy = pytest.importorskip("porespy")
    generator = np.random.default_rng(5)
    for shape in [(40, 40), (37, 52), (20, 24, 18)]:
        image = generator.random(shape) < 0.4
        for bins in (10, 100):
            expected = porespy.metrics.two_point_correlation(image, bins=bins)
            field = torch.tensor(image, dtype=torch.float64)[None, None]
            values, radii = radial_two_point_stats(field, bins=bins, periodic=False, pairs=[(1, 1)])
            np.testing.assert_allclose(values[0, 0].numpy(), expected.probability_scaled, atol=1e-13, rtol=0)
            np.testing.assert_allclose(radii.numpy(), expected.distance)


def test_radial_gradcheck():
    fields = torch.rand(1, 2, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fields = fields / fields.sum(dim=1, keepdim=True)  # phases sum to one
    assert torch.autograd.gradcheck(
        lambda f: radial_two_point_stats(f, bins=[0, 1, 2, 3], periodic=False)[0], (fields.requires_grad_(),)
    )


@pytest.mark.parametrize("bins, error, match", [
    ([0.0, 0.0, 1.0], ValueError, "strictly increasing"),
    ([-1.0, 1.0], ValueError, "start at >= 0"),
    ([0.0, 9.0, 10.0], ValueError, "every bin must start at or below"),
    (0, ValueError, "bins must be >= 1"),
    ("auto", TypeError, "bins must be None, an int or a 1-D sequence"),
])
def test_bad_bins(bins, error, match):
    with pytest.raises(error, match=match):
        radial_two_point_stats(torch.rand(1, 1, 6, 6), bins=bins)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", [(9,), (6, 7), (4, 5, 6)])
def test_directional_is_the_axis_lines_of_the_full_statistics(direct_stats, random_fields, shape, periodic):
    fields = random_fields(2, 3, *shape)
    cutoff = 1
    profile = directional_two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    assert profile.shape == (2, 3, 3, len(shape), 2 * cutoff + 1)
    direct = direct_stats(fields.numpy(), periodic=periodic, cutoff=cutoff)
    for axis in range(len(shape)):
        line = tuple(slice(None) if d == axis else cutoff for d in range(len(shape)))
        np.testing.assert_allclose(profile[:, :, :, axis].numpy(), direct[(slice(None),) * 3 + line], atol=1e-13)


def test_directional_default_cutoff_and_pairs(random_fields):
    fields = random_fields(2, 1, 8, 11)
    profile = directional_two_point_stats(fields, periodic=False, pairs=[(1, 1)])
    assert profile.shape == (2, 1, 2, 15)  # cutoff n - 1 = 7 on the smaller axis
    full = ss.two_point_stats(fields, periodic=False, cutoff=7, pairs=[(1, 1)])
    torch.testing.assert_close(profile[:, 0, 1], full[:, 0, 7, :])


def test_directional_bad_cutoff():
    with pytest.raises(ValueError, match="cutoff 4 is too large for spatial axis 0 of size 8"):
        directional_two_point_stats(torch.rand(1, 1, 8, 20), cutoff=4)
    with pytest.raises(TypeError, match="cutoff must be an int or None"):
        directional_two_point_stats(torch.rand(1, 1, 8, 20), cutoff=(1, 2))
