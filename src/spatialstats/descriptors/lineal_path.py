"""Lineal path function: the probability that a whole segment lies in one phase."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats.descriptors._common import check_length, check_periodic, prepare_fields

__all__ = ["lineal_path"]


def lineal_path(
    fields: torch.Tensor, *, max_length: int, periodic: bool | Sequence[bool] = True, check_values: bool = True
) -> torch.Tensor:
    r"""Lineal path function along each axis, for lengths ``r = 0 .. max_length``.

    .. math::

        L(h \mid r e_a) = \frac{1}{|\Omega_{r,a}|} \sum_{x \in \Omega_{r,a}} \prod_{k=0}^{r} m(h, x + k e_a),

    the probability that the segment :math:`x, x + e_a, \dots, x + r e_a` lies wholly in phase :math:`h`
    (:math:`r = 0` gives the volume fraction). For binary fields the product of indicators is exact; for
    probabilities it is the differentiable relaxation that treats voxels as independent. Along a periodic axis the
    segment wraps around and the average runs over every voxel; along a non-periodic one it runs over the
    :math:`n_a - r` start points whose segment stays inside the field. Only axis :math:`a`'s boundary matters for
    the segments along :math:`e_a`. The products are built by one running product per axis (a loop over
    ``r``, never over voxels): :math:`O(N \cdot \text{max\_length})` work.

    Args:
        fields: ``(batch, phases, *spatial)`` probabilities, 1 to 3 spatial dimensions; a single channel is the
            probability of phase 1 of a two-phase field.
        max_length: the largest segment length ``r``, ``0 <= max_length <= min(spatial) - 1``.
        periodic: periodic boundaries (default) or none, for every axis, or one bool per spatial axis (e.g.
            ``(True, True, False)``: a film periodic in-plane only).
        check_values: check that ``fields`` is finite and inside [0, 1] (reads the data).

    Returns:
        ``(batch, phases, ndim, max_length + 1)``: ``[..., a, r]`` is :math:`L(h \mid r e_a)`; two phases for a
        single channel.

    References:
        Lu, B. and Torquato, S. (1992). Lineal-path function for random heterogeneous materials. Phys. Rev. A 45,
        922. Torquato, S. (2002). Random Heterogeneous Materials, Springer, ch. 2.

    Example:
        >>> import torch, spatialstats as ss
        >>> line = torch.tensor([[[1., 1., 1., 0., 0., 1.]]])  # (batch, 1 channel, 6 voxels)
        >>> ss.descriptors.lineal_path(line, max_length=3)[0, 1, 0]  # phase 1, periodic: a run of 4 (wrapping)
        tensor([0.6667, 0.5000, 0.3333, 0.1667])
        >>> ss.descriptors.lineal_path(line, max_length=3, periodic=False)[0, 1, 0]
        tensor([0.6667, 0.4000, 0.2500, 0.0000])
        >>> field = torch.tensor([[[[1., 1., 0.], [1., 0., 1.]]]])  # (batch, 1 channel, 2, 3)
        >>> ss.descriptors.lineal_path(field, max_length=1, periodic=(False, True))[0, 1, :, 1]  # rows wrap
        tensor([0.3333, 0.3333])
        >>> ss.descriptors.lineal_path(field, max_length=1, periodic=False)[0, 1, :, 1]  # 1 of 4 pairs in a row
        tensor([0.3333, 0.2500])
    """
    work = prepare_fields(fields, periodic, check_values)
    spatial_shape = tuple(work.shape[2:])
    check_length(max_length, "max_length", spatial_shape)
    axes = check_periodic(periodic, len(spatial_shape))
    first_spatial = work.ndim - len(spatial_shape)
    per_axis = [
        _axis_lineal_path(work, first_spatial + axis, max_length, wraps) for axis, wraps in enumerate(axes)
    ]
    return torch.stack(per_axis, dim=2).to(fields.dtype)


def _axis_lineal_path(work: torch.Tensor, dim: int, max_length: int, periodic: bool) -> torch.Tensor:
    """``(batch, phases, max_length + 1)`` along one axis by a running product of shifted fields."""
    n = work.shape[dim]
    mean_dims = tuple(range(2, work.ndim))
    # periodic: extend the axis by its first max_length voxels once, so that every shift is a view, not a copy
    ahead = torch.cat([work, work.narrow(dim, 0, max_length)], dim=dim) if periodic and max_length else work
    running = work
    values = [work.mean(dim=mean_dims)]
    for r in range(1, max_length + 1):
        if periodic:
            running = running * ahead.narrow(dim, r, n)
        else:  # start points 0 .. n - r - 1: drop the last one, multiply by the voxel r steps ahead
            running = running.narrow(dim, 0, n - r) * work.narrow(dim, r, n - r)
        values.append(running.mean(dim=mean_dims))
    return torch.stack(values, dim=-1)
