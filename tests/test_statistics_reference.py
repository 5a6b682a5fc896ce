"""two_point_stats against PyMKS 0.4.1 (live) and against a direct sum of the definition."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
import torch

import spatialstats as ss

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pymks = pytest.importorskip("pymks")


def direct_sum(m: np.ndarray, h: int, k: int, periodic: bool, lags: list[range]) -> np.ndarray:
    """f(h, k | r) = mean over valid x of m[h, x] m[k, x + r], by explicit loops (independent of the FFT code)."""
    shape = m.shape[1:]
    out = np.zeros([len(lag) for lag in lags])
    for index, r in zip(itertools.product(*[range(len(lag)) for lag in lags]), itertools.product(*lags)):
        total, count = 0.0, 0
        for x in itertools.product(*[range(n) for n in shape]):
            y = tuple(xi + ri for xi, ri in zip(x, r))
            if periodic:
                y = tuple(yi % n for yi, n in zip(y, shape))
            elif any(yi < 0 or yi >= n for yi, n in zip(y, shape)):
                continue
            total += m[(h, *x)] * m[(k, *y)]
            count += 1
        out[index] = total / count
    return out


def as_phases(fields: torch.Tensor) -> np.ndarray:
    sample = fields[0].double().numpy()
    return np.concatenate([1 - sample, sample]) if sample.shape[0] == 1 else sample


@pytest.mark.parametrize("shape", [(5,), (6,), (4, 6), (5, 7), (6, 5), (3, 4, 5)])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("phases", [1, 2, 3])
def test_matches_direct_sum_with_largest_cutoff(shape, periodic, phases):
    fields = torch.rand(2, phases, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(len(shape)))
    cutoff = tuple((n - 1) // 2 if periodic else n - 1 for n in shape)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    m = as_phases(fields)
    lags = [range(-c, c + 1) for c in cutoff]
    for h, k in itertools.product(range(m.shape[0]), repeat=2):
        np.testing.assert_allclose(stats[0, h, k].numpy(), direct_sum(m, h, k, periodic, lags), atol=1e-12)


@pytest.mark.parametrize("shape", [(6,), (5,), (4, 6), (5, 6), (3, 4, 4)])
def test_full_periodic_layout_is_fftshift_order(shape):
    fields = torch.rand(1, 2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    stats = ss.two_point_stats(fields)
    assert stats.shape[3:] == shape
    lags = [range(-(n // 2), (n - 1) // 2 + 1) for n in shape]
    m = as_phases(fields)
    for h, k in [(0, 1), (1, 0), (1, 1)]:
        np.testing.assert_allclose(stats[0, h, k].numpy(), direct_sum(m, h, k, True, lags), atol=1e-12)


@pytest.mark.parametrize("shape", [(5,), (4, 3)])
def test_full_non_periodic_layout_has_every_lag(shape):
    fields = torch.rand(1, 2, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    stats = ss.two_point_stats(fields, periodic=False)
    assert stats.shape[3:] == tuple(2 * n - 1 for n in shape)
    lags = [range(-(n - 1), n) for n in shape]
    np.testing.assert_allclose(stats[0, 0, 1].numpy(), direct_sum(as_phases(fields), 0, 1, False, lags), atol=1e-12)


def test_mask_matches_direct_weighted_sum():
    fields = torch.rand(1, 2, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    mask = torch.rand(1, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(6))
    stats = ss.two_point_stats(fields, periodic=False, cutoff=2, mask=mask)
    m, w = fields[0].numpy(), mask[0].numpy()
    for r0, r1 in itertools.product(range(-2, 3), repeat=2):
        num = den = 0.0
        for x0, x1 in itertools.product(range(4), range(5)):
            y0, y1 = x0 + r0, x1 + r1
            if 0 <= y0 < 4 and 0 <= y1 < 5:
                num += w[x0, x1] * m[0, x0, x1] * w[y0, y1] * m[1, y0, y1]
                den += w[x0, x1] * w[y0, y1]
        assert stats[0, 0, 1, r0 + 2, r1 + 2].item() == pytest.approx(num / den, abs=1e-12)


def test_pairs_argument_returns_requested_pairs_in_order():
    fields = torch.rand(2, 3, 6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(7))
    full = ss.two_point_stats(fields, cutoff=2)
    selected = ss.two_point_stats(fields, cutoff=2, pairs=[(2, 0), (1, 1), (0, 2)])
    assert selected.shape == (2, 3, 5, 5)
    for i, (h, k) in enumerate([(2, 0), (1, 1), (0, 2)]):
        torch.testing.assert_close(selected[:, i], full[:, h, k], rtol=0, atol=1e-14)


PYMKS_CASES = [
    # spatial shape, phases, periodic, cutoff
    ((9, 12), 2, True, 4),
    ((9, 12), 2, False, 4),
    ((10, 10), 3, True, 4),
    ((10, 10), 3, False, 3),
    ((7, 8, 9), 2, True, 3),
    ((7, 8, 9), 3, False, 2),
    ((15,), 2, False, 7),
]


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("shape,phases,periodic,cutoff", PYMKS_CASES)
def test_matches_pymks_correlations_multiple(shape, phases, periodic, cutoff, dtype, tolerance):
    labels = torch.randint(0, phases, (3, *shape), generator=torch.Generator().manual_seed(8))
    fields = ss.one_hot_from_labels(labels, phases, dtype=dtype)
    pairs = [(h, k) for h in range(phases) for k in range(phases)]
    ours = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff, pairs=pairs)
    data = fields.movedim(1, -1).double().numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.asarray(pymks.correlations_multiple(data, pairs, periodic_boundary=periodic, cutoff=cutoff))
    np.testing.assert_allclose(ours.movedim(1, -1).double().numpy(), reference, atol=tolerance, rtol=0)


@pytest.mark.parametrize("dtype,tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", [(8, 11), (5, 6, 7)])
def test_matches_pymks_two_point_stats_with_mask(shape, periodic, dtype, tolerance):
    generator = torch.Generator().manual_seed(9)
    fields = torch.rand(2, 2, *shape, dtype=dtype, generator=generator)
    mask = torch.rand(2, *shape, dtype=dtype, generator=generator)
    mask[:, 0] = 0  # a fully unobserved row
    cutoff = 2
    ours = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff, mask=mask, pairs=[(0, 1), (1, 1)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, (h, k) in enumerate([(0, 1), (1, 1)]):
            reference = np.asarray(
                pymks.two_point_stats(
                    fields[:, h].double().numpy(),
                    fields[:, k].double().numpy(),
                    periodic_boundary=periodic,
                    cutoff=cutoff,
                    mask=mask.double().numpy(),
                )
            )
            np.testing.assert_allclose(ours[:, i].double().numpy(), reference, atol=tolerance, rtol=0)


def test_single_channel_matches_pymks_on_probabilities():
    probability = torch.rand(2, 1, 12, 10, dtype=torch.float64, generator=torch.Generator().manual_seed(10))
    ours = ss.two_point_stats(probability, periodic=False, cutoff=4)
    data = ss.two_phase_from_probability(probability).movedim(1, -1).numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = np.asarray(
            pymks.correlations_multiple(data, [(0, 0), (0, 1), (1, 0), (1, 1)], periodic_boundary=False, cutoff=4)
        )
    np.testing.assert_allclose(ours.flatten(1, 2).movedim(1, -1).numpy(), reference, atol=1e-10, rtol=0)
