"""Batched FFT 2-point statistics of n-phase fields in 1, 2 and 3 dimensions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats import _offsets
from spatialstats._validation import (
    check_bool,
    check_field_values,
    check_unit_interval,
    require_floating_fields,
    require_tensor,
    resolve_cutoff,
    resolve_pairs,
    resolve_periodic,
)

__all__ = ["two_point_stats"]

_NATIVE_DTYPES = (torch.float32, torch.float64)


def two_point_stats(
    fields: torch.Tensor,
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    mask: torch.Tensor | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    check_values: bool = True,
) -> torch.Tensor:
    r"""2-point statistics of a batch of phase fields.

    For phases :math:`h, h'` and offset :math:`r`,

    .. math::

        f(h, h' \mid r) = \frac{1}{|\Omega_r|} \sum_{x \in \Omega_r} m(h, x)\, m(h', x + r),

    the probability that a vector :math:`r` dropped on the microstructure starts in phase :math:`h` and ends in
    phase :math:`h'`. With periodic boundaries :math:`x + r` wraps around and :math:`\Omega_r` is every voxel; without,
    :math:`\Omega_r` holds the :math:`\prod_d (n_d - |r_d|)` placements whose both ends lie inside the field. With a
    confidence ``mask`` :math:`w`, both fields are weighted by it and :math:`|\Omega_r|` becomes
    :math:`\sum_x w(x) w(x + r)` (PyMKS's definition). Everything is computed with real-to-complex FFTs, one per
    phase, and only for the independent pairs, since :math:`f(h', h \mid r) = f(h, h' \mid -r)`. Boundaries can be
    set per axis (``periodic=(True, True, False)``: a film periodic in-plane only): a periodic axis wraps and counts
    :math:`n_d` placements, a non-periodic one counts :math:`n_d - |r_d|`, and :math:`|\Omega_r|` is the product
    over the axes.

    Args:
        fields: phase probabilities or one-hot indicators ``(batch, phases, *spatial)`` with 1 to 3 spatial
            dimensions. A single channel ``(batch, 1, *spatial)`` is read as the probability of phase 1 of a
            two-phase field (phase 0 being ``1 - p``); its four pairs then come from one autocorrelation, the
            fastest path. Two or more channels take the general path (one FFT per phase, one inverse per pair):
            the path follows from shapes only, never from the data, so for one-hot two-phase data pass the
            phase-1 channel alone (``fields[:, 1:]``) to get the fast path.
        periodic: periodic boundaries (default) or zero-padded, non-periodic ones: a bool for every axis, or one
            bool per spatial axis (PyMKS's former ``periodic_axes``). ``(True,) * d`` and ``(False,) * d`` give
            exactly the results of ``True`` and ``False``.
        cutoff: keep offsets with :math:`|r_d| \le c_d` on every axis, ``2c + 1`` per axis; an int for all axes or
            one int per axis. Periodic axes allow ``c <= (n - 1) // 2``, non-periodic ones ``c <= n - 1``; the
            zero padding is only as large as the cutoff needs. ``None`` keeps every offset: ``n`` per periodic axis
            in ``fftshift`` order (``r = 0`` at index ``n // 2``), ``2n - 1`` per non-periodic axis (``r = 0`` at
            index ``n - 1``); :func:`spatialstats.offset_grid` gives the offset of every index.
        mask: optional confidence in [0, 1], shape ``(*spatial)`` (shared) or ``(batch, *spatial)``; floating,
            integer or bool (as in PyMKS, an integer 0/1 mask gives the float mask's result). Offsets
            where the mask leaves no weight hold 0.
        pairs: optional list of ``(h, h')`` pairs to return instead of the full matrix.
        check_values: check that ``fields`` and ``mask`` are finite and inside [0, 1] and that fields with
            several channels sum to one over the phases within ``max(1e-4, 4 * finfo(dtype).eps)`` (a
            ``(batch, H, W)`` image without its channel axis fails this check quickly). This reads the data (and
            synchronises a CUDA device); switch it off in hot loops once inputs are known to be valid. Shape
            checks always run.

    Returns:
        ``(batch, phases, phases, *offsets)``, or ``(batch, len(pairs), *offsets)`` when ``pairs`` is given, in
        the dtype and on the device of ``fields`` (float16 and bfloat16 are computed in float32).

    Raises:
        TypeError: ``fields`` is not a floating-point tensor, or an argument has the wrong type.
        ValueError: a shape, ``cutoff``, ``pairs`` or value is outside what is described above.

    Example:
        >>> import torch, spatialstats
        >>> labels = torch.tensor([[[0, 1, 1], [0, 0, 1], [1, 0, 0]]])
        >>> stats = spatialstats.two_point_stats(spatialstats.one_hot_from_labels(labels), cutoff=1)
        >>> stats.shape
        torch.Size([1, 2, 2, 3, 3])
        >>> stats[0, 1, 1, 1, 1]  # r = 0: the volume fraction of phase 1
        tensor(0.4444)
        >>> stats[0, :, :, 1, 1].sum()  # the pairs at each offset sum to one
        tensor(1.)
        >>> film = torch.rand(2, 1, 8, 8, 4)  # periodic in-plane, not through the thickness
        >>> spatialstats.two_point_stats(film, periodic=(True, True, False)).shape
        torch.Size([2, 2, 2, 8, 8, 7])
    """
    fields = require_floating_fields(fields, "fields")
    check_values = check_bool(check_values, "check_values")
    spatial_shape = tuple(fields.shape[2:])
    periodic = resolve_periodic(periodic, len(spatial_shape))
    single_channel = fields.shape[1] == 1
    num_phases = 2 if single_channel else fields.shape[1]
    cutoffs = resolve_cutoff(cutoff, spatial_shape, periodic)
    pair_list = resolve_pairs(pairs, num_phases)
    if check_values:
        check_field_values(fields, "fields")
    work = fields if fields.dtype in _NATIVE_DTYPES else fields.float()
    weights = _prepare_mask(mask, fields, check_values)
    if weights is not None:
        weights = weights.to(work.dtype)

    if weights is None and single_channel:
        result = _two_phase_stats(work[:, -1], periodic, cutoffs, pair_list)
    else:
        if single_channel:
            work = torch.cat([1 - work, work], dim=1)
        result = _general_stats(work, periodic, cutoffs, weights, pair_list)
    return result.to(fields.dtype)


def _prepare_mask(mask: object, fields: torch.Tensor, check_values: bool) -> torch.Tensor | None:
    if mask is None:
        return None
    mask = require_tensor(mask, "mask")
    spatial_shape = tuple(fields.shape[2:])
    batch = fields.shape[0]
    if mask.is_complex():
        raise TypeError(f"mask must be a real (floating-point, integer or bool) tensor, got dtype {mask.dtype}")
    if not mask.is_floating_point():  # bool and integer masks, as PyMKS accepts them
        mask = mask.to(fields.dtype)
    if tuple(mask.shape) == spatial_shape:
        mask = mask.unsqueeze(0)
    elif not (mask.ndim == len(spatial_shape) + 1 and tuple(mask.shape[1:]) == spatial_shape and mask.shape[0] in (1, batch)):
        raise ValueError(
            f"mask must have shape (*spatial)={spatial_shape} or (batch, *spatial)={(batch, *spatial_shape)}, "
            f"got shape {tuple(mask.shape)}"
        )
    if mask.device != fields.device:
        raise ValueError(f"mask is on {mask.device} but fields are on {fields.device}")
    if check_values:
        check_unit_interval(mask, "mask")
    return mask


def _spectral_layout(
    spatial_shape: tuple[int, ...],
    cutoffs: tuple[int, ...] | None,
    periodic: tuple[bool, ...],
    dtype: torch.dtype,
    device: torch.device,
) -> tuple[list[int], torch.Tensor, tuple[int, ...]]:
    """FFT lengths, the spectral factors that centre the result, and the window kept per axis."""
    lengths = _offsets.fft_lengths(spatial_shape, cutoffs, periodic)
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    shifts = _offsets.centring_shifts(spatial_shape, cutoffs, periodic)
    factors = _offsets.shift_factors(lengths, shifts, dtype=complex_dtype, device=device)
    return lengths, factors, _offsets.window_lengths(spatial_shape, cutoffs, periodic)


def _centred_autocorrelation(
    values: torch.Tensor, lengths: list[int], factors: torch.Tensor, windows: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Unnormalised autocorrelation of ``values`` on its trailing axes, centred and cropped to ``windows``
    (``factors`` from :func:`_spectral_layout`, possibly scaled, shift it into place), and the spectrum of
    ``values``."""
    dims = tuple(range(-len(lengths), 0))
    spectrum = torch.fft.rfftn(values, s=lengths, dim=dims)
    auto = torch.fft.irfftn(spectrum * (spectrum.conj() * factors), s=lengths, dim=dims)
    return _offsets.crop_centred(auto, windows), spectrum


def _two_phase_stats(
    probability: torch.Tensor,
    periodic: tuple[bool, ...],
    cutoffs: tuple[int, ...] | None,
    pair_list: list[tuple[int, int]] | None,
) -> torch.Tensor:
    """Pairs of a two-phase field from the phase-1 probability ``(batch, *spatial)``.

    With ``m0 = 1 - p`` and ``m1 = p``, every pair follows from the unnormalised autocorrelation ``A`` of ``p``
    and the sums of ``p`` over the start (``S_a``) and end (``S_b``) points of the valid placements:
    ``f11 = A / W``, ``f01 = (S_b - A) / W``, ``f10 = (S_a - A) / W``, ``f00 = 1 - f01 - f10 - f11``.
    Periodic fields have ``S_a = S_b = N v`` (``v`` the volume fraction) and ``W = N``, so every pair is
    ``c + s * A / N`` with constants ``c`` and signs ``s``: one FFT pair and one fused pass write the output.
    With some periodic axes, ``W`` counts ``n_d`` placements along them and ``S`` sums over their whole length.
    """
    requested = pair_list or [(0, 0), (0, 1), (1, 0), (1, 1)]
    spatial_shape = tuple(probability.shape[1:])
    ndim = len(spatial_shape)
    lengths, factors, windows = _spectral_layout(spatial_shape, cutoffs, periodic, probability.dtype, probability.device)
    if all(periodic):
        size = math.prod(spatial_shape)
        auto, spectrum = _centred_autocorrelation(probability, lengths, factors / size, windows)
        # The zero-frequency term is the sum of p: the volume fraction comes for free.
        volume_fraction = spectrum[(slice(None),) + (0,) * ndim].real / size
        result = _periodic_pairs(auto, volume_fraction, requested)
    else:
        auto, _ = _centred_autocorrelation(probability, lengths, factors, windows)
        inverse_counts = 1 / _offsets.valid_placement_counts(
            spatial_shape, cutoffs, dtype=auto.dtype, device=auto.device, periodic=periodic
        )
        f11 = auto * inverse_counts
        # constant along the periodic axes, so the flip below negates r even on a full periodic even axis
        end_sums = _offsets.window_sums(probability, cutoffs, periodic) * inverse_counts
        parts = {(1, 1): f11, (0, 1): end_sums - f11}
        if (1, 0) in requested or (0, 0) in requested:
            parts[(1, 0)] = _offsets.negate_offsets(end_sums, ndim) - f11
        if (0, 0) in requested:
            parts[(0, 0)] = 1 - parts[(0, 1)] - parts[(1, 0)] - f11
        result = torch.stack([parts[pair] for pair in requested], dim=1)
    if pair_list is None:
        result = result.reshape(result.shape[0], 2, 2, *result.shape[2:])
    return result


def _periodic_pairs(auto: torch.Tensor, volume_fraction: torch.Tensor, requested: list[tuple[int, int]]) -> torch.Tensor:
    """The periodic pairs ``c + s * A / N`` from the normalised autocorrelation, stacked on axis 1. Signs and
    constants are built on the device from shapes only (no host-to-device copy); ``[(1, 1)]`` alone is ``A / N``
    itself, without a pass."""
    if requested == [(1, 1)]:
        return auto.unsqueeze(1)
    ndim = auto.ndim - 1
    signs = torch.ones(len(requested), dtype=auto.dtype, device=auto.device)
    constants = torch.zeros(auto.shape[0], len(requested), dtype=auto.dtype, device=auto.device)
    for index, (h, k) in enumerate(requested):
        if h != k:
            signs[index] = -1.0
            constants[:, index] = volume_fraction
        elif h == 0:
            constants[:, index] = 1 - 2 * volume_fraction
    return torch.addcmul(
        constants.reshape(*constants.shape, *([1] * ndim)), auto.unsqueeze(1), signs.reshape(1, -1, *([1] * ndim))
    )


def _general_stats(
    fields: torch.Tensor,
    periodic: tuple[bool, ...],
    cutoffs: tuple[int, ...] | None,
    weights: torch.Tensor | None,
    pair_list: list[tuple[int, int]] | None,
) -> torch.Tensor:
    batch, num_phases = fields.shape[:2]
    spatial_shape = tuple(fields.shape[2:])
    ndim = len(spatial_shape)
    dims = tuple(range(-ndim, 0))
    lengths, factors, windows = _spectral_layout(spatial_shape, cutoffs, periodic, fields.dtype, fields.device)

    requested = pair_list or [(h, k) for h in range(num_phases) for k in range(num_phases)]
    # f(h', h | r) = f(h, h' | -r): a flip of a symmetric window. The full periodic layout of an even axis is not
    # symmetric, so there the swapped pairs are transformed directly.
    symmetric_window = _offsets.symmetric_window(spatial_shape, cutoffs, periodic)
    computed = sorted({(min(h, k), max(h, k)) if symmetric_window else (h, k) for h, k in requested})
    phases = sorted({phase for pair in computed for phase in pair})

    if weights is not None:
        fields = fields * weights.unsqueeze(1)
    if all(periodic) and weights is None:  # a constant 1/N: folded into the spectral factors
        factors, scale = factors / math.prod(spatial_shape), None
    else:
        scale = _placement_reciprocals(spatial_shape, lengths, factors, windows, cutoffs, periodic, weights)
    spectra = torch.fft.rfftn(fields[:, phases] if len(phases) < num_phases else fields, s=lengths, dim=dims)
    position = {phase: i for i, phase in enumerate(phases)}
    shifted = spectra * factors.unsqueeze(0)
    correlations = {}
    # One inverse transform per pair: MKL's batched c2r slows down sharply on very large batches.
    for h, k in computed:
        cross = spectra[:, position[h]].conj() * shifted[:, position[k]]
        correlation = _offsets.crop_centred(torch.fft.irfftn(cross, s=lengths, dim=dims), windows)
        correlations[(h, k)] = correlation if scale is None else correlation * scale
    parts = [
        correlations[(h, k)] if (h, k) in correlations else _offsets.negate_offsets(correlations[(k, h)], ndim)
        for h, k in requested
    ]
    result = torch.stack(parts, dim=1)
    if pair_list is None:
        result = result.reshape(batch, num_phases, num_phases, *result.shape[2:])
    return result


def _placement_reciprocals(
    spatial_shape: tuple[int, ...],
    lengths: list[int],
    factors: torch.Tensor,
    windows: tuple[int, ...],
    cutoffs: tuple[int, ...] | None,
    periodic: tuple[bool, ...],
    weights: torch.Tensor | None,
) -> torch.Tensor:
    """Per offset, one over the number of valid placements, ``1 / prod(n_d - |r_d|)`` (``n_d`` on a periodic axis),
    or over the mask's weight of placements, ``1 / sum_x w(x) w(x + r)`` (0 where the mask leaves none)."""
    if weights is None:
        return 1 / _offsets.valid_placement_counts(
            spatial_shape, cutoffs, dtype=factors.real.dtype, device=factors.device, periodic=periodic
        )
    weight_sums, _ = _centred_autocorrelation(weights, lengths, factors, windows)
    # FFT round-off leaves ~eps * max where the true weight is 0: treat those offsets as having no placement.
    largest = weight_sums.flatten(1).amax(dim=1).reshape(-1, *([1] * len(spatial_shape)))
    has_weight = weight_sums > 64 * torch.finfo(weight_sums.dtype).eps * largest
    safe = torch.where(has_weight, weight_sums, torch.ones_like(weight_sums))
    return torch.where(has_weight, 1 / safe, torch.zeros_like(safe))
