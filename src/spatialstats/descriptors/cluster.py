"""Connected components (per-axis periodic, torch only) and the 2-point cluster function C2."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch

from spatialstats._components import component_roots
from spatialstats import _offsets
from spatialstats._validation import resolve_cutoff
from spatialstats.descriptors._common import binary_labels
from spatialstats.offsets import offset_axes
from spatialstats.statistics import two_point_stats

__all__ = ["connected_components", "cluster_function"]

_CHUNK_VOXELS = 2**24  # cluster indicators transformed at once: ~128 MiB of float64


def connected_components(fields: torch.Tensor, *, periodic: bool | Sequence[bool] = True) -> torch.Tensor:
    r"""Label the clusters of every phase: face-connected sets of voxels of one phase (exact; not differentiable).

    Neighbours share a face (4 in 2D, 6 in 3D); along a periodic axis the opposite faces of the field touch.
    Computed in torch on the field's device by a vectorised union-find (shared with
    :func:`spatialstats.reconstruction.morphology`): every face between two voxels of one phase hooks the larger
    of their roots onto the smaller, and pointer jumping compresses the paths, until every face joins one root.

    Args:
        fields: binary ``(batch, phases, *spatial)`` one-hot fields (a single channel is phase 1 of two).
        periodic: periodic boundaries (default) or none, for every axis, or one bool per spatial axis (e.g.
            ``(True, True, False)``: clusters connect across the in-plane borders of a film only).

    Returns:
        ``(batch, *spatial)`` int64: two voxels hold the same value exactly when they lie in the same cluster; the
        value is the smallest flat index (within the sample) of a voxel of that cluster.

    Example:
        >>> import torch, spatialstats as ss
        >>> line = torch.tensor([[[1., 1., 0., 1., 0., 0., 1.]]])
        >>> ss.descriptors.connected_components(line)[0]  # the last voxel joins the first cluster across the border
        tensor([0, 0, 2, 3, 4, 4, 0])
        >>> ss.descriptors.connected_components(line, periodic=False)[0]
        tensor([0, 0, 2, 3, 4, 4, 6])
        >>> film = torch.tensor([[[[1., 0., 1.], [0., 0., 0.], [1., 0., 0.]]]])  # (batch, 1 channel, 3, 3)
        >>> ss.descriptors.connected_components(film, periodic=(False, True))[0]  # rows wrap, columns do not
        tensor([[0, 1, 0],
                [1, 1, 1],
                [6, 1, 1]])
    """
    labels, axes = binary_labels(fields, periodic)
    return component_roots(labels, axes)


def cluster_function(
    fields: torch.Tensor,
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    method: str = "auto",
) -> torch.Tensor:
    r"""2-point cluster function :math:`C_2(h \mid r)` (exact; not differentiable).

    .. math::

        C_2(h \mid r) = \frac{1}{|\Omega_r|} \sum_{x \in \Omega_r} \sum_{k \in K_h} \chi_k(x)\, \chi_k(x + r),

    the probability that :math:`x` and :math:`x + r` lie in the same cluster of phase :math:`h` (:math:`K_h` the
    clusters of :func:`connected_components`, :math:`\chi_k` their indicators), with the offsets, normalisation
    and ``cutoff`` of :func:`spatialstats.two_point_stats`. :math:`C_2 \le S_2 = f(h, h \mid r)`, with equality where
    every pair of phase-:math:`h` voxels is connected, and :math:`C_2(h \mid 0)` is the volume fraction.

    Two exact methods: ``"fft"`` sums the clusters' autocorrelations (one float64 FFT per cluster, rounded to whole
    pair counts), costing :math:`O(K N \log N)` for :math:`K` clusters; ``"direct"`` compares the cluster label of
    every voxel with that of the voxel :math:`r` away, :math:`O(N)` per offset in the window. ``"auto"`` picks the
    cheaper one from :math:`K` and the window size.

    Args:
        fields: binary ``(batch, phases, *spatial)`` one-hot fields (a single channel is phase 1 of two).
        periodic: periodic boundaries (default; clusters connect across the border and offsets wrap) or none, for
            every axis, or one bool per spatial axis (e.g. ``(True, True, False)``), as for
            :func:`spatialstats.two_point_stats`.
        cutoff: as for :func:`spatialstats.two_point_stats`: per axis at most ``(n - 1) // 2`` on a periodic axis and
            ``n - 1`` on a non-periodic one; ``None`` gives ``n`` lags (``fftshift`` order) on a periodic axis and
            ``2n - 1`` on a non-periodic one.
        method: ``"auto"`` (default), ``"fft"`` or ``"direct"``; all give the same values.

    Returns:
        ``(batch, phases, *offsets)`` in the dtype of ``fields`` (float16/bfloat16 as float32) and the offset
        layout of :func:`spatialstats.two_point_stats`.

    References:
        Torquato, S., Beasley, J. D. and Chiew, Y. C. (1988). Two-point cluster function for continuum percolation.
        J. Chem. Phys. 88, 6540. Jiao, Y., Stillinger, F. H. and Torquato, S. (2009). A superior descriptor of
        random textures and its predictive capacity. PNAS 106, 17634.

    Example:
        >>> import torch, spatialstats as ss
        >>> line = torch.tensor([[[1., 1., 0., 0., 1., 1., 0., 0.]]])  # two clusters of phase 1
        >>> ss.descriptors.cluster_function(line, cutoff=3)[0, 1]
        tensor([0.0000, 0.0000, 0.2500, 0.5000, 0.2500, 0.0000, 0.0000])
        >>> ss.two_point_stats(line, cutoff=3)[0, 1, 1]  # S2 also counts pairs in different clusters
        tensor([0.2500, 0.0000, 0.2500, 0.5000, 0.2500, 0.0000, 0.2500])
    """
    labels, axes = binary_labels(fields, periodic)
    spatial_shape = tuple(labels.shape[1:])
    lag_ranges = _lag_ranges(spatial_shape, cutoff, axes)
    if method not in _METHODS:
        raise ValueError(f"method must be one of {_METHODS}, got {method!r}")
    phases = max(2, fields.shape[1])
    ids = component_roots(labels, axes)
    out_dtype = fields.dtype if fields.dtype in (torch.float32, torch.float64) else torch.float32
    if method == "auto":
        clusters = sum(len(torch.unique(sample)) for sample in ids)
        window = math.prod(len(lags) for lags in lag_ranges)
        method = "direct" if len(ids) * window <= _DIRECT_PER_CLUSTER * clusters else "fft"
    # start points of each offset: n_d on a periodic axis, n_d - |r_d| on a non-periodic one (once for the batch)
    placements = _offsets.valid_placement_counts(
        spatial_shape, resolve_cutoff(cutoff, spatial_shape, axes), dtype=torch.float64, device=ids.device, periodic=axes
    )
    if method == "direct":
        return _direct_cluster_function(ids, labels, phases, axes, lag_ranges, placements).to(out_dtype)
    samples = [
        _sample_cluster_function(ids[b], labels[b], phases, axes, cutoff, placements) for b in range(len(ids))
    ]
    return torch.stack(samples).to(out_dtype)


_METHODS = ("auto", "fft", "direct")
_DIRECT_PER_CLUSTER = 8  # offsets compared directly in the time of one cluster's FFT (measured: 128x128, CPU)


def _lag_ranges(
    spatial_shape: tuple[int, ...], cutoff: int | Sequence[int] | None, axes: tuple[bool, ...]
) -> list[range]:
    """Per axis, the lags of the output layout of :func:`spatialstats.two_point_stats` (:func:`offset_axes`, which
    also checks ``cutoff`` against each axis' limit)."""
    return [range(int(lags[0]), int(lags[-1]) + 1) for lags in offset_axes(spatial_shape, periodic=axes, cutoff=cutoff)]


def _direct_cluster_function(
    ids: torch.Tensor, labels: torch.Tensor, phases: int, axes: tuple[bool, ...], lag_ranges: list[range],
    placements: torch.Tensor,
) -> torch.Tensor:
    """``(batch, phases, *offsets)``: count the start voxels whose end voxel ``r`` away has their cluster label.

    The labels are padded once (wrapped along the periodic axes, with -1, which matches nothing, along the others);
    a loop runs over the lags of the leading axes, and all lags of the last axis are compared at once through
    ``unfold``.
    """
    batch, spatial_shape = ids.shape[0], tuple(ids.shape[1:])
    padded = _pad_labels(ids, lag_ranges, axes)
    one_hot = torch.nn.functional.one_hot(labels, phases).movedim(-1, 1).to(torch.float64)
    one_hot = one_hot.reshape(batch, phases, -1, spatial_shape[-1])
    leading = list(itertools.product(*lag_ranges[:-1]))
    counts = one_hot.new_zeros(batch, phases, len(leading), len(lag_ranges[-1]))
    for index, offset in enumerate(leading):
        ends = padded
        for dim, (r, lags, n) in enumerate(zip(offset, lag_ranges, spatial_shape), start=1):
            ends = ends.narrow(dim, r - lags[0], n)
        windows = ends.unfold(-1, spatial_shape[-1], 1)  # (batch, *leading, last lags, n_last)
        same = (windows == ids.unsqueeze(-2)).reshape(batch, -1, len(lag_ranges[-1]), spatial_shape[-1])
        counts[:, :, index] = torch.einsum("bpmn,bmrn->bpr", one_hot, same.to(torch.float64))
    counts = counts.reshape(batch, phases, *(len(lags) for lags in lag_ranges))
    return counts / placements


def _pad_labels(ids: torch.Tensor, lag_ranges: list[range], axes: tuple[bool, ...]) -> torch.Tensor:
    """Extend each spatial axis by ``-lags[0]`` before and ``lags[-1]`` after: wrapped if it is periodic, else -1."""
    for dim, (lags, wraps) in enumerate(zip(lag_ranges, axes), start=1):
        n, before, after = ids.shape[dim], -lags[0], lags[-1]
        if wraps:
            parts = [ids.narrow(dim, n - before, before), ids, ids.narrow(dim, 0, after)]
        else:
            shape = list(ids.shape)
            parts = []
            for width, part in ((before, None), (0, ids), (after, None)):
                shape[dim] = width
                parts.append(ids if part is not None else ids.new_full(shape, -1))
        ids = torch.cat(parts, dim=dim)
    return ids


def _sample_cluster_function(
    ids: torch.Tensor,
    labels: torch.Tensor,
    phases: int,
    axes: tuple[bool, ...],
    cutoff: int | Sequence[int] | None,
    placements: torch.Tensor,
) -> torch.Tensor:
    """``(phases, *offsets)`` for one sample: the cluster autocorrelations, in chunks, summed per phase."""
    unique, inverse = torch.unique(ids, return_inverse=True)
    cluster_phase = labels.flatten()[unique]
    chunk = max(1, _CHUNK_VOXELS // ids.numel())
    periodic = axes[0] if len(set(axes)) == 1 else axes  # a per-axis tuple only where the axes differ
    total = None
    for first in range(0, len(unique), chunk):
        members = torch.arange(first, min(first + chunk, len(unique)), device=ids.device)
        indicators = (inverse.unsqueeze(0) == members.reshape(-1, *([1] * ids.ndim))).double().unsqueeze(0)
        if len(members) == 1:  # one channel would be read as phase 1 of a two-phase field: add an empty one
            indicators = torch.cat([indicators, torch.zeros_like(indicators)], dim=1)
        pairs = [(k, k) for k in range(len(members))]
        autocorrelations = two_point_stats(
            indicators, periodic=periodic, cutoff=cutoff, pairs=pairs, check_values=False
        )[0]
        if total is None:
            total = autocorrelations.new_zeros(phases, *autocorrelations.shape[1:])
        total.index_add_(0, cluster_phase[members], autocorrelations)
    assert total is not None
    # Every value is a whole number of voxel pairs over the number of placements: rounding removes FFT noise.
    return (torch.round(total * placements) + 0.0) / placements  # + 0.0 turns a rounded -0.0 into 0.0
