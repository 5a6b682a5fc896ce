"""two_point_stats against a direct double sum of its definition (loops over offsets and positions).

The reference lives in conftest.py (fixture ``direct_stats``) and shares no code with the library. Fields are small
so that the loops stay fast; sizes are odd, even and non-square, in 1, 2 and 3 dimensions.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spatialstats as ss

SHAPES = [(5,), (6,), (5, 5), (4, 6), (3, 4, 5)]


def _assert_matches(actual: torch.Tensor, expected: np.ndarray, atol: float = 1e-12) -> None:
    assert tuple(actual.shape) == expected.shape
    np.testing.assert_allclose(actual.numpy(), expected, rtol=0, atol=atol)


@pytest.mark.parametrize("spatial", SHAPES, ids=str)
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_full_layout_matches_direct_sum(spatial, periodic, random_fields, direct_stats):
    fields = random_fields(2, 3, *spatial)
    actual = ss.two_point_stats(fields, periodic=periodic)
    _assert_matches(actual, direct_stats(fields, periodic=periodic))


@pytest.mark.parametrize("spatial", SHAPES, ids=str)
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_largest_int_cutoff_matches_direct_sum(spatial, periodic, random_fields, direct_stats):
    cutoff = min((n - 1) // 2 if periodic else n - 1 for n in spatial)
    fields = random_fields(2, 2, *spatial)
    actual = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    _assert_matches(actual, direct_stats(fields, periodic=periodic, cutoff=cutoff))


@pytest.mark.parametrize(
    ("spatial", "cutoff"), [((5, 6), (1, 2)), ((4, 7), (0, 3)), ((3, 4, 5), (1, 0, 2))], ids=str
)
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_per_axis_cutoff_matches_direct_sum(spatial, cutoff, periodic, random_fields, direct_stats):
    fields = random_fields(1, 3, *spatial)
    actual = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    assert actual.shape[3:] == tuple(2 * c + 1 for c in cutoff)
    _assert_matches(actual, direct_stats(fields, periodic=periodic, cutoff=cutoff))


@pytest.mark.parametrize(("n", "periodic", "zero_index"), [(5, True, 2), (6, True, 3), (5, False, 4), (6, False, 5)])
def test_zero_offset_position_and_count(n, periodic, zero_index, random_labels):
    """r = 0 sits at n // 2 (periodic) or n - 1 (non-periodic), where f(h, h | 0) is the volume fraction."""
    labels = random_labels(3, 3, n, n + 1)
    one_hot = ss.one_hot_from_labels(labels, num_phases=3).double()
    stats = ss.two_point_stats(one_hot, periodic=periodic)
    expected_sizes = (n, n + 1) if periodic else (2 * n - 1, 2 * n + 1)
    assert stats.shape == (3, 3, 3, *expected_sizes)
    zero_col = (n + 1) // 2 if periodic else n
    at_zero = stats[..., zero_index, zero_col]
    fractions = one_hot.mean(dim=(2, 3))
    torch.testing.assert_close(at_zero, torch.diag_embed(fractions), rtol=0, atol=1e-12)


@pytest.mark.parametrize("single_channel", [False, True], ids=["three-phase", "single-channel"])
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_pairs_select_entries_of_the_full_matrix(single_channel, periodic, random_fields, direct_stats):
    if single_channel:
        fields = random_fields(2, 1, 4, 5)
        explicit = torch.cat([1 - fields, fields], dim=1)
        pairs = [(1, 0), (1, 1), (0, 1)]
    else:
        fields = explicit = random_fields(2, 3, 4, 5)
        pairs = [(2, 0), (0, 2), (1, 1), (0, 1)]
    actual = ss.two_point_stats(fields, periodic=periodic, cutoff=1, pairs=pairs)
    full = direct_stats(explicit, periodic=periodic, cutoff=1)
    expected = np.stack([full[:, h, k] for h, k in pairs], axis=1)
    _assert_matches(actual, expected)


