"""Batched FFT 2-point statistics of n-phase fields in 1, 2 and 3 dimensions."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats import _offsets
from spatialstats._validation import (
    check_unit_interval,
    require_floating_fields,
    require_tensor,
    resolve_cutoff,
    resolve_pairs,
)

__all__ = ["two_point_stats"]

_NATIVE_DTYPES = (torch.float32, torch.float64)


def two_point_stats(
    fields: torch.Tensor,
    *,
    periodic: bool = True,
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
    phase, and only for the independent pairs, since :math:`f(h', h \mid r) = f(h, h' \mid -r)`.

    Args:
        fields: phase probabilities or one-hot indicators ``(batch, phases, *spatial)`` with 1 to 3 spatial
            dimensions. A single channel ``(batch, 1, *spatial)`` is read as the probability of phase 1 of a
            two-phase field (phase 0 being ``1 - p``); its four pairs then come from one autocorrelation, the
            fastest path.
        periodic: periodic boundaries (default) or zero-padded, non-periodic ones.
        cutoff: keep offsets with :math:`|r_d| \le c_d` on every axis, ``2c + 1`` per axis; an int for all axes or
            one int per axis. Periodic fields allow ``c <= (n - 1) // 2``, non-periodic ones ``c <= n - 1``; the
            zero padding is only as large as the cutoff needs. ``None`` keeps every offset: ``n`` per axis in
            ``fftshift`` order when periodic (``r = 0`` at index ``n // 2``), ``2n - 1`` when not (``r = 0`` at
            index ``n - 1``).
        mask: optional confidence in [0, 1], shape ``(*spatial)`` (shared) or ``(batch, *spatial)``. Offsets
            where the mask leaves no weight hold 0.
        pairs: optional list of ``(h, h')`` pairs to return instead of the full matrix.
        check_values: check that ``fields`` and ``mask`` are finite and inside [0, 1]. This reads the data (and
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
    """
    fields = require_floating_fields(fields, "fields")
    if not isinstance(periodic, bool):
        raise TypeError(f"periodic must be a bool, got {periodic!r}")
    spatial_shape = tuple(fields.shape[2:])
    single_channel = fields.shape[1] == 1
    num_phases = 2 if single_channel else fields.shape[1]
    cutoffs = resolve_cutoff(cutoff, spatial_shape, periodic)
    pair_list = resolve_pairs(pairs, num_phases)
    if check_values:
        check_unit_interval(fields, "fields")
    work = fields if fields.dtype in _NATIVE_DTYPES else fields.float()
    weights = _prepare_mask(mask, fields, check_values)
    if weights is not None:
        weights = weights.to(work.dtype)

    if single_channel and weights is None:
        full = _two_phase_stats(work[:, 0], periodic, cutoffs)
        if pair_list is None:
            result = full
        else:
            result = torch.stack([full[:, h, k] for h, k in pair_list], dim=1)
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
    if mask.dtype == torch.bool:
        mask = mask.to(fields.dtype)
    if not mask.is_floating_point():
        raise TypeError(f"mask must be a floating-point or bool tensor, got dtype {mask.dtype}")
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


def _two_phase_stats(probability: torch.Tensor, periodic: bool, cutoffs: tuple[int, ...] | None) -> torch.Tensor:
    """All four pairs of a two-phase field from the phase-1 probability ``(batch, *spatial)``.

    With ``m0 = 1 - p`` and ``m1 = p``, every pair follows from the unnormalised autocorrelation ``A`` of ``p``
    and the sums of ``p`` over the start (``S_a``) and end (``S_b``) points of the valid placements:
    ``f11 = A / W``, ``f01 = (S_b - A) / W``, ``f10 = (S_a - A) / W``, ``f00 = 1 - f01 - f10 - f11``.
    Periodic fields have ``S_a = S_b = N v`` (``v`` the volume fraction) and ``W = N``.
    """
    spatial_shape = tuple(probability.shape[1:])
    ndim = len(spatial_shape)
    dims = tuple(range(-ndim, 0))
    lengths = _offsets.fft_lengths(spatial_shape, cutoffs, periodic)
    spectrum = torch.fft.rfftn(probability, s=lengths, dim=dims)
    power = spectrum.real.square() + spectrum.imag.square()
    auto = _offsets.crop_centred(torch.fft.irfftn(power, s=lengths, dim=dims), lengths, cutoffs)
    if periodic:
        f11 = auto / math.prod(spatial_shape)
        volume_fraction = probability.mean(dim=dims).reshape(-1, *([1] * ndim))
        f01 = volume_fraction - f11
        f10 = f01
    else:
        assert cutoffs is not None
        counts = _offsets.valid_placement_counts(spatial_shape, cutoffs, dtype=auto.dtype, device=auto.device)
        end_sums = _offsets.window_sums(probability, cutoffs)
        start_sums = _offsets.negate_offsets(end_sums, spatial_shape, cutoffs)
        f11 = auto / counts
        f01 = (end_sums - auto) / counts
        f10 = (start_sums - auto) / counts
    f00 = 1 - f01 - f10 - f11
    stacked = torch.stack([f00, f01, f10, f11], dim=1)
    return stacked.reshape(stacked.shape[0], 2, 2, *stacked.shape[2:])


