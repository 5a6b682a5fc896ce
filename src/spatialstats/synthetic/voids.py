"""Many small voids: disks (spheres in 3D) with random radii."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import check_count, check_pair, make_generator, resolve_device, resolve_size
from spatialstats.synthetic._painting import candidates_for_fraction, paint_inclusions, resolve_count

__all__ = ["voids"]


def voids(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int | None = None,
    volume_fraction: float | None = None,
    radius_range: tuple[float, float] = (2.0, 6.0),
    periodic: bool = True,
    phases: int = 2,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Many small voids: disks (spheres in 3D) at uniformly random centres with radii
    :math:`\rho_k \sim U(\rho_{\min}, \rho_{\max})`; pixel :math:`x` is a void when
    :math:`\min_k (\lVert x - c_k \rVert - \rho_k) \le 0`.

    With ``volume_fraction``, voids are drawn in sequence and each sample keeps the first :math:`m` whose union
    comes closest to the fraction.

    Args:
        batch: number of microstructures.
        size: an int (square image) or a 2D/3D shape.
        count: voids per microstructure (default 120 when ``volume_fraction`` is not given).
        volume_fraction: target void fraction, instead of ``count``.
        radius_range: smallest and largest radius :math:`(\rho_{\min}, \rho_{\max})` in pixels.
        periodic: wrap the voids around the border.
        phases: 2, or more to give each void a phase drawn uniformly from ``1 .. phases - 1``.
        seed: seed (see :mod:`spatialstats.synthetic`); ``None`` draws a fresh one.
        device: where the label maps are built and returned.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``, 0 in the matrix.

    References:
        [MICRO2D]_: like its VoidSmall and VoidSmallBig classes.

    Example:
        >>> from spatialstats.synthetic import voids
        >>> labels = voids(4, 64, volume_fraction=0.1, radius_range=(1.5, 3.0), seed=0)
        >>> [round(f, 2) for f in labels.float().mean(dim=(1, 2)).tolist()]
        [0.1, 0.1, 0.1, 0.1]
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(phases, "phases", minimum=2)
    count, volume_fraction = resolve_count(count, volume_fraction, default=120)
    low, high = check_pair(radius_range, "radius_range")
    if low > high:
        raise ValueError(f"radius_range must be (smallest, largest), got {radius_range!r}")
    device = resolve_device(device)
    ndim = len(shape)
    if count is None:
        # mean ball volume for radii uniform on [low, high]: unit-ball volume times E[rho^ndim]
        unit_ball = math.pi ** (ndim / 2) / math.gamma(ndim / 2 + 1)
        moment = high**ndim if high == low else (high ** (ndim + 1) - low ** (ndim + 1)) / ((ndim + 1) * (high - low))
        count = candidates_for_fraction(volume_fraction, math.prod(shape), unit_ball * moment)
    generator = make_generator(seed)
    centres = torch.rand(batch, count, ndim, generator=generator) * torch.tensor(shape, dtype=torch.float32)
    radii = low + (high - low) * torch.rand(batch, count, generator=generator)
    return paint_inclusions(generator, centres, shape, periodic, device, phases, volume_fraction, radii=radii)
