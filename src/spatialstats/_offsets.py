"""Offset bookkeeping: FFT lengths, centring circular correlations by spectral shifts, negating offsets.

A correlation computed by FFT on a grid of length ``L`` holds lag ``r`` at index ``r mod L``. The public layout is
centred and set per axis by that axis's boundary (``periodic``: a bool for every axis or one bool per axis) and
cutoff: with a cutoff ``c`` an axis holds lags ``-c .. c`` (index ``c`` is ``r = 0``); without one (``cutoffs`` is
``None``), a periodic axis holds ``fftshift``'s lags ``-(n // 2) .. (n - 1) // 2`` (``r = 0`` at index ``n // 2``)
and a non-periodic axis the lags ``-(n - 1) .. n - 1``, i.e. the cutoff ``n - 1``. :func:`axis_cutoffs` turns both
into one entry per axis, ``None`` marking a periodic axis in the full layout; the helpers below work axis by axis
from it.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from functools import lru_cache

import torch

from spatialstats import _window_dft
from spatialstats._tracing import tracing

_FAST_PRIMES = (2, 3, 5, 7)


def fast_fft_length(minimum: int) -> int:
    """Smallest length ``>= minimum`` whose prime factors are all in {2, 3, 5, 7} (fast for pocketfft, MKL, cuFFT)."""
    if torch.compiler.is_compiling():  # dynamo does not trace through lru_cache: compute (at trace time only)
        return _fast_fft_length(minimum)
    return _cached_fast_fft_length(minimum)


def _fast_fft_length(minimum: int) -> int:
    length = max(1, minimum)
    while True:
        rest = length
        for prime in _FAST_PRIMES:
            while rest % prime == 0:
                rest //= prime
        if rest == 1:
            return length
        length += 1


_cached_fast_fft_length = lru_cache(maxsize=None)(_fast_fft_length)


def axis_flags(periodic: bool | Sequence[bool], ndim: int) -> tuple[bool, ...]:
    """One boundary flag per axis from a bool (every axis) or a per-axis sequence (already validated)."""
    if isinstance(periodic, Sequence):
        return tuple(bool(p) for p in periodic)
    return (bool(periodic),) * ndim


def axis_cutoffs(
    spatial_shape: Sequence[int], cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool] = True
) -> tuple[int | None, ...]:
    """Per axis the cutoff of the layout, ``None`` for a periodic axis in the full ``fftshift`` layout (``cutoffs``
    ``None`` puts every axis in its full layout: ``n - 1`` on a non-periodic one)."""
    if cutoffs is not None:
        return tuple(cutoffs)
    flags = axis_flags(periodic, len(spatial_shape))
    return tuple(None if axis_periodic else n - 1 for n, axis_periodic in zip(spatial_shape, flags))


def fft_lengths(
    spatial_shape: Sequence[int], cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool]
) -> list[int]:
    """A periodic axis uses its own length; a non-periodic one is zero-padded to a fast length ``>= n + c``, which
    is the least padding that keeps lags ``|r| <= c`` free of wrap-around."""
    flags = axis_flags(periodic, len(spatial_shape))
    return [
        n if axis_periodic else fast_fft_length(n + c)
        for n, c, axis_periodic in zip(spatial_shape, axis_cutoffs(spatial_shape, cutoffs, periodic), flags)
    ]


def centring_shifts(
    spatial_shape: Sequence[int], cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool] = True
) -> tuple[int, ...]:
    """Per axis, the index that lag 0 must land on: ``n // 2`` in the full periodic layout, else the cutoff."""
    return tuple(
        n // 2 if c is None else c for n, c in zip(spatial_shape, axis_cutoffs(spatial_shape, cutoffs, periodic))
    )


def window_lengths(
    spatial_shape: Sequence[int], cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool] = True
) -> tuple[int, ...]:
    """Number of offsets per axis in the public layout."""
    return tuple(
        n if c is None else 2 * c + 1 for n, c in zip(spatial_shape, axis_cutoffs(spatial_shape, cutoffs, periodic))
    )


def symmetric_window(
    spatial_shape: Sequence[int], cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool] = True
) -> bool:
    """Whether every axis holds lags ``-c .. c`` (so that :func:`negate_offsets` is a flip): only the full periodic
    layout of an even axis is not symmetric."""
    return all(
        c is not None or n % 2 == 1 for n, c in zip(spatial_shape, axis_cutoffs(spatial_shape, cutoffs, periodic))
    )


