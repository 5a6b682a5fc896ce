"""two_point_stats against live PyMKS 0.4.1 calls (the reference implementation of the same statistics).

PyMKS's ``two_point_stats(arr1, arr2)`` is our ``f(h=arr1, h'=arr2)``; ``correlations_multiple`` takes phase-last
data and stacks the requested pairs on the last axis. PyMKS clamps its cutoff to ``(min(n) - 1) // 2`` and needs
it explicitly for a fixed layout, so every comparison passes one within that bound.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spatialstats as ss

pymks = pytest.importorskip("pymks")

TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-5}
DTYPES = pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
PERIODIC = pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])


def _largest_pymks_cutoff(spatial: tuple[int, ...]) -> int:
    return (min(spatial) - 1) // 2


def _pymks_pair(first: np.ndarray, second: np.ndarray, **options) -> np.ndarray:
    return np.asarray(pymks.two_point_stats(first, second, **options))


@DTYPES
@PERIODIC
@pytest.mark.parametrize("spatial", [(9, 9), (8, 11), (5, 6, 7)], ids=str)
def test_two_phase_auto_and_cross_correlations(dtype, periodic, spatial, random_fields):
    probability = random_fields(3, 1, *spatial)
    phase1 = probability[:, 0].numpy()
    phase0 = 1 - phase1
    cutoff = _largest_pymks_cutoff(spatial)
    ours = ss.two_point_stats(probability.to(dtype), periodic=periodic, cutoff=cutoff)
    assert ours.dtype == dtype
    for h, k, first, second in [(1, 1, phase1, phase1), (0, 0, phase0, phase0), (1, 0, phase1, phase0), (0, 1, phase0, phase1)]:
        expected = _pymks_pair(first, second, periodic_boundary=periodic, cutoff=cutoff)
        np.testing.assert_allclose(ours[:, h, k].double().numpy(), expected, rtol=0, atol=TOLERANCE[dtype])


@DTYPES
@PERIODIC
@pytest.mark.parametrize("spatial", [(10, 9), (6, 5, 7)], ids=str)
def test_three_phases_with_correlations_multiple(dtype, periodic, spatial, random_fields):
    fields = random_fields(2, 3, *spatial)
    pairs = [(0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (2, 0)]
    cutoff = _largest_pymks_cutoff(spatial) - 1
    phase_last = np.moveaxis(fields.numpy(), 1, -1)
    expected = np.asarray(pymks.correlations_multiple(phase_last, pairs, periodic_boundary=periodic, cutoff=cutoff))
    ours = ss.two_point_stats(fields.to(dtype), periodic=periodic, cutoff=cutoff, pairs=pairs)
    np.testing.assert_allclose(np.moveaxis(ours.double().numpy(), 1, -1), expected, rtol=0, atol=TOLERANCE[dtype])
    full = ss.two_point_stats(fields.to(dtype), periodic=periodic, cutoff=cutoff)
    for index, (h, k) in enumerate(pairs):
        np.testing.assert_allclose(full[:, h, k].double().numpy(), expected[..., index], rtol=0, atol=TOLERANCE[dtype])


@PERIODIC
def test_one_hot_labels_small_cutoff(periodic, random_labels):
    labels = random_labels(2, 3, 12, 10)
    one_hot = ss.one_hot_from_labels(labels, num_phases=3, dtype=torch.float64)
    indicator = one_hot.numpy()
    ours = ss.two_point_stats(one_hot, periodic=periodic, cutoff=2)
    for h, k in [(0, 2), (2, 0), (1, 1)]:
        expected = _pymks_pair(indicator[:, h], indicator[:, k], periodic_boundary=periodic, cutoff=2)
        np.testing.assert_allclose(ours[:, h, k].numpy(), expected, rtol=0, atol=1e-10)


@DTYPES
@PERIODIC
@pytest.mark.parametrize("spatial", [(9, 8), (5, 5, 6)], ids=str)
@pytest.mark.parametrize("batched_mask", [False, True], ids=["shared-mask", "batched-mask"])
def test_mask_matches_pymks(dtype, periodic, spatial, batched_mask, random_fields, generator):
    fields = random_fields(2, 3, *spatial)
    mask = torch.rand((2, *spatial) if batched_mask else spatial, generator=generator, dtype=torch.float64)
    mask_for_pymks = mask.numpy() if batched_mask else np.broadcast_to(mask.numpy(), (2, *spatial)).copy()
    cutoff = _largest_pymks_cutoff(spatial)
    ours = ss.two_point_stats(fields.to(dtype), periodic=periodic, cutoff=cutoff, mask=mask.to(dtype))
    indicator = fields.numpy()
    for h, k in [(0, 0), (0, 1), (2, 1)]:
        expected = _pymks_pair(indicator[:, h], indicator[:, k], periodic_boundary=periodic, cutoff=cutoff, mask=mask_for_pymks)
        np.testing.assert_allclose(ours[:, h, k].double().numpy(), expected, rtol=0, atol=TOLERANCE[dtype])


def test_binary_mask_matches_pymks(random_labels):
    """A mask with exact zeros (a hole in the sample), non-periodic, as in PyMKS's masking example."""
    labels = random_labels(2, 2, 11, 11)
    one_hot = ss.one_hot_from_labels(labels, dtype=torch.float64)
    mask = torch.ones(2, 11, 11, dtype=torch.float64)
    mask[:, 3:7, 4:9] = 0
    ours = ss.two_point_stats(one_hot, periodic=False, cutoff=5, mask=mask)
    expected = _pymks_pair(one_hot[:, 1].numpy(), one_hot[:, 1].numpy(), periodic_boundary=False, cutoff=5, mask=mask.numpy())
    np.testing.assert_allclose(ours[:, 1, 1].numpy(), expected, rtol=0, atol=1e-10)
