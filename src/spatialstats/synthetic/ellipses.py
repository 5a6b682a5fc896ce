"""Random ellipses sharing an orientation (MICRO2D's AngEllipse-like class)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import (
    check_count,
    check_finite,
    check_pair,
    make_generator,
    resolve_device,
    resolve_size,
)
from spatialstats.synthetic._painting import candidates_for_fraction, paint_inclusions, resolve_count

__all__ = ["ellipses"]


def ellipses(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int | None = None,
    volume_fraction: float | None = None,
    semi_axes: tuple[float, float] = (20.0, 6.0),
    angle: float = 0.0,
    angle_spread: float = 0.0,
    periodic: bool = True,
    phases: int = 2,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Randomly placed ellipses with a common orientation, by number or by volume fraction.

    Ellipse :math:`k` with centre :math:`c_k` (uniform over the image) covers pixel :math:`x` when

    .. math::

        \Bigl(\frac{u}{a}\Bigr)^2 + \Bigl(\frac{v}{b}\Bigr)^2 \le 1, \qquad
        \begin{pmatrix} u \\ v \end{pmatrix} =
        \begin{pmatrix} \cos\theta_k & \sin\theta_k \\ -\sin\theta_k & \cos\theta_k \end{pmatrix} (x - c_k),

    with :math:`\theta_k = \theta + \delta_k`, :math:`\delta_k \sim U(-s, s)`. The first semi-axis :math:`a` points
    along :math:`(\cos\theta, \sin\theta)` in (first, second) image-axis coordinates, so ``angle=0`` lays the
    ellipses along the first axis (rows, "y" in an image plot) and ``angle=pi/2`` along the second.

    With ``volume_fraction``, ellipses are drawn in sequence and each sample keeps the first :math:`m` whose union
    comes closest to the fraction (within about half an ellipse's area of it).

    Args:
        batch: number of microstructures.
        size: an int (square image) or a 2D shape.
        count: ellipses per microstructure (default 20 when ``volume_fraction`` is not given).
        volume_fraction: target fraction of the ellipse phase(s), instead of ``count``.
        semi_axes: the semi-axes :math:`(a, b)` in pixels.
        angle: orientation :math:`\theta`, radians.
        angle_spread: half-width :math:`s \ge 0` of the uniform spread of orientations, radians.
        periodic: wrap the ellipses around the border.
        phases: 2, or more to give each ellipse a phase drawn uniformly from ``1 .. phases - 1``.
        seed: seed (see :mod:`spatialstats.synthetic`); ``None`` draws a fresh one.
        device: where the label maps are built and returned.

    Returns:
        ``torch.long`` label maps ``(batch, H, W)``.

    References:
        [MICRO2D]_: like its AngEllipse class (ellipses sharing an orientation).

    Example:
        >>> from spatialstats.synthetic import ellipses
        >>> labels = ellipses(2, 96, volume_fraction=0.3, semi_axes=(12.0, 4.0), angle=0.5, seed=1)
        >>> labels.shape, [abs(f - 0.3) < 0.01 for f in labels.float().mean(dim=(1, 2)).tolist()]
        (torch.Size([2, 96, 96]), [True, True])
    """
    shape = resolve_size(size, allow_3d=False)
    check_count(batch, "batch")
    check_count(phases, "phases", minimum=2)
    count, volume_fraction = resolve_count(count, volume_fraction, default=20)
    first_axis, second_axis = check_pair(semi_axes, "semi_axes")
    angle = check_finite(angle, "angle")
    angle_spread = check_finite(angle_spread, "angle_spread")
    if angle_spread < 0:
        raise ValueError(f"angle_spread must be >= 0, got {angle_spread!r}")
    device = resolve_device(device)
    if count is None:
        count = candidates_for_fraction(volume_fraction, math.prod(shape), math.pi * first_axis * second_axis)
    generator = make_generator(seed)
    centres = torch.rand(batch, count, 2, generator=generator) * torch.tensor(shape, dtype=torch.float32)
    angles = angle + (torch.rand(batch, count, generator=generator) * 2 - 1) * angle_spread
    axes = torch.tensor([first_axis, second_axis]).expand(batch, count, 2)
    return paint_inclusions(
        generator, centres, shape, periodic, device, phases, volume_fraction, semi_axes=axes, angles=angles
    )
