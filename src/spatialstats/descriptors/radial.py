"""Radial (direction-averaged) and directional (per-axis) profiles of the 2-point statistics."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats.offsets import offset_grid
from spatialstats._validation import require_floating_fields, resolve_cutoff
from spatialstats.descriptors._common import check_periodic
from spatialstats.statistics import two_point_stats

__all__ = ["radial_two_point_stats", "directional_two_point_stats"]


def radial_two_point_stats(
    fields: torch.Tensor,
    *,
    bins: int | Sequence[float] | torch.Tensor | None = None,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    check_values: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""2-point statistics averaged over offset directions into radial bins.

    .. math::

        \bar f(h, h' \mid k) = \frac{1}{|B_k|} \sum_{r \in B_k} f(h, h' \mid r), \qquad
        B_k = \{ r : e_k \le |r| < e_{k+1} \},

    over the offsets :math:`r` of :func:`spatialstats.two_point_stats`'s window (same ``periodic``, ``cutoff`` and
    ``pairs``). With ``periodic=False``, ``cutoff=None`` and ``bins`` an int this is exactly porespy's
    ``metrics.two_point_correlation`` (its ``probability_scaled``): the unbiased non-periodic estimate averaged
    over every lag :math:`|r_d| \le n_d - 1` in bins :math:`[e_k, e_{k+1})`, returned at the bin centres. Linear in
    the statistics, so differentiable.

    Args:
        fields: ``(batch, phases, *spatial)`` probabilities, as for :func:`spatialstats.two_point_stats`.
        bins: ``None`` for unit-width bins ``[0, 1), [1, 2), ...``; an int ``k`` for porespy's rule (``r_max =
            min(spatial) // 2`` or the smallest cutoff, width ``max(1, ceil(r_max / k))``, edges ``0, w, 2w, ...``
            up to ``r_max + w``); or a 1-D ascending sequence of edges ``e_0 >= 0``, with every bin starting at or
            below the largest offset length in the window.
        periodic, cutoff, pairs, check_values: as for :func:`spatialstats.two_point_stats`.

    Returns:
        ``(values, radii)``: ``values`` is ``(batch, phases, phases, bins)`` (or ``(batch, len(pairs), bins)``),
        0 in a bin that holds no offset; ``radii`` holds the bin centres ``(e_k + e_{k+1}) / 2``.

    References:
        Torquato, S. (2002). Random Heterogeneous Materials, Springer, ch. 2. Gostick, J. et al. (2019). PoreSpy:
        A Python toolkit for quantitative analysis of porous media images. JOSS 4(37), 1296.

    Example:
        >>> import torch, spatialstats as ss
        >>> field = torch.tensor([[[[1., 0.], [0., 1.]]]])  # a 2x2 checkerboard
        >>> values, radii = ss.descriptors.radial_two_point_stats(field, bins=[0.0, 0.5, 1.2, 1.5])
        >>> values[0, 1, 1], radii  # |r| = 0: 1/2; |r| = 1: no pair; |r| = sqrt(2): 1/2
        (tensor([0.5000, 0.0000, 0.5000]), tensor([0.2500, 0.8500, 1.3500]))
    """
    stats = two_point_stats(fields, periodic=periodic, cutoff=cutoff, pairs=pairs, check_values=check_values)
    spatial_shape = tuple(fields.shape[2:])
    cutoffs = resolve_cutoff(cutoff, spatial_shape, periodic)
    # The bin layout is built on the CPU (no device synchronisation), then moved once.
    distances = offset_grid(spatial_shape, periodic=periodic, cutoff=cutoffs).to(torch.float64).norm(dim=0).flatten()
    edges = _resolve_edges(bins, spatial_shape, cutoffs, float(distances.max()))
    # membership[k, j]: offset j falls in bin k; the average is one matrix product over the flattened window
    membership = (distances >= edges[:-1, None]) & (distances < edges[1:, None])
    counts = membership.sum(dim=1, keepdim=True)
    averaging = (membership.double() / counts.clamp(min=1)).to(dtype=stats.dtype, device=stats.device)
    flat = stats.flatten(start_dim=stats.ndim - len(spatial_shape))
    values = flat @ averaging.T
    return values, ((edges[1:] + edges[:-1]) / 2).to(dtype=stats.dtype, device=stats.device)


