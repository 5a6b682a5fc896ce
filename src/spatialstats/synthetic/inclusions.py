"""Inclusion microstructures: the paper's circles, random ellipses at an angle, and small voids."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import (
    check_count,
    check_positive,
    make_generator,
    paint_ellipsoids,
    resolve_size,
)

__all__ = ["circles", "ellipses", "voids"]


def circles(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int = 5,
    radius: float = 20.0,
    periodic: bool = True,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Disks (spheres in 3D) of one radius at uniformly random centres: the method section's test target.

    Phase 1 is every pixel whose centre lies within ``radius`` of an object centre,

    .. math::

        \mathrm{label}(x) = 1 \iff \min_k \lVert x - c_k \rVert \le \rho,

    with distances wrapped around the border when ``periodic`` (matching periodic statistics). The defaults give
    the paper's target: a 224 x 224 image with 5 circles of radius 20 px.

    Args:
        batch: number of microstructures.
        size: an int (square image) or the shape, 2D or 3D.
        count: number of circles per microstructure.
        radius: radius in pixels.
        periodic: wrap objects around the border.
        seed: seed of the random centres; ``None`` draws a fresh one.
        device: where the label maps are built.

    Returns:
        ``torch.long`` label maps ``(batch, *size)`` with 0 (matrix) and 1 (circles).

    Example:
        >>> from spatialstats.synthetic import circles
        >>> labels = circles(2, 64, count=3, radius=8, seed=0)
        >>> labels.shape, labels.dtype, int(labels.max())
        (torch.Size([2, 64, 64]), torch.int64, 1)
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(count, "count")
    radius = check_positive(radius, "radius")
    generator = make_generator(seed)
    centres = torch.rand(batch, count, len(shape), generator=generator) * torch.tensor(shape, dtype=torch.float32)
    semi_axes = torch.full((batch, count, len(shape)), radius)
    return paint_ellipsoids(centres, semi_axes, None, shape, periodic, torch.device(device)).long()


def ellipses(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int = 20,
    semi_axes: tuple[float, float] = (20.0, 6.0),
    angle: float = 0.0,
    angle_spread: float = 0.0,
    periodic: bool = True,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Random ellipses with a common orientation, as in MICRO2D's AngEllipse class.

    Each ellipse :math:`k` covers :math:`(u/a)^2 + (v/b)^2 \le 1` in coordinates :math:`(u, v)` rotated by
    :math:`\theta_k = \theta + \delta_k`, :math:`\delta_k \sim U(-s, s)` (``angle_spread``).

    Args:
        batch: number of microstructures.
        size: an int or a 2D shape.
        count: ellipses per microstructure.
        semi_axes: the two semi-axes :math:`(a, b)` in pixels.
        angle: orientation :math:`\theta` of the first semi-axis, radians from the first image axis.
        angle_spread: half-width :math:`s` of the uniform spread of orientations, radians.
        periodic, seed, device: as in :func:`circles`.

    Returns:
        ``torch.long`` label maps ``(batch, H, W)``, 1 inside the ellipses.

    Example:
        >>> from spatialstats.synthetic import ellipses
        >>> ellipses(1, 48, count=4, semi_axes=(10.0, 3.0), angle=0.5, seed=1).shape
        torch.Size([1, 48, 48])
    """
    shape = resolve_size(size, allow_3d=False)
    check_count(batch, "batch")
    check_count(count, "count")
    if len(semi_axes) != 2:
        raise ValueError(f"semi_axes must hold two lengths, got {semi_axes!r}")
    first, second = (check_positive(a, "semi_axes") for a in semi_axes)
    if not math.isfinite(angle) or not math.isfinite(angle_spread) or angle_spread < 0:
        raise ValueError(f"angle must be finite and angle_spread finite and >= 0, got {angle!r}, {angle_spread!r}")
    generator = make_generator(seed)
    centres = torch.rand(batch, count, 2, generator=generator) * torch.tensor(shape, dtype=torch.float32)
    spread = (torch.rand(batch, count, generator=generator) * 2 - 1) * angle_spread
    axes = torch.tensor([first, second]).expand(batch, count, 2)
    return paint_ellipsoids(centres, axes, angle + spread, shape, periodic, torch.device(device)).long()


def voids(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int = 120,
    radius_range: tuple[float, float] = (2.0, 6.0),
    periodic: bool = True,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Many small voids: disks (spheres in 3D) with radii drawn uniformly from ``radius_range``.

    Args:
        batch: number of microstructures.
        size: an int or a 2D/3D shape.
        count: voids per microstructure.
        radius_range: smallest and largest radius in pixels.
        periodic, seed, device: as in :func:`circles`.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``, 1 in the voids.

    Example:
        >>> from spatialstats.synthetic import voids
        >>> float(voids(4, 64, count=30, seed=0).float().mean()) < 0.5
        True
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(count, "count")
    low, high = (check_positive(r, "radius_range") for r in radius_range)
    if low > high:
        raise ValueError(f"radius_range must be (smallest, largest), got {radius_range!r}")
    generator = make_generator(seed)
    centres = torch.rand(batch, count, len(shape), generator=generator) * torch.tensor(shape, dtype=torch.float32)
    radii = low + (high - low) * torch.rand(batch, count, 1, generator=generator)
    return paint_ellipsoids(centres, radii.expand(-1, -1, len(shape)), None, shape, periodic, torch.device(device)).long()
