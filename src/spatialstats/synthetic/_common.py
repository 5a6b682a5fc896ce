"""Argument checks and the random-number convention shared by the generators.

Every generator takes ``seed: int | None``. The random parameters (centres, radii, noise) are drawn from a fresh
CPU :class:`torch.Generator` seeded with it and only then moved to ``device``, so one seed gives the same
microstructure on every device and is independent of the global torch RNG. ``seed=None`` draws fresh entropy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch


def resolve_size(size: int | Sequence[int], *, allow_3d: bool = True) -> tuple[int, ...]:
    """An int gives a square image; a sequence of 2 (or 3, where supported) ints gives the shape."""
    def is_integer(value: object) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    if is_integer(size):
        shape: tuple[int, ...] = (int(size), int(size))
    elif isinstance(size, Sequence) and not isinstance(size, str) and all(is_integer(n) for n in size):
        shape = tuple(int(n) for n in size)
    else:
        raise TypeError(f"size must be an int or a sequence of ints, got {size!r}")
    allowed = (2, 3) if allow_3d else (2,)
    if len(shape) not in allowed:
        raise ValueError(f"size must have {' or '.join(map(str, allowed))} dimensions, got {shape}")
    if any(n < 2 for n in shape):
        raise ValueError(f"size must be at least 2 along every axis, got {shape}")
    return shape


def check_count(value: object, name: str, minimum: int = 1) -> int:
    """An int (not a bool) of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def check_positive(value: object, name: str) -> float:
    """A finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number (finite), got {value!r}")
    return float(value)


def check_finite(value: object, name: str) -> float:
    """A finite number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_fraction(value: object, name: str) -> float:
    """A number strictly between 0 and 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
    return float(value)


def check_pair(value: object, name: str) -> tuple[float, float]:
    """Two finite positive numbers."""
    if not isinstance(value, Sequence) or isinstance(value, str) or len(value) != 2:
        raise ValueError(f"{name} must hold two positive numbers, got {value!r}")
    first, second = (check_positive(item, name) for item in value)
    return first, second


def resolve_device(device: str | torch.device) -> torch.device:
    """A :class:`torch.device` from a string or device."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a str or torch.device, got {device!r}")
    return torch.device(device)


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (fresh entropy for ``None``)."""
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    elif isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    else:
        generator.manual_seed(seed)
    return generator