def _resolve_edges(
    bins: object, spatial_shape: tuple[int, ...], cutoffs: tuple[int, ...] | None, largest: float
) -> torch.Tensor:
    """Bin edges as a float64 CPU tensor."""
    if bins is None or (isinstance(bins, int) and not isinstance(bins, bool)):
        r_max = min(spatial_shape) // 2 if cutoffs is None else min(min(cutoffs), min(spatial_shape) // 2)
        if bins is not None and bins < 1:
            raise ValueError(f"bins must be >= 1 when given as a number of bins, got {bins}")
        width = 1 if bins is None else max(1, math.ceil(r_max / bins))
        return torch.arange(0, r_max + width, width, dtype=torch.float64)
    if isinstance(bins, (bool, str)) or not isinstance(bins, (Sequence, torch.Tensor)):
        raise TypeError(f"bins must be None, an int or a 1-D sequence of bin edges, got {bins!r}")
    edges = torch.as_tensor(bins, dtype=torch.float64).cpu()
    if edges.ndim != 1 or edges.numel() < 2 or not bool((edges[1:] > edges[:-1]).all()):
        raise ValueError(f"bins must be at least two strictly increasing edges, got {bins!r}")
    if float(edges[0]) < 0 or float(edges[-2]) > largest:
        raise ValueError(
            f"bins must start at >= 0 and every bin must start at or below {largest:.6g} (the longest offset in "
            f"the window), got edges {edges.tolist()}"
        )
    return edges


def directional_two_point_stats(
    fields: torch.Tensor,
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    check_values: bool = True,
) -> torch.Tensor:
    r"""2-point statistics along each axis: :math:`f(h, h' \mid r e_a)` for lags ``r = -c .. c``.

    Each line along axis :math:`a` is a 1-D field; the statistics of all lines are averaged (all lines have the
    same number of valid placements, so this is the exact value of the definition on the whole field). Costs 1-D
    FFTs only, much less than the full window of :func:`spatialstats.two_point_stats`. With one ``periodic`` flag
    per axis, the lines along axis :math:`a` take axis :math:`a`'s boundary.

    Args:
        fields: ``(batch, phases, *spatial)`` probabilities, as for :func:`spatialstats.two_point_stats`.
        cutoff: the largest lag ``c`` (one int for all axes); ``None`` gives the largest every axis allows (the
            smallest of ``(n - 1) // 2`` over periodic axes and ``n - 1`` over non-periodic ones).
        periodic, pairs, check_values: as for :func:`spatialstats.two_point_stats`.

    Returns:
        ``(batch, phases, phases, ndim, 2c + 1)`` (or ``(batch, len(pairs), ndim, 2c + 1)``), lag 0 at index ``c``.

    Example:
        >>> import torch, spatialstats as ss
        >>> stripes = torch.tensor([[[[1., 0., 1., 0.]] * 4]])  # 4x4, columns alternate
        >>> profile = ss.descriptors.directional_two_point_stats(stripes, cutoff=1)
        >>> profile[0, 1, 1]  # along axis 0 the phase persists, along axis 1 it alternates
        tensor([[0.5000, 0.5000, 0.5000],
                [0.0000, 0.5000, 0.0000]])
    """
    fields = require_floating_fields(fields, "fields")
    flags = check_periodic(periodic, fields.ndim - 2)
    spatial_shape = tuple(fields.shape[2:])
    if cutoff is None:
        cutoff = min((n - 1) // 2 if axis_periodic else n - 1 for n, axis_periodic in zip(spatial_shape, flags))
    if isinstance(cutoff, bool) or not isinstance(cutoff, int):
        raise TypeError(f"cutoff must be an int or None, got {cutoff!r}")
    resolve_cutoff(cutoff, spatial_shape, flags)
    ndim = len(spatial_shape)
    profiles = []
    for axis in range(ndim):
        lines = fields.movedim(2 + axis, -1)
        lines = lines.movedim(1, -2).reshape(-1, fields.shape[1], spatial_shape[axis])
        stats = two_point_stats(lines, periodic=flags[axis], cutoff=cutoff, pairs=pairs, check_values=check_values)
        profiles.append(stats.reshape(fields.shape[0], -1, *stats.shape[1:]).mean(dim=1))
    return torch.stack(profiles, dim=-2)
