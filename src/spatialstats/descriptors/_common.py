"""Input handling shared by the descriptors: validation and the two-phase expansion of a single channel."""

from __future__ import annotations

import torch

from spatialstats._validation import check_unit_interval, require_floating_fields, resolve_periodic

_NATIVE_DTYPES = (torch.float32, torch.float64)


def prepare_fields(fields: object, periodic: object, check_values: bool, name: str = "fields") -> torch.Tensor:
    """Validate ``(batch, phases, *spatial)`` fields and ``periodic``; return ``(batch, P, *spatial)`` in float32 or
    float64, where a single channel ``p`` becomes the two phases ``(1 - p, p)``."""
    fields = require_floating_fields(fields, name)
    check_periodic(periodic, fields.ndim - 2)
    if check_values:
        check_unit_interval(fields, name)
    work = fields if fields.dtype in _NATIVE_DTYPES else fields.float()
    if work.shape[1] == 1:
        work = torch.cat([1 - work, work], dim=1)
    return work


def check_periodic(periodic: object, ndim: int) -> tuple[bool, ...]:
    """``periodic`` as one bool per spatial axis (a bool, or a sequence of ``ndim`` bools)."""
    return resolve_periodic(periodic, ndim)


def check_length(value: object, name: str, spatial_shape: tuple[int, ...]) -> int:
    """An int ``0 <= value <= min(n) - 1``: every axis must hold a segment or offset of that length."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r}")
    largest = min(spatial_shape) - 1
    if not 0 <= value <= largest:
        raise ValueError(
            f"{name} must be in 0..{largest} (the smallest spatial size {min(spatial_shape)} minus 1) "
            f"for spatial shape {spatial_shape}, got {value}"
        )
    return value


def binary_labels(
    fields: object, periodic: object, name: str = "fields"
) -> tuple[torch.Tensor, tuple[bool, ...]]:
    """Validate fields for the exact, non-differentiable descriptors; return integer labels ``(batch, *spatial)``
    and ``periodic`` as one bool per spatial axis.

    Accepts one-hot / probability fields ``(batch, phases, *spatial)`` whose values are all 0 or 1 (a single
    channel is phase 1 of a two-phase field); the label of a voxel is its argmax phase.
    """
    fields = require_floating_fields(fields, name)
    axes = check_periodic(periodic, fields.ndim - 2)
    check_unit_interval(fields, name)
    if not bool(((fields == 0) | (fields == 1)).all()):
        raise ValueError(
            f"{name} must be binary (every value 0 or 1) for this exact descriptor; threshold or argmax soft fields "
            "first, e.g. with spatialstats.one_hot_from_labels(fields.argmax(1))"
        )
    if fields.shape[1] == 1:
        return fields[:, 0].long(), axes
    if not bool((fields.sum(dim=1) == 1).all()):
        raise ValueError(f"{name} must be one-hot: every voxel in exactly one phase")
    return fields.argmax(dim=1), axes
