"""Voronoi grain structures: grain boundaries of a given thickness as a phase, or grains of several phases."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats._validation import check_number
from spatialstats.synthetic._common import check_count, make_generator, resolve_device, resolve_size

__all__ = ["voronoi"]

_CHUNK_ELEMENTS = 1 << 22  # (samples, grains, pixels) distances held at once


def voronoi(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    grains: int = 30,
    boundary_width: float = 2.0,
    grain_phases: int = 1,
    periodic: bool = True,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Voronoi tessellations of uniformly random seeds, with grain boundaries of thickness ``boundary_width``.

    Pixel :math:`x` belongs to the grain of its nearest seed :math:`s_1`; with :math:`s_2` the second-nearest
    seed and :math:`d_i = \lVert x - s_i \rVert`, its distance to the bisector between the two grains is

    .. math::

        t(x) = \frac{d_2^2 - d_1^2}{2\,\lVert s_2 - s_1 \rVert},

    and :math:`x` lies on a boundary when :math:`t(x) \le w / 2`: every boundary is a band of thickness :math:`w`
    centred on the bisector. Distances use the nearest periodic image when ``periodic``.

    Phases: each grain takes a phase drawn uniformly from ``0 .. grain_phases - 1``, and with
    ``boundary_width > 0`` the boundaries are one more phase, ``grain_phases``. The default (one grain phase)
    gives grains 0 and boundaries 1; ``boundary_width=0, grain_phases=P`` gives P-phase grains without
    boundaries.

    Args:
        batch: number of microstructures.
        size: an int (square image) or a 2D/3D shape.
        grains: seeds (grains) per microstructure, at least 2.
        boundary_width: boundary thickness :math:`w` in pixels, >= 0 (0: no boundary phase).
        grain_phases: number of phases the grains are drawn from, at least 1.
        periodic: periodic distances (grains wrap around the border).
        seed: seed (see :mod:`spatialstats.synthetic`); ``None`` draws a fresh one.
        device: where the label maps are built and returned.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``.

    References:
        [MICRO2D]_: like its Voronoi classes (grain boundaries as a phase).

    Example:
        >>> from spatialstats.synthetic import voronoi
        >>> thin = voronoi(4, 64, grains=10, boundary_width=1.0, seed=0).float().mean()
        >>> thick = voronoi(4, 64, grains=10, boundary_width=3.0, seed=0).float().mean()
        >>> bool(0 < thin < thick < 1)
        True
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(grains, "grains", minimum=2)
    check_count(grain_phases, "grain_phases", minimum=1)
    boundary_width = check_number(boundary_width, "boundary_width", low=0)
    if grain_phases == 1 and boundary_width == 0:
        raise ValueError(
            "boundary_width must be > 0 when grain_phases is 1 (the boundaries are the only other phase); "
            "use grain_phases >= 2 for grains alone"
        )
    device = resolve_device(device)
    generator = make_generator(seed)
    seeds = torch.rand(batch, grains, len(shape), generator=generator) * torch.tensor(shape, dtype=torch.float32)
    phase_of_grain = torch.randint(0, grain_phases, (batch, grains), generator=generator) if grain_phases > 1 else None
    seeds = seeds.to(device)
    chunk = max(1, _CHUNK_ELEMENTS // (grains * math.prod(shape)))
    parts = []
    for start in range(0, batch, chunk):
        owner, on_boundary = _nearest_grain_and_boundary(seeds[start : start + chunk], shape, periodic, boundary_width)
        if phase_of_grain is None:
            labels = torch.zeros_like(owner)
        else:
            part_phases = phase_of_grain[start : start + chunk].to(device)
            labels = torch.gather(part_phases, 1, owner.flatten(1)).reshape(owner.shape)
        if on_boundary is not None:
            labels = torch.where(on_boundary, torch.full_like(labels, grain_phases), labels)
        parts.append(labels)
    return torch.cat(parts)


def _nearest_grain_and_boundary(
    seeds: torch.Tensor, shape: tuple[int, ...], periodic: bool, boundary_width: float
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Index of the nearest seed ``(batch, *shape)`` and, for a positive width, the boundary mask."""
    batch, grains, ndim = seeds.shape
    offsets = []  # per axis (batch, grains, 1.., n, ..1): coordinate minus seed, nearest image when periodic
    for axis, n in enumerate(shape):
        coordinate = torch.arange(n, device=seeds.device, dtype=seeds.dtype)
        delta = coordinate - seeds[..., axis, None]
        if periodic:
            delta = torch.remainder(delta + n / 2, n) - n / 2
        view = [batch, grains] + [1] * ndim
        view[2 + axis] = n
        offsets.append(delta.reshape(view))
    squared = sum(delta**2 for delta in offsets)  # (batch, grains, *shape)
    nearest, owner = squared.min(dim=1)
    if boundary_width == 0:
        return owner, None
    squared.scatter_(1, owner.unsqueeze(1), math.inf)
    second, runner_up = squared.min(dim=1)
    separation = sum(
        (
            torch.gather(delta.expand(-1, -1, *shape), 1, owner.unsqueeze(1))
            - torch.gather(delta.expand(-1, -1, *shape), 1, runner_up.unsqueeze(1))
        ).squeeze(1)
        ** 2
        for delta in offsets
    ).sqrt()
    distance_to_bisector = (second - nearest) / (2 * separation.clamp_min(1e-6))
    return owner, distance_to_bisector <= boundary_width / 2
