"""Argument handling and geometry shared by the generators."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def resolve_size(size: int | Sequence[int], *, allow_3d: bool = True) -> tuple[int, ...]:
    """An int gives a square image; a sequence of 2 (or 3, where supported) ints gives the shape."""
    if isinstance(size, int) and not isinstance(size, bool):
        shape: tuple[int, ...] = (size, size)
    elif isinstance(size, Sequence) and all(isinstance(n, int) and not isinstance(n, bool) for n in size):
        shape = tuple(size)
    else:
        raise TypeError(f"size must be an int or a sequence of ints, got {size!r}")
    allowed = (2, 3) if allow_3d else (2,)
    if len(shape) not in allowed:
        raise ValueError(f"size must have {' or '.join(map(str, allowed))} dimensions, got {shape}")
    if any(n < 2 for n in shape):
        raise ValueError(f"size must be at least 2 along every axis, got {shape}")
    return shape


def check_count(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_fraction(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU generator: random parameters are drawn on the CPU so that a seed gives the same microstructure on
    every device."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    else:
        generator.manual_seed(seed)
    return generator


def axis_offsets(
    centres: torch.Tensor, shape: tuple[int, ...], periodic: bool, device: torch.device
) -> list[torch.Tensor]:
    """Per axis, the signed distance from each centre to each grid coordinate, wrapped to [-n/2, n/2) when periodic.

    ``centres`` is ``(batch, objects, ndim)``; axis ``d`` gives a tensor broadcastable to
    ``(batch, objects, *shape)``.
    """
    ndim = len(shape)
    offsets = []
    for axis, n in enumerate(shape):
        coordinate = torch.arange(n, device=device, dtype=torch.float32) + 0.5
        view = [1] * ndim
        view[axis] = n
        delta = coordinate.view(1, 1, *view) - centres[..., axis].reshape(*centres.shape[:2], *([1] * ndim))
        if periodic:
            delta = torch.remainder(delta + n / 2, n) - n / 2
        offsets.append(delta)
    return offsets


def paint_ellipsoids(
    centres: torch.Tensor,
    semi_axes: torch.Tensor,
    angles: torch.Tensor | None,
    shape: tuple[int, ...],
    periodic: bool,
    device: torch.device,
    chunk: int = 8,
) -> torch.Tensor:
    """Union of ellipsoids: ``(batch, objects, ndim)`` centres and semi-axes, optional 2D rotation angles
    ``(batch, objects)``; returns a bool mask ``(batch, *shape)``. Objects are painted a few at a time to bound
    memory."""
    batch, count = centres.shape[:2]
    inside = torch.zeros(batch, *shape, dtype=torch.bool, device=device)
    centres, semi_axes = centres.to(device), semi_axes.to(device)
    for start in range(0, count, chunk):
        part = slice(start, start + chunk)
        deltas = axis_offsets(centres[:, part], shape, periodic, device)
        axes = semi_axes[:, part]
        if angles is not None:
            angle = angles[:, part].to(device).reshape(batch, -1, *([1] * len(shape)))
            cos, sin = torch.cos(angle), torch.sin(angle)
            deltas = [deltas[0] * cos + deltas[1] * sin, -deltas[0] * sin + deltas[1] * cos]
        radius = sum(
            (delta / axes[..., axis].reshape(batch, -1, *([1] * len(shape)))) ** 2 for axis, delta in enumerate(deltas)
        )
        inside |= (radius <= 1).any(dim=1)
    return inside
