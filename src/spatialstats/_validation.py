"""Input checks shared by the statistics and the losses.

Shape checks always run; checks that read values (finiteness, ranges) cost a pass over the data and, on CUDA,
a device synchronisation, so every public entry point lets the caller switch them off with ``check_values=False``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

MAX_SPATIAL_DIMS = 3
REDUCTIONS = ("mean", "sum", "none")


def require_tensor(value: object, name: str) -> torch.Tensor:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    return value


def require_floating_fields(fields: object, name: str) -> torch.Tensor:
    """Check a phase field of shape ``(batch, phases, *spatial)`` with 1 to 3 spatial dimensions."""
    fields = require_tensor(fields, name)
    if not (fields.is_floating_point()):
        raise TypeError(
            f"{name} must be a floating-point tensor of phase probabilities, got dtype {fields.dtype}; "
            "build it from integer labels with spatialstats.one_hot_from_labels"
        )
    if not 3 <= fields.ndim <= 2 + MAX_SPATIAL_DIMS:
        raise ValueError(
            f"{name} must have shape (batch, phases, *spatial) with 1 to {MAX_SPATIAL_DIMS} spatial dimensions, "
            f"got shape {tuple(fields.shape)}"
        )
    if any(size == 0 for size in fields.shape):
        raise ValueError(f"{name} must not be empty, got shape {tuple(fields.shape)}")
    return fields


def check_unit_interval(values: torch.Tensor, name: str) -> None:
    """Raise unless every value is finite and inside [0, 1] (one pass over the data)."""
    low, high = torch.aminmax(values.detach())
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    if low < 0.0 or high > 1.0:
        raise ValueError(
            f"{name} must hold probabilities in [0, 1], got values in [{low:.6g}, {high:.6g}] "
            "(pass check_values=False to skip this check for other data)"
        )


def check_finite(values: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(values.detach()).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")


def check_reduction(reduction: object) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction  # type: ignore[return-value]


def check_positive(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def resolve_cutoff(
    cutoff: int | Sequence[int] | None, spatial_shape: Sequence[int], periodic: bool
) -> tuple[int, ...] | None:
    """Turn ``cutoff`` into one non-negative int per axis, or ``None`` for the full periodic layout.

    Periodic fields have ``n`` distinct offsets per axis, so a centred window ``-c..c`` needs ``2c + 1 <= n``.
    Non-periodic fields have lags ``-(n - 1)..(n - 1)``; ``cutoff=None`` means all of them.
    """
    ndim = len(spatial_shape)
    if cutoff is None:
        return None if periodic else tuple(n - 1 for n in spatial_shape)
    if isinstance(cutoff, bool):
        raise TypeError(f"cutoff must be an int, a sequence of {ndim} ints or None, got {cutoff!r}")
    if isinstance(cutoff, int):
        cutoffs = (cutoff,) * ndim
    elif isinstance(cutoff, Sequence) and all(isinstance(c, int) and not isinstance(c, bool) for c in cutoff):
        if len(cutoff) != ndim:
            raise ValueError(
                f"cutoff must give one value per spatial axis ({ndim}), got {len(cutoff)} values: {tuple(cutoff)}"
            )
        cutoffs = tuple(cutoff)
    else:
        raise TypeError(f"cutoff must be an int, a sequence of {ndim} ints or None, got {cutoff!r}")
    for axis, (c, n) in enumerate(zip(cutoffs, spatial_shape)):
        if c < 0:
            raise ValueError(f"cutoff must be >= 0, got {c} on spatial axis {axis}")
        largest = (n - 1) // 2 if periodic else n - 1
        if c > largest:
            kind = "periodic" if periodic else "non-periodic"
            rule = "(n - 1) // 2" if periodic else "n - 1"
            raise ValueError(
                f"cutoff {c} is too large for spatial axis {axis} of size {n}: a {kind} field allows at most "
                f"{rule} = {largest}"
            )
    return cutoffs


def resolve_pairs(pairs: object, num_phases: int) -> list[tuple[int, int]] | None:
    if pairs is None:
        return None
    if isinstance(pairs, torch.Tensor) or not isinstance(pairs, Sequence) or len(pairs) == 0:
        raise TypeError(f"pairs must be a non-empty list of (h, h') tuples, got {pairs!r}")
    resolved = []
    for pair in pairs:
        if (
            not isinstance(pair, Sequence)
            or len(pair) != 2
            or not all(isinstance(p, int) and not isinstance(p, bool) for p in pair)
        ):
            raise TypeError(f"pairs must hold (h, h') tuples of two ints, got {pair!r}")
        if not all(0 <= p < num_phases for p in pair):
            raise ValueError(f"pairs entry {tuple(pair)} is out of range for {num_phases} phases (valid: 0..{num_phases - 1})")
        resolved.append((int(pair[0]), int(pair[1])))
    return resolved
