"""The offset vector ``r`` behind every index of the statistics' output: the public offset grid."""

from __future__ import annotations

import operator
from collections.abc import Sequence

import torch

from spatialstats import _offsets
from spatialstats._validation import MAX_SPATIAL_DIMS, resolve_cutoff, resolve_periodic

__all__ = ["offset_axes", "offset_grid"]


def offset_axes(
    spatial_shape: Sequence[int],
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
) -> list[torch.Tensor]:
    r"""Per spatial axis, the offsets :math:`r_d` held along that axis of :func:`~spatialstats.two_point_stats`'s
    output, in order.

    The layouts are, axis by axis: with a cutoff :math:`c`, :math:`r_d = -c, \dots, c`; without one, a periodic
    axis of length :math:`n` holds :math:`-\lfloor n/2 \rfloor, \dots, \lceil n/2 \rceil - 1` (``fftshift``
    order) and a non-periodic axis :math:`-(n - 1), \dots, n - 1`.

    Args:
        spatial_shape: the field's spatial shape ``(n_1, ..., n_d)``, 1 to 3 positive integers.
        periodic: the boundary the statistics were computed with: a bool, or one bool per axis.
        cutoff: the ``cutoff`` given to the statistics (an int, one int per axis, or ``None``).

    Returns:
        a list of ``d`` int64 tensors, the ``k``-th of length ``2 c_k + 1`` (or the full layout's length).

    Example:
        >>> from spatialstats import offset_axes
        >>> [axis.tolist() for axis in offset_axes((4, 5))]
        [[-2, -1, 0, 1], [-2, -1, 0, 1, 2]]
        >>> [axis.tolist() for axis in offset_axes((4,), periodic=False, cutoff=2)]
        [[-2, -1, 0, 1, 2]]
        >>> [axis.tolist() for axis in offset_axes((4, 3), periodic=(True, False))]
        [[-2, -1, 0, 1], [-2, -1, 0, 1, 2]]
    """
    shape = _spatial_shape(spatial_shape)
    flags = resolve_periodic(periodic, len(shape))
    cutoffs = resolve_cutoff(cutoff, shape, flags)
    return [
        torch.arange(n) - n // 2 if c is None else torch.arange(-c, c + 1)
        for n, c in zip(shape, _offsets.axis_cutoffs(shape, cutoffs, flags))
    ]


def offset_grid(
    spatial_shape: Sequence[int],
    *,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    r"""The offset vector :math:`r` of every output index of :func:`~spatialstats.two_point_stats`.

    ``grid[:, i_1, ..., i_d]`` is the offset :math:`r = (r_1, \dots, r_d)` whose statistic
    ``two_point_stats(fields, periodic=periodic, cutoff=cutoff)[b, h, h', i_1, ..., i_d]`` holds, so that, for
    example, :math:`|r|` of every entry is ``grid.double().norm(dim=0)``. The axes are those of
    :func:`offset_axes`.

    Args:
        spatial_shape: the field's spatial shape ``(n_1, ..., n_d)``, 1 to 3 positive integers.
        periodic: the boundary the statistics were computed with: a bool, or one bool per axis.
        cutoff: the ``cutoff`` given to the statistics (an int, one int per axis, or ``None``).
        device: where to put the grid (default: CPU).

    Returns:
        int64 tensor of shape ``(d, *offsets)``.

    Example:
        >>> import torch
        >>> from spatialstats import offset_grid, two_point_stats
        >>> grid = offset_grid((6, 6), cutoff=1)
        >>> grid.shape
        torch.Size([2, 3, 3])
        >>> grid[:, 1, 1].tolist(), grid[:, 0, 2].tolist()  # r = 0 at the centre; (-1, 1) in a corner
        ([0, 0], [-1, 1])
        >>> stats = two_point_stats(torch.rand(1, 1, 6, 6), cutoff=1)
        >>> stats.shape[-2:] == grid.shape[1:]
        True
        >>> offset_grid((6, 4), periodic=(True, False)).shape  # 6 periodic lags by 2 * 4 - 1 non-periodic ones
        torch.Size([2, 6, 7])
    """
    axes = offset_axes(spatial_shape, periodic=periodic, cutoff=cutoff)
    grids = torch.meshgrid(*axes, indexing="ij")
    return torch.stack(grids).to(device if device is not None else "cpu")


def _spatial_shape(spatial_shape: object) -> tuple[int, ...]:
    if isinstance(spatial_shape, (str, bytes, torch.Tensor)) or not isinstance(spatial_shape, Sequence):
        raise TypeError(f"spatial_shape must be a sequence of 1 to {MAX_SPATIAL_DIMS} ints, got {spatial_shape!r}")
    try:
        shape = tuple(operator.index(n) for n in spatial_shape if not isinstance(n, bool))
    except TypeError:
        shape = ()
    if len(shape) != len(spatial_shape) or not 1 <= len(shape) <= MAX_SPATIAL_DIMS or min(shape) < 1:
        raise ValueError(
            f"spatial_shape must hold 1 to {MAX_SPATIAL_DIMS} positive ints, got {tuple(spatial_shape)!r}"
        )
    return shape