@pytest.mark.parametrize("spatial", [(7,), (4, 5), (3, 3, 4)], ids=str)
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
@pytest.mark.parametrize("batched_mask", [False, True], ids=["shared-mask", "batched-mask"])
def test_mask_matches_direct_sum(spatial, periodic, batched_mask, random_fields, generator, direct_stats):
    fields = random_fields(2, 2, *spatial)
    mask_shape = (2, *spatial) if batched_mask else spatial
    mask = torch.rand(mask_shape, generator=generator, dtype=torch.float64)
    actual = ss.two_point_stats(fields, periodic=periodic, mask=mask)
    _assert_matches(actual, direct_stats(fields, periodic=periodic, mask=mask.numpy()), atol=1e-11)


def test_binary_mask_excludes_the_masked_region(random_fields, direct_stats):
    """A 0/1 mask gives the statistics of the unmasked voxels only; masked values must not matter."""
    fields = random_fields(1, 2, 5, 6)
    mask = torch.ones(5, 6, dtype=torch.float64)
    mask[1:3, 2:5] = 0
    altered = fields.clone()
    altered[..., 1:3, 2:5] = torch.tensor([1.0, 0.0], dtype=torch.float64).reshape(1, 2, 1, 1)
    first = ss.two_point_stats(fields, periodic=False, mask=mask)
    second = ss.two_point_stats(altered, periodic=False, mask=mask)
    torch.testing.assert_close(first, second, rtol=0, atol=1e-12)
    _assert_matches(first, direct_stats(fields, periodic=False, mask=mask.numpy()), atol=1e-11)


def test_one_hot_from_labels_matches_indicator_definition(random_labels):
    labels = random_labels(2, 4, 3, 5)
    one_hot = ss.one_hot_from_labels(labels, num_phases=5)
    assert one_hot.shape == (2, 5, 3, 5) and one_hot.dtype == torch.float32
    for phase in range(5):
        torch.testing.assert_close(one_hot[:, phase], (labels == phase).float(), rtol=0, atol=0)
    assert ss.one_hot_from_labels(labels).shape[1] == int(labels.max()) + 1


def test_two_phase_from_probability_stacks_complement(random_fields):
    probability = random_fields(3, 1, 4, 4)
    two_phase = ss.two_phase_from_probability(probability)
    assert two_phase.shape == (3, 2, 4, 4)
    torch.testing.assert_close(two_phase[:, 1:], probability, rtol=0, atol=0)
    torch.testing.assert_close(two_phase[:, :1], 1 - probability, rtol=0, atol=0)


# --- dtypes ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phases", [1, 3], ids=["single-channel", "three-phase"])
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_float32_and_float64_are_preserved(random_fields, phases, periodic):
    fields = random_fields(2, phases, 6, 7)
    double = ss.two_point_stats(fields, periodic=periodic)
    single = ss.two_point_stats(fields.float(), periodic=periodic)
    assert double.dtype == torch.float64 and single.dtype == torch.float32
    torch.testing.assert_close(single.double(), double, rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
@pytest.mark.parametrize("phases", [1, 3], ids=["single-channel", "three-phase"])
@pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])
def test_half_precision_is_computed_in_float32(random_fields, generator, dtype, phases, periodic):
    fields = random_fields(2, phases, 6, 7).to(dtype)
    mask = torch.rand(6, 7, generator=generator).to(dtype)
    for options in (dict(periodic=periodic), dict(periodic=periodic, cutoff=2, mask=mask)):
        low = ss.two_point_stats(fields, **options)
        assert low.dtype == dtype
        float_options = {**options, "mask": options["mask"].float()} if "mask" in options else options
        # Rounded to half precision, the phases sum to one only within the half dtype's tolerance.
        reference = ss.two_point_stats(fields.float(), check_values=False, **float_options)
        # Computed in float32, rounded once on the way out.
        torch.testing.assert_close(low, reference.to(dtype), rtol=0, atol=0)
