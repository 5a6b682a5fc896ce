"""Hypothesis properties of the 2-point statistics: invariances, symmetries, sums, fast path = general path."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spatialstats as ss

SETTINGS = settings(max_examples=25, deadline=None)


@st.composite
def label_maps(draw, min_phases=2, max_phases=4):
    ndim = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(3, 9 if ndim < 3 else 5), min_size=ndim, max_size=ndim))
    phases = draw(st.integers(min_phases, max_phases))
    seed = draw(st.integers(0, 2**31 - 1))
    labels = torch.randint(0, phases, (2, *sizes), generator=torch.Generator().manual_seed(seed))
    return labels, phases


@st.composite
def probability_fields(draw, channels=None):
    ndim = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(3, 8 if ndim < 3 else 5), min_size=ndim, max_size=ndim))
    phases = channels or draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**31 - 1))
    return torch.rand(2, phases, *sizes, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))


def largest_cutoff(fields, periodic):
    return tuple((n - 1) // 2 if periodic else n - 1 for n in fields.shape[2:])


def spatial_dims(fields):
    return tuple(range(-(fields.ndim - 2), 0))


@SETTINGS
@given(fields=probability_fields(), shift=st.integers(-7, 7))
def test_periodic_statistics_are_translation_invariant(fields, shift):
    shifted = torch.roll(fields, shifts=[shift] * (fields.ndim - 2), dims=spatial_dims(fields))
    torch.testing.assert_close(ss.two_point_stats(shifted), ss.two_point_stats(fields), rtol=0, atol=1e-12)


@SETTINGS
@given(fields=probability_fields(), periodic=st.booleans())
def test_inversion_negates_offsets(fields, periodic):
    cutoff = largest_cutoff(fields, periodic)
    inverted = fields.flip(spatial_dims(fields))
    expected = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff).flip(spatial_dims(fields))
    torch.testing.assert_close(ss.two_point_stats(inverted, periodic=periodic, cutoff=cutoff), expected, rtol=0, atol=1e-12)


@SETTINGS
@given(fields=probability_fields(), periodic=st.booleans(), full=st.booleans())
def test_swapping_phases_negates_offsets(fields, periodic, full):
    cutoff = None if full and not periodic else largest_cutoff(fields, periodic)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    swapped = stats.transpose(1, 2).flip(spatial_dims(fields))
    torch.testing.assert_close(swapped, stats, rtol=0, atol=1e-12)


@SETTINGS
@given(data=label_maps(), periodic=st.booleans(), seed=st.integers(0, 1000))
def test_permuting_phase_labels_permutes_pair_axes(data, periodic, seed):
    labels, phases = data
    permutation = torch.randperm(phases, generator=torch.Generator().manual_seed(seed))
    fields = ss.one_hot_from_labels(labels, phases, dtype=torch.float64)
    permuted = ss.one_hot_from_labels(permutation[labels], phases, dtype=torch.float64)
    cutoff = largest_cutoff(fields, periodic)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    stats_permuted = ss.two_point_stats(permuted, periodic=periodic, cutoff=cutoff)
    inverse = torch.argsort(permutation)
    torch.testing.assert_close(stats_permuted[:, permutation][:, :, permutation], stats, rtol=0, atol=1e-12)
    torch.testing.assert_close(stats_permuted, stats[:, inverse][:, :, inverse], rtol=0, atol=1e-12)


@SETTINGS
@given(data=label_maps(), periodic=st.booleans())
def test_one_hot_pairs_sum_to_one_and_zero_lag_is_diagonal(data, periodic):
    labels, phases = data
    fields = ss.one_hot_from_labels(labels, phases, dtype=torch.float64)
    cutoff = largest_cutoff(fields, periodic)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    torch.testing.assert_close(stats.sum(dim=(1, 2)), torch.ones_like(stats[:, 0, 0]), rtol=0, atol=1e-12)
    zero_lag = stats[(slice(None), slice(None), slice(None), *cutoff)]
    volume_fractions = fields.flatten(2).mean(dim=2)
    torch.testing.assert_close(zero_lag, torch.diag_embed(volume_fractions), rtol=0, atol=1e-12)


@SETTINGS
@given(fields=probability_fields(channels=1), periodic=st.booleans(), full=st.booleans())
def test_two_phase_fast_path_equals_general_path(fields, periodic, full):
    cutoff = None if full else largest_cutoff(fields, periodic)
    fast = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    general = ss.two_point_stats(ss.two_phase_from_probability(fields).requires_grad_(), periodic=periodic, cutoff=cutoff)
    torch.testing.assert_close(fast, general.detach(), rtol=0, atol=1e-12)


@SETTINGS
@given(data=label_maps(max_phases=2), periodic=st.booleans())
def test_one_hot_input_without_gradient_equals_general_path(data, periodic):
    labels, _ = data
    fields = ss.one_hot_from_labels(labels, 2, dtype=torch.float64)
    with torch.no_grad():
        fast = ss.two_point_stats(fields, periodic=periodic)
    general = ss.two_point_stats(fields.clone().requires_grad_(), periodic=periodic)
    torch.testing.assert_close(fast, general.detach(), rtol=0, atol=1e-12)


@SETTINGS
@given(fields=probability_fields(), periodic=st.booleans())
def test_statistics_are_bounded_by_one_point_probabilities(fields, periodic):
    stats = ss.two_point_stats(fields, periodic=periodic)
    assert stats.min() >= -1e-12
    assert stats.max() <= 1 + 1e-12


@SETTINGS
@given(fields=probability_fields(), periodic=st.booleans())
def test_batch_entries_are_independent(fields, periodic):
    batched = ss.two_point_stats(fields, periodic=periodic)
    single = ss.two_point_stats(fields[1:], periodic=periodic)
    torch.testing.assert_close(batched[1:], single, rtol=0, atol=1e-12)
