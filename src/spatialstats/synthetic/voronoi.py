"""Voronoi grain structures: grain boundaries as a phase, or grains assigned to several phases."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import axis_offsets, check_count, make_generator, resolve_size

__all__ = ["voronoi"]


def voronoi(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    grains: int = 30,
    boundary_width: float = 2.0,
    phases: int = 2,
    periodic: bool = True,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Voronoi tessellations of uniformly random seeds.

    With :math:`d_1 \le d_2` the distances from a pixel to its nearest and second-nearest seeds, the pixel lies on
    a grain boundary when :math:`d_2 - d_1 \le w` (``boundary_width``; the band is about :math:`w` pixels wide
    around each bisector). Two phases: boundaries are phase 1, grains phase 0. More phases: each grain gets a phase
    drawn uniformly from ``0 .. phases - 1``, and boundaries (if ``boundary_width > 0``) are phase 0.

    Args:
        batch: number of microstructures.
        size: an int or a 2D/3D shape.
        grains: seeds (grains) per microstructure.
        boundary_width: boundary band width :math:`w` in pixels; 0 gives no boundaries (needs ``phases > 2``).
        phases: number of phases.
        periodic: periodic distances (grains wrap around the border).
        seed, device: as in :func:`spatialstats.synthetic.circles`.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``.

    Example:
        >>> from spatialstats.synthetic import voronoi
        >>> labels = voronoi(2, 64, grains=10, boundary_width=2.0, seed=0)
        >>> 0.05 < float(labels.float().mean()) < 0.4
        True
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(grains, "grains", minimum=2)
    check_count(phases, "phases", minimum=2)
    if isinstance(boundary_width, bool) or not isinstance(boundary_width, (int, float)) or boundary_width < 0:
        raise ValueError(f"boundary_width must be a number >= 0, got {boundary_width!r}")
    if phases == 2 and boundary_width == 0:
        raise ValueError("boundary_width must be > 0 for two phases (the boundaries are phase 1)")
    generator = make_generator(seed)
    device = torch.device(device)
    seeds = torch.rand(batch, grains, len(shape), generator=generator) * torch.tensor(shape, dtype=torch.float32)
    grain_phases = torch.randint(0, phases, (batch, grains), generator=generator).to(device)
    seeds = seeds.to(device)
    nearest = torch.full((batch, *shape), float("inf"), device=device)
    second = torch.full_like(nearest, float("inf"))
    owner = torch.zeros(batch, *shape, dtype=torch.long, device=device)
    for grain in range(grains):  # running nearest / second-nearest: memory stays at a few images
        deltas = axis_offsets(seeds[:, grain : grain + 1], shape, periodic, device)
        distance = torch.sqrt(sum(delta**2 for delta in deltas))[:, 0]
        closer = distance < nearest
        second = torch.where(closer, nearest, torch.minimum(second, distance))
        nearest = torch.where(closer, distance, nearest)
        owner = torch.where(closer, torch.full_like(owner, grain), owner)
    boundary = (second - nearest) <= boundary_width
    if phases == 2:
        return boundary.long()
    labels = torch.gather(grain_phases, 1, owner.flatten(1)).reshape(owner.shape)
    return torch.where(boundary, torch.zeros_like(labels), labels) if boundary_width > 0 else labels