def _general_stats(
    fields: torch.Tensor,
    periodic: bool,
    cutoffs: tuple[int, ...] | None,
    weights: torch.Tensor | None,
    pair_list: list[tuple[int, int]] | None,
) -> torch.Tensor:
    batch, num_phases = fields.shape[:2]
    spatial_shape = tuple(fields.shape[2:])
    ndim = len(spatial_shape)
    dims = tuple(range(-ndim, 0))
    lengths = _offsets.fft_lengths(spatial_shape, cutoffs, periodic)

    requested = pair_list or [(h, k) for h in range(num_phases) for k in range(num_phases)]
    independent = sorted({(min(h, k), max(h, k)) for h, k in requested})
    phases = sorted({phase for pair in independent for phase in pair})
    position = {phase: i for i, phase in enumerate(phases)}

    if weights is not None:
        fields = fields * weights.unsqueeze(1)
    if len(phases) < num_phases:
        fields = fields[:, phases]
    spectra = torch.fft.rfftn(fields, s=lengths, dim=dims)
    first = torch.tensor([position[h] for h, _ in independent], device=fields.device)
    second = torch.tensor([position[k] for _, k in independent], device=fields.device)
    cross = spectra.index_select(1, first).conj() * spectra.index_select(1, second)
    correlation = _offsets.crop_centred(torch.fft.irfftn(cross, s=lengths, dim=dims), lengths, cutoffs)
    correlation = _normalise(correlation, spatial_shape, lengths, cutoffs, periodic, weights)

    slot = {pair: i for i, pair in enumerate(independent)}
    to_negate = sorted({slot[(k, h)] for h, k in requested if h > k})
    negated = {}
    if to_negate:
        flipped = _offsets.negate_offsets(correlation[:, to_negate], spatial_shape, cutoffs)
        negated = {i: flipped[:, j] for j, i in enumerate(to_negate)}
    parts = [correlation[:, slot[(h, k)]] if h <= k else negated[slot[(k, h)]] for h, k in requested]
    result = torch.stack(parts, dim=1)
    if pair_list is None:
        result = result.reshape(batch, num_phases, num_phases, *result.shape[2:])
    return result


def _normalise(
    correlation: torch.Tensor,
    spatial_shape: tuple[int, ...],
    lengths: list[int],
    cutoffs: tuple[int, ...] | None,
    periodic: bool,
    weights: torch.Tensor | None,
) -> torch.Tensor:
    """Divide unnormalised correlations ``(batch, pairs, *offsets)`` by the number (or weight) of placements."""
    if weights is None:
        if periodic:
            return correlation / math.prod(spatial_shape)
        assert cutoffs is not None
        counts = _offsets.valid_placement_counts(
            spatial_shape, cutoffs, dtype=correlation.dtype, device=correlation.device
        )
        return correlation / counts
    dims = tuple(range(-len(spatial_shape), 0))
    spectrum = torch.fft.rfftn(weights, s=lengths, dim=dims)
    power = spectrum.real.square() + spectrum.imag.square()
    weight_sums = _offsets.crop_centred(torch.fft.irfftn(power, s=lengths, dim=dims), lengths, cutoffs)
    # FFT round-off leaves ~eps * max where the true weight is 0: treat those offsets as having no placement.
    largest = weight_sums.flatten(1).amax(dim=1).reshape(-1, *([1] * len(spatial_shape)))
    has_weight = weight_sums > 64 * torch.finfo(weight_sums.dtype).eps * largest
    safe = torch.where(has_weight, weight_sums, torch.ones_like(weight_sums)).unsqueeze(1)
    return torch.where(has_weight.unsqueeze(1), correlation / safe, torch.zeros_like(correlation))
