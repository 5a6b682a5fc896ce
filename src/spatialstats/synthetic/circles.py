"""The paper's target: equal disks (spheres in 3D) at uniformly random pixel centres."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import check_count, check_positive, make_generator, resolve_device, resolve_size
from spatialstats.synthetic._painting import paint_inclusions

__all__ = ["circles"]


def circles(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    count: int = 5,
    radius: float = 20.0,
    periodic: bool = True,
    phases: int = 2,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""``count`` disks (spheres in 3D) of one radius, centred on uniformly random pixels.

    With centres :math:`c_k \in \mathbb{Z}^d` drawn uniformly over the image, pixel :math:`x` is an inclusion when

    .. math::

        \min_k \lVert x - c_k \rVert \le \rho ,

    distances wrapping around the border when ``periodic`` (so the disks match periodic statistics). A lone disk
    therefore covers exactly the :math:`\#\{z \in \mathbb{Z}^d : \lVert z \rVert \le \rho\}` lattice points
    (1257 for :math:`\rho = 20` in 2D) wherever it lands. The defaults are the paper's reconstruction target:
    5 circles of radius 20 px in a 224 x 224 image; overlapping circles merge.

    Args:
        batch: number of microstructures.
        size: an int (square image) or a 2D/3D shape.
        count: circles per microstructure.
        radius: radius :math:`\rho` in pixels.
        periodic: wrap the circles around the border.
        phases: 2 gives matrix 0 and circles 1; more phases give each circle a phase drawn uniformly from
            ``1 .. phases - 1`` (where circles overlap, the first drawn wins).
        seed: seed of the centres (see :mod:`spatialstats.synthetic`); ``None`` draws a fresh one.
        device: where the label maps are built and returned.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``.

    References:
        [CHPG]_: the 224 x 224 five-disk target of its reconstruction figures.

    Example:
        >>> from spatialstats.synthetic import circles
        >>> labels = circles(2, 64, count=1, radius=5, seed=0)
        >>> labels.shape, labels.dtype, labels.flatten(1).sum(dim=1).tolist()
        (torch.Size([2, 64, 64]), torch.int64, [81, 81])
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    check_count(count, "count")
    check_count(phases, "phases", minimum=2)
    radius = check_positive(radius, "radius")
    device = resolve_device(device)
    generator = make_generator(seed)
    centres = torch.stack([torch.randint(0, n, (batch, count), generator=generator) for n in shape], dim=-1)
    radii = torch.full((batch, count), radius)
    return paint_inclusions(generator, centres.float(), shape, periodic, device, phases, None, radii=radii)
