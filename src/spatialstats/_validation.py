"""Input checks shared by the whole library: the one set of scalar validators, field and statistics checks.

Shape and type checks always run; checks that read values (finiteness, ranges, phase sums) cost a pass over the
data and, on CUDA, a device synchronisation, so every public entry point lets the caller switch them off with
``check_values=False``.

Scalars: Python and NumPy numbers are accepted alike (``np.int64(3)``, ``np.float32(1e-6)``); ``bool`` is never a
number, and boolean options accept only ``bool`` (or ``np.bool_``). A scalar of the wrong type raises
:class:`ArgumentTypeError`, a ``TypeError`` that is also a ``ValueError`` (older releases raised ``ValueError``).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np
import torch

MAX_SPATIAL_DIMS = 3
REDUCTIONS = ("mean", "sum", "none")

#: Smallest tolerance on sums that must equal one (phases of a field, pairs of statistics); larger for
#: low-precision dtypes: ``max(PHASE_SUM_TOLERANCE, 4 * finfo(dtype).eps)``.
PHASE_SUM_TOLERANCE = 1e-4


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type. A ``TypeError``; also a ``ValueError`` for code written against releases
    that raised ``ValueError`` for scalars of the wrong type."""


# --- scalars ---------------------------------------------------------------------------------------------------------


def is_int(value: object) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> bool:
    """A Python or NumPy real number, not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_bool(value: object, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be a bool (True or False), got {value!r} of type {type(value).__name__}")
    return bool(value)


def check_int(value: object, name: str, *, minimum: int | None = None) -> int:
    """An integer (Python or NumPy, not bool), at least ``minimum`` when given."""
    if not is_int(value):
        rule = f" >= {minimum}" if minimum is not None else ""
        raise ArgumentTypeError(f"{name} must be an int{rule}, got {value!r} of type {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {int(value)}")
    return int(value)


def check_number(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real number (Python or NumPy, not bool) inside the interval given by ``low`` and ``high``."""
    rule = _interval_rule(low, high, low_open, high_open)
    if not is_real(value):
        raise ArgumentTypeError(f"{name} must be {rule}, got {value!r} of type {type(value).__name__}")
    number = float(value)
    inside = math.isfinite(number)
    if low is not None:
        inside = inside and (number > low if low_open else number >= low)
    if high is not None:
        inside = inside and (number < high if high_open else number <= high)
    if not inside:
        raise ValueError(f"{name} must be {rule}, got {number!r}")
    return number


