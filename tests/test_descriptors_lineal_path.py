"""lineal_path against a brute-force loop over segments, closed forms and finite differences."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from spatialstats.descriptors import lineal_path


def brute_lineal_path(field: np.ndarray, max_length: int, periodic: bool | tuple[bool, ...]) -> np.ndarray:
    """One sample ``(P, *spatial)`` -> ``(P, ndim, max_length + 1)`` by explicit loops over start points."""
    phases, spatial = field.shape[0], field.shape[1:]
    axes = (periodic,) * len(spatial) if isinstance(periodic, bool) else periodic
    out = np.zeros((phases, len(spatial), max_length + 1))
    for h, axis, r in itertools.product(range(phases), range(len(spatial)), range(max_length + 1)):
        total, count = 0.0, 0
        for start in itertools.product(*(range(n) for n in spatial)):
            if not axes[axis] and start[axis] + r >= spatial[axis]:
                continue
            product = 1.0
            for k in range(r + 1):
                point = list(start)
                point[axis] = (point[axis] + k) % spatial[axis]
                product *= field[(h, *point)]
            total, count = total + product, count + 1
        out[h, axis, r] = total / count
    return out


SHAPES = [(11,), (6, 7), (4, 5, 3)]


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("binary", [True, False])
def test_matches_brute_force(shape, periodic, binary):
    generator = torch.Generator().manual_seed(sum(shape))
    fields = torch.rand(2, 3, *shape, generator=generator, dtype=torch.float64)
    if binary:
        fields = (fields > 0.4).double()
    max_length = min(shape) - 1
    result = lineal_path(fields, max_length=max_length, periodic=periodic)
    assert result.shape == (2, 3, len(shape), max_length + 1)
    for b in range(2):
        expected = brute_lineal_path(fields[b].numpy(), max_length, periodic)
        np.testing.assert_allclose(result[b].numpy(), expected, rtol=0, atol=1e-13)


MIXED = [((6, 7), (True, False)), ((7, 5), (False, True)), ((4, 5, 3), (False, True, True)), ((5, 3, 4), (True, False, False))]


@pytest.mark.parametrize("shape, periodic", MIXED)
@pytest.mark.parametrize("binary", [True, False])
def test_per_axis_matches_brute_force(shape, periodic, binary):
    """Held-out fields (seeds not used above): along axis a the segments wrap iff axis a is periodic."""
    generator = torch.Generator().manual_seed(1000 + sum(shape))
    fields = torch.rand(2, 2, *shape, generator=generator, dtype=torch.float64)
    if binary:
        fields = (fields > 0.35).double()
    max_length = min(shape) - 1
    result = lineal_path(fields, max_length=max_length, periodic=periodic)
    for b in range(2):
        expected = brute_lineal_path(fields[b].numpy(), max_length, periodic)
        np.testing.assert_allclose(result[b].numpy(), expected, rtol=0, atol=1e-13)


@pytest.mark.parametrize("wraps", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_uniform_tuple_equals_bool(shape, wraps):
    fields = torch.rand(2, 3, *shape, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    expected = lineal_path(fields, max_length=2, periodic=wraps)
    torch.testing.assert_close(lineal_path(fields, max_length=2, periodic=(wraps,) * len(shape)), expected, atol=0, rtol=0)


def test_single_channel_is_two_phases():
    fields = torch.rand(3, 1, 9, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    two = torch.cat([1 - fields, fields], dim=1)
    torch.testing.assert_close(lineal_path(fields, max_length=5), lineal_path(two, max_length=5))


def test_bernoulli_field_closed_form():
    """Independent voxels with P(phase 1) = p: E[L(r)] = p^(r + 1); a large field averages the noise away."""
    p = 0.7
    fields = (torch.rand(4, 1, 256, 256, generator=torch.Generator().manual_seed(1)) < p).float()
    result = lineal_path(fields, max_length=6).mean(dim=0)[1]
    expected = p ** torch.arange(1, 8, dtype=torch.float32)
    torch.testing.assert_close(result, expected.expand(2, 7), atol=4e-3, rtol=0)


def test_lamellae_closed_form():
    """Periodic lamellae of thickness t and period T across axis 1: along axis 0 every segment stays in its layer
    (L = t / T); across, L(r) = (t - r) / T for r < t and 0 beyond."""
    period, thickness = 10, 4
    layer = (torch.arange(40) % period < thickness).double()
    fields = layer.expand(20, 40).reshape(1, 1, 20, 40)
    result = lineal_path(fields, max_length=8)[0, 1]
    expected_across = torch.clamp(thickness - torch.arange(9.0, dtype=torch.float64), min=0) / period
    torch.testing.assert_close(result[0], torch.full((9,), thickness / period, dtype=torch.float64))
    torch.testing.assert_close(result[1], expected_across)


def test_gradcheck():
    fields = torch.rand(2, 2, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    for periodic in (True, False, (False, True)):
        assert torch.autograd.gradcheck(
            lambda f: lineal_path(f, max_length=3, periodic=periodic), (fields.requires_grad_(),)
        )


def test_half_precision_is_computed_in_float32():
    fields = torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(3))
    result = lineal_path(fields.half(), max_length=3)
    assert result.dtype == torch.float16
    torch.testing.assert_close(result.float(), lineal_path(fields.half().float(), max_length=3), atol=1e-3, rtol=0)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"max_length": 8}, ValueError, "max_length must be in 0..7"),
        ({"max_length": -1}, ValueError, "max_length"),
        ({"max_length": 2.0}, TypeError, "max_length must be an int"),
        ({"max_length": 2, "periodic": 1}, TypeError, "periodic must be a bool"),
        ({"max_length": 2, "periodic": (True, 0)}, TypeError, "periodic must be a bool or a sequence of bools"),
        ({"max_length": 2, "periodic": (True,) * 3}, ValueError, r"periodic must give one bool per spatial axis \(2\)"),
    ],
)
def test_bad_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        lineal_path(torch.rand(1, 1, 8, 9), **kwargs)


def test_bad_fields():
    with pytest.raises(ValueError, match=r"fields must hold probabilities in \[0, 1\]"):
        lineal_path(torch.full((1, 1, 4), 2.0), max_length=1)
    with pytest.raises(TypeError, match="fields must be a floating-point tensor"):
        lineal_path(torch.ones(1, 1, 4, dtype=torch.long), max_length=1)
