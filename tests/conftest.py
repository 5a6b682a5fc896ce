"""Shared fixtures of the core test suite: seeded random fields and an independent direct-sum reference.

The reference (:func:`direct_two_point_stats`) evaluates the definition

    f(h, h' | r) = sum_x w(x) m(h, x) w(x + r) m(h', x + r) / sum_x w(x) w(x + r)

with explicit Python loops over offsets and positions, independently of the FFT code under test. It is exposed
as a fixture so that test modules do not import this file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

import numpy as np
import pytest
import torch


def _axis_flags(periodic: bool | Sequence[bool], ndim: int) -> tuple[bool, ...]:
    """One boundary flag per axis: a bool for every axis, or a per-axis sequence."""
    return (periodic,) * ndim if isinstance(periodic, bool) else tuple(periodic)


def _offset_ranges(
    spatial_shape: Sequence[int], periodic: bool | Sequence[bool], cutoff: int | Sequence[int] | None
) -> list[range]:
    """The offsets of each axis in output order, following the contract's layouts."""
    ranges = []
    cutoffs = [cutoff] * len(spatial_shape) if cutoff is None or isinstance(cutoff, int) else list(cutoff)
    for n, c, axis_periodic in zip(spatial_shape, cutoffs, _axis_flags(periodic, len(spatial_shape))):
        if c is not None:
            ranges.append(range(-c, c + 1))
        elif axis_periodic:  # fftshift order: r = 0 at index n // 2
            ranges.append(range(-(n // 2), n - n // 2))
        else:  # every lag: r = 0 at index n - 1
            ranges.append(range(-(n - 1), n))
    return ranges


def direct_two_point_stats(
    fields: np.ndarray,
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Direct double sum over offsets and positions of one sample ``(P, *spatial)`` -> ``(P, P, *offsets)``;
    ``periodic`` is a bool or one bool per axis (a periodic axis wraps, a non-periodic one drops the placement)."""
    fields = np.asarray(fields, dtype=np.float64)
    spatial_shape = fields.shape[1:]
    weights = np.ones(spatial_shape) if mask is None else np.asarray(mask, dtype=np.float64)
    ranges = _offset_ranges(spatial_shape, periodic, cutoff)
    flags = _axis_flags(periodic, len(spatial_shape))
    num_phases = fields.shape[0]
    result = np.zeros((num_phases, num_phases, *(len(r) for r in ranges)))
    for out_index, offset in zip(
        itertools.product(*(range(len(r)) for r in ranges)), itertools.product(*ranges)
    ):
        numerator = np.zeros((num_phases, num_phases))
        denominator = 0.0
        for start in itertools.product(*(range(n) for n in spatial_shape)):
            end = [(s + r) % n if p else s + r for s, r, n, p in zip(start, offset, spatial_shape, flags)]
            if any(e < 0 or e >= n for e, n in zip(end, spatial_shape)):
                continue
            end = tuple(end)
            weight = weights[start] * weights[end]
            numerator += weight * np.outer(fields[(slice(None), *start)], fields[(slice(None), *end)])
            denominator += weight
        if denominator > 0:
            result[(slice(None), slice(None), *out_index)] = numerator / denominator
    return result


@pytest.fixture
def direct_stats() -> Callable[..., np.ndarray]:
    """The direct-sum reference, batched: ``(batch, P, *spatial)`` -> ``(batch, P, P, *offsets)``.

    ``mask`` may be ``(*spatial)`` (shared) or ``(batch, *spatial)``.
    """

    def batched(fields, *, periodic=True, cutoff=None, mask=None):
        fields = np.asarray(fields, dtype=np.float64)
        spatial_ndim = fields.ndim - 2
        masks = [None] * len(fields)
        if mask is not None:
            mask = np.asarray(mask, dtype=np.float64)
            masks = list(mask) if mask.ndim == spatial_ndim + 1 else [mask] * len(fields)
        return np.stack(
            [direct_two_point_stats(f, periodic=periodic, cutoff=cutoff, mask=w) for f, w in zip(fields, masks)]
        )

    return batched


@pytest.fixture
def generator() -> torch.Generator:
    """A freshly seeded CPU generator per test, so every test is reproducible on its own."""
    return torch.Generator().manual_seed(1234)


@pytest.fixture
def random_fields(generator: torch.Generator) -> Callable[..., torch.Tensor]:
    """Random phase probabilities ``(batch, P, *spatial)`` that sum to one over the phases (``P >= 2``), or a
    single channel in [0, 1] for ``phases=1``."""

    def make(batch: int, phases: int, *spatial: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        raw = torch.rand(batch, phases, *spatial, generator=generator, dtype=torch.float64)
        if phases > 1:
            raw = raw / raw.sum(dim=1, keepdim=True)
        return raw.to(dtype)

    return make


@pytest.fixture
def random_labels(generator: torch.Generator) -> Callable[..., torch.Tensor]:
    """Random integer label maps ``(batch, *spatial)`` in ``0 .. phases - 1``."""

    def make(batch: int, phases: int, *spatial: int) -> torch.Tensor:
        return torch.randint(0, phases, (batch, *spatial), generator=generator)

    return make


@pytest.fixture
def reference(monkeypatch):
    """Call a loss on the autograd reference path (both fused paths switched off)."""
    from spatialstats.functional import _fused, _fused_phases

    def call(function, *args, **options):
        with monkeypatch.context() as patch:
            patch.setattr(_fused, "applies", lambda *unused: False)
            patch.setattr(_fused_phases, "applies", lambda *unused: False)
            return function(*args, **options)

    return call
