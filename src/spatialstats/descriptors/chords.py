"""Chord length distributions: exact counts of the maximal runs of each phase along each axis."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats.descriptors._common import binary_labels

__all__ = ["chord_length_distribution"]


def chord_length_distribution(
    fields: torch.Tensor, *, periodic: bool | Sequence[bool] = True, trim_edges: bool = False
) -> torch.Tensor:
    r"""Number of chords of each length, per phase and axis (exact; not differentiable).

    A chord of phase :math:`h` along axis :math:`a` is a maximal run of consecutive voxels of phase :math:`h` on a
    line parallel to :math:`e_a`. If axis :math:`a` is periodic, a run that crosses the border is one chord, and a
    line wholly in phase :math:`h` counts as one chord of length :math:`n_a`. If not, runs end at the border;
    ``trim_edges=True`` drops the runs that touch it (porespy's ``trim_edges``), whose true length is unknown.
    Only axis :math:`a`'s boundary matters for the chords along :math:`e_a`. The
    normalised distribution is ``counts / counts.sum(-1, keepdim=True)``; the mean chord length is
    ``(counts * arange).sum(-1) / counts.sum(-1)``.

    This is a counting descriptor of binary microstructures: no gradient flows through it.

    Args:
        fields: binary ``(batch, phases, *spatial)`` one-hot fields (every value 0 or 1), 1 to 3 spatial
            dimensions; a single channel is the indicator of phase 1 of a two-phase field.
        periodic: periodic boundaries (default) or none, for every axis, or one bool per spatial axis (e.g.
            ``(True, True, False)``: a film periodic in-plane only).
        trim_edges: along the non-periodic axes, leave out the chords that touch the border.

    Returns:
        ``(batch, phases, ndim, max(spatial) + 1)`` int64: ``[b, h, a, l]`` counts the chords of length ``l``
        (index 0 is always 0).

    References:
        Torquato, S. (2002). Random Heterogeneous Materials, Springer, sec. 2.2 (chord-length density function).

    Example:
        >>> import torch, spatialstats as ss
        >>> line = torch.tensor([[[1., 1., 0., 1., 0., 0., 1.]]])
        >>> ss.descriptors.chord_length_distribution(line)[0, :, 0]  # phase 1 wraps: chords of 3 and 1
        tensor([[0, 1, 1, 0, 0, 0, 0, 0],
                [0, 1, 0, 1, 0, 0, 0, 0]])
        >>> ss.descriptors.chord_length_distribution(line, periodic=False)[0, 1, 0]
        tensor([0, 2, 1, 0, 0, 0, 0, 0])
        >>> film = torch.tensor([[[[1., 0., 1.], [1., 1., 1.]]]])  # (batch, 1 channel, 2, 3)
        >>> # phase 1: every chord along the open axis 0 touches the border (trimmed); rows wrap: lengths 2 and 3
        >>> ss.descriptors.chord_length_distribution(film, periodic=(False, True), trim_edges=True)[0, 1]
        tensor([[0, 0, 0, 0],
                [0, 0, 1, 1]])
    """
    labels, axes = binary_labels(fields, periodic)
    if not isinstance(trim_edges, bool):
        raise TypeError(f"trim_edges must be a bool, got {trim_edges!r}")
    phases = max(2, fields.shape[1])
    spatial_shape = tuple(labels.shape[1:])
    size = max(spatial_shape) + 1
    per_axis = [
        torch.stack([_axis_counts(labels, axis, h, wraps, trim_edges, size) for h in range(phases)], dim=1)
        for axis, wraps in enumerate(axes)
    ]
    return torch.stack(per_axis, dim=2)


def _axis_counts(
    labels: torch.Tensor, axis: int, phase: int, periodic: bool, trim_edges: bool, size: int
) -> torch.Tensor:
    """``(batch, size)`` chord counts of one phase along one axis; ``periodic``: whether that axis wraps."""
    batch, n = labels.shape[0], labels.shape[1 + axis]
    inside = (labels.movedim(1 + axis, -1) == phase).reshape(batch, -1, n)
    counts = torch.zeros(batch, size, dtype=torch.long, device=labels.device)
    if periodic:
        full = inside.all(dim=-1)
        counts[:, n] += full.sum(dim=1)
        # Rotate each line to begin at its first voxel outside the phase: no run crosses the border any more.
        first_outside = (~inside).to(torch.uint8).argmax(dim=-1, keepdim=True)
        index = (torch.arange(n, device=labels.device) + first_outside) % n
        inside = inside.gather(-1, index) & ~full.unsqueeze(-1)
    padded = torch.nn.functional.pad(inside.to(torch.uint8), (1, 1))
    starts = (padded[..., 1:-1] == 1) & (padded[..., :-2] == 0)
    ends = (padded[..., 1:-1] == 1) & (padded[..., 2:] == 0)
    # nonzero lists positions in row-major order: the k-th start and the k-th end of a line belong to one run
    start_index = starts.nonzero()
    end_position = ends.nonzero()[:, -1]
    lengths = end_position - start_index[:, -1] + 1
    sample = start_index[:, 0]
    if trim_edges and not periodic:
        keep = (start_index[:, -1] > 0) & (end_position < n - 1)
        lengths, sample = lengths[keep], sample[keep]
    counts.view(-1).index_add_(0, sample * size + lengths, torch.ones_like(lengths))
    return counts
