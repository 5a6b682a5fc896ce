"""Rasterising many small objects at once: each object is stamped into a local window, not the whole image.

The work is ``batch * objects * window`` instead of ``batch * objects * pixels``, which is what makes hundreds of
voids in a batch of 224 x 224 images cheap. Pixel ``i`` sits at coordinate ``i`` along each axis.
"""

from __future__ import annotations

import math

import torch

_CHUNK_ELEMENTS = 1 << 22  # bounds the temporary (batch, objects, window) tensors to a few tens of MB


def first_covering_object(
    centres: torch.Tensor,
    shape: tuple[int, ...],
    periodic: bool,
    device: torch.device,
    *,
    radii: torch.Tensor | None = None,
    semi_axes: torch.Tensor | None = None,
    angles: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""For every pixel, the index of the first object that covers it (``objects`` where none does).

    ``centres`` is ``(batch, objects, ndim)``. Either ``radii`` ``(batch, objects)`` gives balls,
    :math:`\sum_d (x_d - c_d)^2 \le \rho^2`, or (2D only) ``semi_axes`` ``(batch, objects, 2)`` and ``angles``
    ``(batch, objects)`` give ellipses, :math:`(u/a)^2 + (v/b)^2 \le 1` with :math:`(u, v)` the offset rotated by
    :math:`-\theta`. Offsets wrap around the border when ``periodic``; otherwise pixels outside are dropped.
    Returns ``torch.long`` of shape ``(batch, *shape)``.
    """
    batch, count, ndim = centres.shape
    centres = centres.to(device=device, dtype=torch.float32)
    if radii is not None:
        radii = radii.to(device=device, dtype=torch.float32)
        extent = float(radii.max())
    else:
        assert semi_axes is not None and angles is not None and ndim == 2
        semi_axes = semi_axes.to(device=device, dtype=torch.float32)
        angles = angles.to(device=device, dtype=torch.float32)
        extent = float(semi_axes.max())
    reach = math.ceil(extent) + 1
    window = torch.arange(-reach, reach + 1, device=device)
    strides = [math.prod(shape[axis + 1 :]) for axis in range(ndim)]
    first = torch.full((batch, math.prod(shape)), count, dtype=torch.long, device=device)
    chunk = max(1, _CHUNK_ELEMENTS // (batch * window.numel() ** ndim))
    for start in range(0, count, chunk):
        part = slice(start, start + chunk)
        centre = centres[:, part]
        objects = centre.shape[1]
        nearest_pixel = torch.floor(centre + 0.5).long()
        flat_index = torch.zeros((), dtype=torch.long, device=device)
        valid = torch.ones((), dtype=torch.bool, device=device)
        deltas = []
        for axis, n in enumerate(shape):
            pixel = nearest_pixel[..., axis, None] + window  # (batch, objects, window)
            view = [batch, objects] + [1] * ndim
            view[2 + axis] = window.numel()
            deltas.append((pixel - centre[..., axis, None]).reshape(view))
            if not periodic:
                valid = valid & ((pixel >= 0) & (pixel < n)).reshape(view)
            flat_index = flat_index + (torch.remainder(pixel, n) * strides[axis]).reshape(view)
        trailing = [batch, objects] + [1] * ndim
        if radii is not None:
            radius = radii[:, part].reshape(trailing)
            inside = sum(delta**2 for delta in deltas) <= radius**2
        else:
            first_axis, second_axis = (semi_axes[:, part, axis].reshape(trailing) for axis in range(2))
            angle = angles[:, part].reshape(trailing)
            cos, sin = torch.cos(angle), torch.sin(angle)
            along = deltas[0] * cos + deltas[1] * sin
            across = -deltas[0] * sin + deltas[1] * cos
            inside = (along * second_axis) ** 2 + (across * first_axis) ** 2 <= (first_axis * second_axis) ** 2
        index = torch.arange(start, start + objects, device=device).reshape(1, objects, *([1] * ndim))
        value = torch.where(inside & valid, index, count)
        flat_index = flat_index.expand_as(value)
        first.scatter_reduce_(1, flat_index.reshape(batch, -1), value.reshape(batch, -1), reduce="amin")
    return first.reshape(batch, *shape)


def objects_for_fraction(first: torch.Tensor, count: int, volume_fraction: float) -> torch.Tensor:
    """Per sample, how many of the ``count`` candidates (taken in order) bring the covered fraction closest to
    ``volume_fraction``; ``first`` is :func:`first_covering_object`'s output. Returns ``(batch,)`` longs >= 1."""
    flat = first.flatten(1)
    newly_covered = torch.zeros(flat.shape[0], count + 1, device=flat.device).scatter_add_(
        1, flat, torch.ones_like(flat, dtype=torch.float32)
    )
    covered = torch.cumsum(newly_covered[:, :count], dim=1) / flat.shape[1]
    return torch.argmin((covered - volume_fraction).abs(), dim=1) + 1


def labels_from_cover(first: torch.Tensor, used: torch.Tensor, object_phases: torch.Tensor | None) -> torch.Tensor:
    """Label maps from :func:`first_covering_object`: pixels covered by one of the first ``used[b]`` objects get
    that object's phase (phase 1 when ``object_phases`` is None), the rest phase 0."""
    batch = first.shape[0]
    covered = first < used.to(first.device).reshape(batch, *([1] * (first.dim() - 1)))
    if object_phases is None:
        return covered.long()
    phases = torch.cat([object_phases.to(first.device), object_phases.new_zeros(batch, 1).to(first.device)], dim=1)
    labels = torch.gather(phases, 1, first.flatten(1)).reshape(first.shape)
    return torch.where(covered, labels, torch.zeros_like(labels))


def draw_object_phases(generator: torch.Generator, batch: int, count: int, phases: int) -> torch.Tensor | None:
    """Phases of the objects, uniform on ``1 .. phases - 1``; ``None`` for two phases (all objects are phase 1,
    and no random numbers are drawn, so two-phase results do not depend on this step)."""
    if phases == 2:
        return None
    return torch.randint(1, phases, (batch, count), generator=generator)


def candidates_for_fraction(volume_fraction: float, pixels: int, mean_object_volume: float) -> int:
    r"""How many objects to draw so that their union very likely exceeds ``volume_fraction``.

    Randomly placed objects of mean volume :math:`v` cover :math:`1 - e^{-K v / N}` of :math:`N` pixels on
    average (Boolean model), so :math:`K = -\ln(1 - f) N / v`; half as many again plus a few absorb the scatter
    and the area lost at a non-periodic border.
    """
    expected = -math.log1p(-volume_fraction) * pixels / max(mean_object_volume, 1.0)
    return math.ceil(1.5 * expected) + 16


def resolve_count(count: int | None, volume_fraction: float | None, default: int) -> tuple[int | None, float | None]:
    """Exactly one of ``count`` / ``volume_fraction``; neither means ``count=default``."""
    from spatialstats.synthetic._common import check_count, check_fraction

    if count is not None and volume_fraction is not None:
        raise ValueError(f"give count or volume_fraction, not both (got count={count!r}, volume_fraction={volume_fraction!r})")
    if volume_fraction is not None:
        return None, check_fraction(volume_fraction, "volume_fraction")
    return check_count(default if count is None else count, "count"), None


def paint_inclusions(
    generator: torch.Generator,
    centres: torch.Tensor,
    shape: tuple[int, ...],
    periodic: bool,
    device: torch.device,
    phases: int,
    volume_fraction: float | None,
    **geometry: torch.Tensor,
) -> torch.Tensor:
    """Label maps of the union of the objects (all of them, or the first ones that best hit ``volume_fraction``),
    objects' phases drawn by :func:`draw_object_phases`."""
    batch, count = centres.shape[:2]
    object_phases = draw_object_phases(generator, batch, count, phases)
    first = first_covering_object(centres, shape, periodic, device, **geometry)
    if volume_fraction is None:
        used = torch.full((batch,), count, dtype=torch.long)
    else:
        used = objects_for_fraction(first, count, volume_fraction)
    return labels_from_cover(first, used, object_phases)
