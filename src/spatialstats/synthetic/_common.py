"""Argument checks and the random-number convention shared by the generators.

Every generator takes ``seed: int | None``. The random parameters (centres, radii, noise) are drawn from a fresh
CPU :class:`torch.Generator` seeded with it and only then moved to ``device``, so one seed gives the same
microstructure on every device and is independent of the global torch RNG. ``seed=None`` draws fresh entropy.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats._validation import ArgumentTypeError, check_int, check_number, is_int


def resolve_size(size: int | Sequence[int], *, allow_3d: bool = True) -> tuple[int, ...]:
    """An int gives a square image; a sequence of 2 (or 3, where supported) ints gives the shape."""
    is_integer = is_int
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
    return check_int(value, name, minimum=minimum)


def check_positive(value: object, name: str) -> float:
    """A finite number > 0."""
    return check_number(value, name, low=0, low_open=True)


def check_finite(value: object, name: str) -> float:
    """A finite number."""
    return check_number(value, name)


def check_fraction(value: object, name: str) -> float:
    """A number strictly between 0 and 1."""
    return check_number(value, name, low=0, high=1, low_open=True, high_open=True)


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
    elif not is_int(seed):
        raise ArgumentTypeError(f"seed must be an int or None, got {seed!r}")
    else:
        generator.manual_seed(int(seed))
    return generator
