"""The transport-like statistics loss (``transport_ss``): closed forms, Wasserstein agreement, minimum at a match,
strict monotonicity on the paper's Fig. 8 set-up, gradients and input errors."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spatialstats as ss
import spatialstats.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples" / "paper_figures"))
from fig8_line_spacing import two_lines  # noqa: E402


def _random(shape, seed, low=0.05, high=0.95):
    """Soft fields in [low, high]; several channels are normalised to sum to one over the phases."""
    generator = torch.Generator().manual_seed(seed)
    values = low + (high - low) * torch.rand(shape, generator=generator, dtype=torch.float64)
    return values if shape[1] == 1 else values / values.sum(dim=1, keepdim=True)


def test_equals_wasserstein_distance_per_pair_in_1d():
    """Periodic 1D, equal volume fractions: every pair's statistics have the same mass, so the loss is the sum over
    pairs of the exact 1-D Wasserstein distance (scipy) of the normalised statistics, divided by n**2."""
    generator = torch.Generator().manual_seed(0)
    target = (torch.rand(1, 1, 40, generator=generator) > 0.5).double()
    prediction = target[..., torch.randperm(40, generator=generator)]  # same volume fraction, other layout
    n = 40
    predicted = ss.two_point_stats(prediction)[0].numpy()
    expected = ss.two_point_stats(target)[0].numpy()
    offsets = np.arange(-(n // 2), n - n // 2)
    reference = 0.0
    for h in range(2):
        for k in range(2):
            mass = expected[h, k].sum()
            distance = scipy.stats.wasserstein_distance(offsets, offsets, predicted[h, k], expected[h, k])
            reference += mass * distance / (expected[h, k].mean() + 1e-12) / n**2
    value = F.transport_ss(prediction, target, eps=1e-12).item()
    assert value > 1e-3
    assert value == pytest.approx(reference, rel=1e-9)


def _fig8_values(spacings):
    target_statistics = ss.two_point_stats(two_lines(100, 512))
    return np.array([F.transport_ss(two_lines(s, 512), target_statistics=target_statistics).item() for s in spacings])


def test_grows_with_line_spacing_error_on_fig8_setup_sampled():
    spacings = [50, 51, 99, 100, 101, 150, 199, 200]
    values = _fig8_values(spacings)
    assert values[3] == 0.0
    assert values[0] > values[1] > values[2] > 0 and 0 < values[4] < values[5] < values[6] < values[7]


@pytest.mark.slow
def test_grows_strictly_and_linearly_with_line_spacing_on_fig8_setup():
    """The paper's Fig. 8: 512 x 512 periodic, lines 100 px apart against every spacing 50..200 px."""
    size, spacings = 512, list(range(50, 201))
    target_statistics = ss.two_point_stats(two_lines(100, size))
    values = np.array(
        [F.transport_ss(two_lines(s, size), target_statistics=target_statistics).item() for s in spacings]
    )
    errors = np.abs(np.array(spacings) - 100)
    assert values[spacings.index(100)] == 0.0
    assert np.all(np.diff(values[:51]) < 0) and np.all(np.diff(values[50:]) > 0)
    slope = values[errors > 0] / errors[errors > 0]
    np.testing.assert_allclose(slope, slope[0], rtol=1e-9)  # exactly linear: a 1-D transport of the line peaks


def test_float32_keeps_the_fig8_slope():
    target_statistics = ss.two_point_stats(two_lines(100, 512).float())
    values = [F.transport_ss(two_lines(s, 512).float(), target_statistics=target_statistics).item() for s in (198, 199, 200)]
    assert values[0] < values[1] < values[2]


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    periodic=st.booleans(),
    phases=st.sampled_from([1, 3]),
    ndim=st.sampled_from([1, 2, 3]),
)
def test_minimum_zero_only_at_a_match(seed, periodic, phases, ndim):
    shape = (2, phases) + (5,) * ndim
    target = _random(shape, seed)
    if phases > 1:
        target = target / target.sum(dim=1, keepdim=True)
    prediction = _random(shape, seed + 1)
    if phases > 1:
        prediction = prediction / prediction.sum(dim=1, keepdim=True)
    at_match = F.transport_ss(target, target, periodic=periodic, reduction="none")
    elsewhere = F.transport_ss(prediction, target, periodic=periodic, reduction="none")
    assert torch.all(at_match.abs() < 1e-12)
    assert torch.all(elsewhere > 1e-6)


@pytest.mark.parametrize("periodic,cutoff,spatial", [(True, None, (5, 6)), (False, 2, (5, 4)), (True, 1, (4,)), (False, None, (3, 3, 3))])
def test_gradcheck(periodic, cutoff, spatial):
    prediction = _random((2, 1, *spatial), 3).requires_grad_()
    target = _random((2, 1, *spatial), 4)
    function = lambda p: F.transport_ss(p, target, periodic=periodic, cutoff=cutoff, reduction="none")  # noqa: E731
    assert torch.autograd.gradcheck(function, (prediction,), eps=1e-6, atol=1e-7)


def test_reductions_target_statistics_and_module_agree():
    prediction, target = _random((3, 2, 6, 6), 5), _random((3, 2, 6, 6), 6)
    per_sample = F.transport_ss(prediction, target, cutoff=2, reduction="none")
    assert per_sample.shape == (3,)
    assert F.transport_ss(prediction, target, cutoff=2).item() == pytest.approx(per_sample.mean().item(), rel=1e-12)
    assert F.transport_ss(prediction, target, cutoff=2, reduction="sum").item() == pytest.approx(per_sample.sum().item())
    statistics = ss.two_point_stats(target, cutoff=2)
    torch.testing.assert_close(F.transport_ss(prediction, target_statistics=statistics, cutoff=2, reduction="none"), per_sample)
    module = ss.TransportSSLoss.from_target(target, cutoff=2, reduction="none")
    torch.testing.assert_close(module(prediction), per_sample)
    torch.testing.assert_close(ss.TransportSSLoss(cutoff=2, reduction="none")(prediction, target), per_sample)


def test_orthant_average_makes_it_invariant_to_mirroring_both_fields():
    prediction, target = _random((1, 1, 7, 5), 7), _random((1, 1, 7, 5), 8)  # odd: a symmetric window
    value = F.transport_ss(prediction, target)
    for dims in ([-1], [-2], [-1, -2]):
        mirrored = F.transport_ss(prediction.flip(dims), target.flip(dims))
        assert mirrored.item() == pytest.approx(value.item(), rel=1e-10)


@pytest.mark.parametrize(
    "options,match",
    [(dict(eps=0), "eps must be a positive number"), (dict(reduction="avg"), "reduction must be one of")],
)
def test_bad_options_raise(options, match):
    field = _random((1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match=match):
        F.transport_ss(field, field, **options)
    with pytest.raises(ValueError, match=match):
        ss.TransportSSLoss(**options)


def test_bad_values_raise_unless_unchecked():
    field = _random((1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match="prediction must hold probabilities"):
        F.transport_ss(field * 3, field)
    assert torch.isfinite(F.transport_ss(field * 3, field, check_values=False))
