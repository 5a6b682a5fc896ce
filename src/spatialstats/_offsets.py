"""Offset bookkeeping: FFT lengths, cropping circular correlations to centred windows, negating offsets.

A correlation computed by FFT on a grid of length ``L`` holds lag ``r`` at index ``r mod L``. The public layout is
centred: with a cutoff ``c`` an axis holds lags ``-c .. c`` (index ``c`` is ``r = 0``); the full periodic layout
(``cutoff=None``) is ``fftshift``'s, lags ``-(n // 2) .. (n - 1) // 2`` with ``r = 0`` at index ``n // 2``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import torch

_FAST_PRIMES = (2, 3, 5, 7)


@lru_cache(maxsize=None)
def fast_fft_length(minimum: int) -> int:
    """Smallest length ``>= minimum`` whose prime factors are all in {2, 3, 5, 7} (fast for pocketfft, MKL, cuFFT)."""
    length = max(1, minimum)
    while True:
        rest = length
        for prime in _FAST_PRIMES:
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return length
        length += 1


def fft_lengths(spatial_shape: Sequence[int], cutoffs: tuple[int, ...] | None, periodic: bool) -> list[int]:
    """Periodic fields use their own length; non-periodic ones are zero-padded to a fast length ``>= n + c``,
    which is the least padding that keeps lags ``|r| <= c`` free of wrap-around."""
    if periodic:
        return list(spatial_shape)
    assert cutoffs is not None
    return [fast_fft_length(n + c) for n, c in zip(spatial_shape, cutoffs)]


def crop_centred(correlation: torch.Tensor, lengths: Sequence[int], cutoffs: tuple[int, ...] | None) -> torch.Tensor:
    """Move lag 0 to the centre of the trailing ``len(lengths)`` axes and keep lags ``-c .. c`` per axis."""
    ndim = len(lengths)
    if cutoffs is None:
        return torch.fft.fftshift(correlation, dim=tuple(range(-ndim, 0)))
    for axis, (length, cutoff) in enumerate(zip(lengths, cutoffs)):
        dim = axis - ndim
        negative = correlation.narrow(dim, length - cutoff, cutoff)
        non_negative = correlation.narrow(dim, 0, cutoff + 1)
        correlation = torch.cat([negative, non_negative], dim=dim)
    return correlation


def negate_offsets(values: torch.Tensor, spatial_shape: Sequence[int], cutoffs: tuple[int, ...] | None) -> torch.Tensor:
    """Map a centred array ``g(r)`` to ``g(-r)`` on the trailing spatial axes.

    Windows ``-c .. c`` are symmetric, so this is a flip. In the full periodic layout an even axis holds lags
    ``-n/2 .. n/2 - 1``; there ``-r`` of index ``i`` sits at index ``(n - i) mod n`` (flip, then roll by one).
    """
    ndim = len(spatial_shape)
    dims = tuple(range(-ndim, 0))
    flipped = values.flip(dims)
    if cutoffs is None:
        even_dims = [dim for dim, n in zip(dims, spatial_shape) if n % 2 == 0]
        if even_dims:
            flipped = torch.roll(flipped, shifts=[1] * len(even_dims), dims=even_dims)
    return flipped


def valid_placement_counts(
    spatial_shape: Sequence[int], cutoffs: tuple[int, ...], *, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    r"""Number of placements of the vector ``r`` inside a non-periodic box, :math:`\prod_d (n_d - |r_d|)`,
    for lags ``-c .. c`` per axis."""
    counts = torch.ones((), dtype=dtype, device=device)
    for n, cutoff in zip(spatial_shape, cutoffs):
        lags = torch.arange(-cutoff, cutoff + 1, device=device)
        counts = counts.unsqueeze(-1) * (n - lags.abs()).to(dtype)
    return counts


def window_sums(values: torch.Tensor, cutoffs: tuple[int, ...]) -> torch.Tensor:
    r"""For each lag ``r`` in ``-c .. c``, the sum of ``values`` over the end points of all valid placements,
    :math:`\sum_{x:\,x,\,x+r \in \Omega} v(x + r)`, on the trailing ``len(cutoffs)`` axes.

    The valid end points form a box ``[max(0, r_d), n_d + min(0, r_d))`` per axis, so one prefix sum per axis gives
    every lag exactly in O(N) work, without an FFT.
    """
    ndim = len(cutoffs)
    for axis, cutoff in enumerate(cutoffs):
        dim = values.ndim - ndim + axis
        n = values.shape[dim]
        prefix = torch.cumsum(values, dim=dim)
        prefix = torch.cat([torch.zeros_like(prefix.narrow(dim, 0, 1)), prefix], dim=dim)
        lags = torch.arange(-cutoff, cutoff + 1, device=values.device)
        upper = n + lags.clamp(max=0)
        lower = lags.clamp(min=0)
        values = prefix.index_select(dim, upper) - prefix.index_select(dim, lower)
    return values