def _shift_factors(
    lengths: tuple[int, ...], shifts: tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    factors = torch.ones((), dtype=torch.complex128, device=device)
    for axis, (length, shift) in enumerate(zip(lengths, shifts)):
        size = length // 2 + 1 if axis == len(lengths) - 1 else length
        frequencies = torch.arange(size, dtype=torch.float64, device=device)
        if 2 * shift == length:  # a half-period shift is an exact sign flip
            axis_factors = (1 - 2 * (frequencies % 2)).to(torch.complex128)
        else:
            angle = (-2 * math.pi * shift / length) * frequencies
            axis_factors = torch.polar(torch.ones_like(angle), angle)
        factors = factors.unsqueeze(-1) * axis_factors
    return factors.to(dtype)


_cached_shift_factors = lru_cache(maxsize=128)(_shift_factors)


def shift_factors(
    lengths: Sequence[int], shifts: Sequence[int], *, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    r"""Factors that circularly shift the inverse ``rfftn`` of a spectrum by ``shifts`` samples per axis.

    Multiplying the spectrum by :math:`e^{-2\pi i k s / L}` moves sample ``j`` of the signal to ``j + s``. Folding
    the centring into the spectrum product this way turns the centred crop into a zero-copy :func:`crop_centred`
    view instead of a ``roll``. Cached per layout in eager mode; under ``torch.compile`` they are built in the graph
    (a cache of tensors is not traceable), and inside ``torch.func`` transforms per call. Complex dtype of the spectrum.
    """
    # Inside a torch.func transform the built tensor is wrapped for that transform's level: caching it would leak
    # the wrapper into later calls (functorch's "escaped?" assertion), so build it there too.
    build = _shift_factors if tracing() else _cached_shift_factors
    return build(tuple(lengths), tuple(shifts), dtype, torch.device(device))


def crop_centred(correlation: torch.Tensor, windows: Sequence[int]) -> torch.Tensor:
    """Keep the first ``windows[d]`` samples of each trailing axis of a correlation whose spectrum was shifted by
    :func:`shift_factors`: a view, no copy."""
    ndim = len(windows)
    for axis, window in enumerate(windows):
        correlation = correlation.narrow(axis - ndim, 0, window)
    return correlation


def negate_offsets(values: torch.Tensor, ndim: int) -> torch.Tensor:
    """Map a centred array ``g(r)`` on a symmetric window ``-c .. c`` to ``g(-r)``: a flip of the trailing axes.

    (The full periodic layout of an even axis is not symmetric; callers compute such pairs directly instead.)
    """
    return values.flip(tuple(range(-ndim, 0)))


def valid_placement_counts(
    spatial_shape: Sequence[int],
    cutoffs: Sequence[int] | None,
    *,
    dtype: torch.dtype,
    device: torch.device,
    periodic: bool | Sequence[bool] = False,
) -> torch.Tensor:
    r"""Number of placements of the vector ``r`` inside the box, :math:`\prod_d (n_d - |r_d|)` over the
    non-periodic axes times :math:`n_d` for each periodic one (where every start point is valid), on the layout's
    lags."""
    counts = torch.ones((), dtype=dtype, device=device)
    layout = zip(
        spatial_shape,
        axis_cutoffs(spatial_shape, cutoffs, periodic),
        axis_flags(periodic, len(spatial_shape)),
        window_lengths(spatial_shape, cutoffs, periodic),
    )
    for n, c, axis_periodic, window in layout:
        if axis_periodic:
            axis_counts = torch.full((window,), n, dtype=dtype, device=device)
        else:
            axis_counts = (n - torch.arange(-c, c + 1, device=device).abs()).to(dtype)
        counts = counts.unsqueeze(-1) * axis_counts
    return counts


def window_sums(
    values: torch.Tensor, cutoffs: Sequence[int] | None, periodic: bool | Sequence[bool] = False
) -> torch.Tensor:
    r"""For each lag ``r`` of the layout, the sum of ``values`` over the end points of all valid placements,
    :math:`\sum_{x:\,x,\,x+r \in \Omega} v(x + r)`, on the trailing axes (one per entry of ``cutoffs``, or of
    ``periodic`` when ``cutoffs`` is ``None``).

    Along a periodic axis every point is an end point: the sum over the whole axis, the same for every lag (the
    result is expanded along it, a view). Along a non-periodic axis the valid end points form the range
    ``[max(0, r_d), n_d + min(0, r_d))``; with the inclusive cumulative sum ``C``, lags ``r <= 0`` give
    ``C[n - 1 + r]`` and lags ``r > 0`` give ``C[n - 1] - C[r - 1]``: two slices per axis, every lag exact in O(N)
    work and no FFT.
    """
    ndim = len(cutoffs) if cutoffs is not None else len(periodic)
    spatial_shape = tuple(values.shape[-ndim:])
    flags = axis_flags(periodic, ndim)
    for axis, (cutoff, axis_periodic) in enumerate(zip(axis_cutoffs(spatial_shape, cutoffs, periodic), flags)):
        dim = values.ndim - ndim + axis
        if axis_periodic:
            values = values.sum(dim=dim, keepdim=True)
            continue
        n = values.shape[dim]
        cumulative = torch.cumsum(values, dim=dim)
        non_positive = cumulative.narrow(dim, n - 1 - cutoff, cutoff + 1)
        positive = cumulative.narrow(dim, n - 1, 1) - cumulative.narrow(dim, 0, cutoff)
        values = torch.cat([non_positive, positive], dim=dim)
    return values.expand(*values.shape[:-ndim], *window_lengths(spatial_shape, cutoffs, periodic))


def window_irfftn(spectrum: torch.Tensor, lengths: Sequence[int], windows: Sequence[int]) -> torch.Tensor:
    """``irfftn(spectrum, s=lengths)`` cropped to the first ``windows[d]`` samples per trailing axis, computing only
    those: the leading axes are inverted one at a time and narrowed before the next, the last axis (the real one)
    is inverted on the kept rows only. For a small window this is the pruned (window-only) inverse transform, along
    each axis by FFT or by a matrix product with the window's DFT matrix (:mod:`spatialstats._window_dft`, chosen
    per axis by :func:`~spatialstats._window_dft.use_matmul`); for the full window it is one ``irfftn``."""
    ndim = len(lengths)
    matmul = [_window_dft.use_matmul(n, w, spectrum.device) for n, w in zip(lengths, windows)]
    if tuple(windows) == tuple(lengths) and not any(matmul):
        return torch.fft.irfftn(spectrum, s=list(lengths), dim=tuple(range(-ndim, 0)))
    for axis in range(ndim - 1):
        if matmul[axis]:
            spectrum = _window_dft.inverse_axis(spectrum, lengths[axis], windows[axis], axis - ndim)
        else:
            spectrum = torch.fft.ifft(spectrum, n=lengths[axis], dim=axis - ndim).narrow(axis - ndim, 0, windows[axis])
    if matmul[-1]:
        return _window_dft.inverse_last_axis(spectrum, lengths[-1], windows[-1])
    return torch.fft.irfft(spectrum, n=lengths[-1], dim=-1).narrow(-1, 0, windows[-1])


def padded_rfftn(values: torch.Tensor, lengths: Sequence[int]) -> torch.Tensor:
    """``rfftn`` of ``values`` zero-padded at the end to ``lengths``, skipping the zero rows: the last axis is
    transformed first on the given rows, the leading axes then pad as they go (the pruned forward transform). Along
    each axis by FFT or by a matrix product from the window to the frequencies (the adjoint of
    :func:`window_irfftn`'s, chosen by the same rule)."""
    ndim = len(lengths)
    windows = tuple(values.shape[-ndim:])
    matmul = [_window_dft.use_matmul(n, w, values.device) for n, w in zip(lengths, windows)]
    if windows == tuple(lengths) and not any(matmul):
        return torch.fft.rfftn(values, dim=tuple(range(-ndim, 0)))
    if matmul[-1]:
        spectrum = _window_dft.forward_last_axis(values, lengths[-1])
    else:
        spectrum = torch.fft.rfft(values, n=lengths[-1], dim=-1)
    for axis in range(ndim - 2, -1, -1):
        if matmul[axis]:
            spectrum = _window_dft.forward_axis(spectrum, lengths[axis], axis - ndim)
        else:
            spectrum = torch.fft.fft(spectrum, n=lengths[axis], dim=axis - ndim)
    return spectrum


def window_sums_adjoint(gradient: torch.Tensor, spatial_shape: Sequence[int], cutoffs: tuple[int, ...]) -> torch.Tensor:
    r"""The transpose of :func:`window_sums`: from ``g(r)`` on lags ``-c .. c`` to
    :math:`t(y) = \sum_r g(r)\, [\,y - n < r \le y\,]` (per axis) on the field's grid, the gradient of
    :math:`\sum_r g(r) S(r)` with respect to the summed values. Per axis an exclusive cumulative sum over the lags
    and two gathers: O(n c) work."""
    ndim = len(cutoffs)
    for axis, (n, cutoff) in enumerate(zip(spatial_shape, cutoffs)):
        dim = gradient.ndim - ndim + axis
        cumulative = torch.nn.functional.pad(torch.cumsum(gradient, dim=dim), _pad_before(gradient.ndim, dim))
        positions = torch.arange(n, device=gradient.device)
        upper = positions.clamp(max=cutoff) + cutoff + 1  # sum over lags max(y - n + 1, -c) .. min(y, c)
        lower = (positions - n + 1).clamp(min=-cutoff) + cutoff
        gradient = cumulative.index_select(dim, upper) - cumulative.index_select(dim, lower)
    return gradient


def _pad_before(ndim: int, dim: int) -> list[int]:
    """``torch.nn.functional.pad`` widths that put one zero before axis ``dim`` of an ``ndim``-axis tensor."""
    widths = [0] * (2 * (ndim - dim))
    widths[-2] = 1
    return widths