def _interval_rule(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if low == 0 and low_open and high is None:
        return "a positive number (finite, > 0)"
    if low is not None and high is not None:
        return f"a number in {'(' if low_open else '['}{low!r}, {high!r}{')' if high_open else ']'}"
    if low is not None:
        return f"a finite number {'>' if low_open else '>='} {low!r}"
    if high is not None:
        return f"a finite number {'<' if high_open else '<='} {high!r}"
    return "a finite number"


def check_positive(value: object, name: str) -> float:
    """A finite number > 0."""
    return check_number(value, name, low=0, low_open=True)


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """One of the strings ``choices`` (a mode or method knob)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_reduction(reduction: object) -> str:
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


# --- tensors ---------------------------------------------------------------------------------------------------------


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


def sum_tolerance(dtype: torch.dtype) -> float:
    """Tolerance on sums that must equal one: ``max(1e-4, 4 * finfo(dtype).eps)``."""
    return max(PHASE_SUM_TOLERANCE, 4 * torch.finfo(dtype).eps)


def check_unit_interval(values: torch.Tensor, name: str, *, slack: float = 0.0) -> None:
    """Raise unless every value is finite and inside [0, 1], or [-slack, 1 + slack] (one pass over the data)."""
    low, high = (float(v) for v in torch.aminmax(values.detach()))
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    if low < -slack or high > 1.0 + slack:
        allowance = f" (with a round-off allowance of {slack:g})" if slack else ""
        raise ValueError(
            f"{name} must hold probabilities in [0, 1]{allowance}, got values in [{low!r}, {high!r}] "
            "(pass check_values=False to skip this check for other data)"
        )


def check_finite_values(values: torch.Tensor, name: str) -> None:
    if not bool(torch.isfinite(values.detach()).all()):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")


check_finite = check_finite_values  # the earlier name, kept for callers written against it


def check_field_values(fields: torch.Tensor, name: str) -> None:
    """Values of a phase field: finite, in [0, 1] and, with several channels, summing to one over the phases
    (within :func:`sum_tolerance`). The message says how the shape was read."""
    check_unit_interval(fields, name)
    if fields.shape[1] == 1:
        return
    work = fields.detach()
    sums = (work if work.dtype in (torch.float32, torch.float64) else work.float()).sum(dim=1)
    low, high = (float(v) for v in torch.aminmax(sums))
    tolerance = sum_tolerance(fields.dtype)
    if low < 1 - tolerance or high > 1 + tolerance:
        batch, phases, *spatial = fields.shape
        raise ValueError(
            f"{name} must sum to one over the phase axis (dim 1) within {tolerance:g}, got sums in "
            f"[{low!r}, {high!r}]. Shape {tuple(fields.shape)} was read as batch={batch}, phases={phases}, "
            f"spatial={tuple(spatial)}. A (batch, *spatial) image of phase-1 probabilities needs a channel axis: "
            f"{name}.unsqueeze(1); integer labels become one-hot fields with spatialstats.one_hot_from_labels "
            "(pass check_values=False to skip this check for other data)"
        )


def check_statistics_values(
    statistics: torch.Tensor, name: str, *, periodic: bool | Sequence[bool]
) -> None:
    """Values of full 2-point statistics ``(batch, P, P, *offsets)``: finite, in [0, 1], the pairs summing to one
    at every offset and, when every axis is ``periodic``, the marginals ``sum_h' f(h, h' | r)`` the same at every
    offset (they are the volume fractions), which statistics with a non-periodic axis (or masked ones) are not.
    FFT round-off is allowed for: every bound has the slack :func:`sum_tolerance`."""
    tolerance = sum_tolerance(statistics.dtype)
    check_unit_interval(statistics, name, slack=tolerance)
    work = statistics.detach()
    work = work if work.dtype in (torch.float32, torch.float64) else work.float()
    sums = work.sum(dim=(1, 2))
    low, high = (float(v) for v in torch.aminmax(sums))
    if low < 1 - tolerance or high > 1 + tolerance:
        raise ValueError(
            f"{name} must hold pair probabilities that sum to one over the pairs at every offset (within "
            f"{tolerance:g}), got sums in [{low!r}, {high!r}]; compute them with spatialstats.two_point_stats "
            "of fields whose phases sum to one"
        )
    if all(resolve_periodic(periodic, statistics.ndim - 3)):
        marginals = work.sum(dim=2).flatten(2)
        spread = float((marginals.amax(dim=2) - marginals.amin(dim=2)).max())
        if spread > tolerance:
            raise ValueError(
                f"{name} look non-periodic: with periodic=True the sum over h' of f(h, h' | r) is the volume "
                f"fraction of h at every offset, but it varies by {spread!r} (tolerance {tolerance:g}). Compute "
                "them with the loss's periodic option (or pass check_values=False, e.g. for masked statistics)"
            )


# --- boundaries -------------------------------------------------------------------------------------------------------


def check_periodic(periodic: object, name: str = "periodic") -> bool | tuple[bool, ...]:
    """The shape-free part of a boundary option: a bool (every axis) or a non-empty sequence of bools, one per
    spatial axis (``(True, True, False)``: a film periodic in-plane only). NumPy bools are accepted."""
    if isinstance(periodic, (bool, np.bool_)):
        return bool(periodic)
    if (
        isinstance(periodic, Sequence)
        and not isinstance(periodic, str)
        and len(periodic) > 0
        and all(isinstance(p, (bool, np.bool_)) for p in periodic)
    ):
        return tuple(bool(p) for p in periodic)
    raise ArgumentTypeError(
        f"{name} must be a bool or a sequence of bools (one per spatial axis, e.g. (True, True, False)), "
        f"got {periodic!r}"
    )


def resolve_periodic(periodic: object, ndim: int, name: str = "periodic") -> tuple[bool, ...]:
    """One bool per spatial axis from a bool or a per-axis sequence (whose length must be ``ndim``)."""
    checked = check_periodic(periodic, name)
    if isinstance(checked, bool):
        return (checked,) * ndim
    if len(checked) != ndim:
        raise ValueError(
            f"{name} must give one bool per spatial axis ({ndim}), got {len(checked)} values: {checked}"
        )
    return checked


def canonical_periodic(periodic: object, ndim: int, name: str = "periodic") -> bool | tuple[bool, ...]:
    """:func:`resolve_periodic`, then a bool when every axis agrees (so ``(True, True)`` takes exactly the paths of
    ``True``), else the per-axis tuple."""
    flags = resolve_periodic(periodic, ndim, name)
    return flags[0] if len(set(flags)) == 1 else flags


# --- cutoff and pairs ------------------------------------------------------------------------------------------------


def check_cutoff(cutoff: object, name: str = "cutoff") -> int | tuple[int, ...] | None:
    """The shape-free part of a cutoff: ``None``, an int >= 0 or a sequence of ints >= 0 (Python or NumPy)."""
    if cutoff is None:
        return None
    if is_int(cutoff):
        cutoffs: tuple[int, ...] = (int(cutoff),)
    elif isinstance(cutoff, Sequence) and not isinstance(cutoff, str) and len(cutoff) > 0 and all(map(is_int, cutoff)):
        cutoffs = tuple(int(c) for c in cutoff)
    else:
        raise ArgumentTypeError(f"{name} must be an int, a sequence of ints (one per spatial axis) or None, got {cutoff!r}")
    for axis, c in enumerate(cutoffs):
        if c < 0:
            where = f" on spatial axis {axis}" if not is_int(cutoff) else ""
            raise ValueError(f"{name} must be >= 0, got {c}{where}")
    return cutoffs[0] if is_int(cutoff) else cutoffs


def resolve_cutoff(
    cutoff: int | Sequence[int] | None, spatial_shape: Sequence[int], periodic: bool | Sequence[bool]
) -> tuple[int, ...] | None:
    """Turn ``cutoff`` into one non-negative int per axis, or ``None`` for the full layout.

    ``periodic`` is a bool or one bool per axis (see :func:`resolve_periodic`). A periodic axis has ``n`` distinct
    offsets, so a centred window ``-c..c`` needs ``2c + 1 <= n``; a non-periodic axis has lags
    ``-(n - 1)..(n - 1)``, so ``c <= n - 1``. ``cutoff=None`` means every offset: ``None`` is returned when some
    axis is periodic (its full layout is ``fftshift``'s, see :mod:`spatialstats._offsets`), ``n - 1`` per axis
    when none is.
    """
    ndim = len(spatial_shape)
    flags = resolve_periodic(periodic, ndim)
    checked = check_cutoff(cutoff)
    if checked is None:
        return None if any(flags) else tuple(n - 1 for n in spatial_shape)
    cutoffs = (checked,) * ndim if isinstance(checked, int) else checked
    if len(cutoffs) != ndim:
        raise ValueError(
            f"cutoff must give one value per spatial axis ({ndim}), got {len(cutoffs)} values: {tuple(cutoffs)}"
        )
    for axis, (c, n, axis_periodic) in enumerate(zip(cutoffs, spatial_shape, flags)):
        largest = (n - 1) // 2 if axis_periodic else n - 1
        if c > largest:
            kind = "periodic" if axis_periodic else "non-periodic"
            rule = "(n - 1) // 2" if axis_periodic else "n - 1"
            field = "field" if len(set(flags)) == 1 else "axis"
            raise ValueError(
                f"cutoff {c} is too large for spatial axis {axis} of size {n}: a {kind} {field} allows at most "
                f"{rule} = {largest}"
            )
    return cutoffs


def resolve_pairs(pairs: object, num_phases: int) -> list[tuple[int, int]] | None:
    if pairs is None:
        return None
    if isinstance(pairs, (torch.Tensor, str)) or not isinstance(pairs, Sequence) or len(pairs) == 0:
        raise TypeError(f"pairs must be a non-empty list of (h, h') tuples, got {pairs!r}")
    resolved = []
    for pair in pairs:
        if not isinstance(pair, Sequence) or len(pair) != 2 or not all(map(is_int, pair)):
            raise TypeError(f"pairs must hold (h, h') tuples of two ints, got {pair!r}")
        if not all(0 <= p < num_phases for p in pair):
            raise ValueError(f"pairs entry {tuple(pair)} is out of range for {num_phases} phases (valid: 0..{num_phases - 1})")
        resolved.append((int(pair[0]), int(pair[1])))
    return resolved
