"""Shared plumbing of the losses: option checks, the one validation stage of the statistics losses, computing
both sides' statistics and reducing per-sample values.

Every statistics loss starts with :func:`prepare_statistics_loss`, which runs all argument and value checks and
returns :class:`StatisticsLossInputs`; the computation after it (the reference autograd one, or a faster path)
reads only validated inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from spatialstats import _offsets
from spatialstats._validation import (
    canonical_periodic,
    check_bool,
    check_cutoff,
    check_periodic,
    check_field_values,
    check_number,
    check_positive,
    check_reduction,
    check_statistics_values,
    require_floating_fields,
    require_tensor,
    resolve_cutoff,
)
from spatialstats.statistics import two_point_stats

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def _check_width(width: object) -> float:
    """The clamp loss's sigma: finite, > 0, and small enough values must keep ``1 / (2 sigma^2)`` finite."""
    width = check_positive(width, "width")
    if not math.isfinite(0.5 / width / width):
        raise ValueError(f"width must be >= 1e-150 (1 / (2 width^2) overflows float64), got {width!r}")
    return width


#: One check per loss option name, shared by the functions and the modules' ``__init__``.
OPTION_CHECKS: dict[str, Callable[[object], object]] = {
    "periodic": check_periodic,
    "kl": lambda value: check_bool(value, "kl"),
    "check_values": lambda value: check_bool(value, "check_values"),
    "reduction": check_reduction,
    "cutoff": check_cutoff,
    "eps": lambda value: check_positive(value, "eps"),
    "alpha": lambda value: check_number(value, "alpha", low=0),
    "width": _check_width,
}


def check_options(**options: object) -> dict[str, object]:
    """Validate loss options by name; returns them normalised (NumPy scalars as Python numbers)."""
    return {name: OPTION_CHECKS[name](value) for name, value in options.items()}


def check_eps_for_dtype(eps: float, dtype: torch.dtype) -> None:
    """``eps`` must stay a positive normal number in the working dtype: below that ``log(f + eps)`` turns to
    ``-inf`` (and ``0 * -inf`` to NaN) where a pair never occurs."""
    tiny = torch.finfo(dtype).tiny
    if eps < tiny:
        raise ValueError(
            f"eps={eps!r} underflows in {dtype} (smallest normal number {tiny!r}): log(f + eps) would be -inf; "
            "use a larger eps or float64 inputs"
        )


def as_loss_precision(fields: torch.Tensor) -> torch.Tensor:
    """Losses are computed in at least float32: half-precision statistics lose the small probabilities CESS logs."""
    return fields.float() if fields.dtype in _LOW_PRECISION else fields


def num_phases_of(fields: torch.Tensor) -> int:
    return 2 if fields.shape[1] == 1 else fields.shape[1]


@dataclass(frozen=True)
class StatisticsLossInputs:
    """Validated inputs of a statistics loss: tensors in loss precision, ``periodic`` a bool when every axis agrees
    and one bool per axis otherwise, ``cutoff`` resolved per axis (``None``: the full layout with a periodic axis),
    exactly one of ``target`` and ``target_statistics``, and the CESS options (``eps`` checked against the working
    dtype) when the loss has them."""

    prediction: torch.Tensor
    target: torch.Tensor | None
    target_statistics: torch.Tensor | None
    periodic: bool | tuple[bool, ...]
    cutoff: tuple[int, ...] | None
    reduction: str
    eps: float | None = None
    kl: bool = False


def prepare_statistics_loss(
    prediction: object,
    target: object,
    target_statistics: object,
    *,
    periodic: object,
    cutoff: object,
    reduction: object,
    check_values: object,
    **cess_options: object,
) -> StatisticsLossInputs:
    """Every argument and value check of a statistics loss, named after the loss's own arguments; ``cess_options``
    are ``eps`` and ``kl`` for the cross-entropy losses."""
    extra = check_options(**cess_options)
    options = check_options(periodic=periodic, cutoff=cutoff, reduction=reduction, check_values=check_values)
    prediction = require_floating_fields(prediction, "prediction")
    if (target is None) == (target_statistics is None):
        raise ValueError("give exactly one of target (a microstructure) and target_statistics (its precomputed statistics)")
    periodic = canonical_periodic(options["periodic"], prediction.ndim - 2)
    cutoffs = resolve_cutoff(options["cutoff"], tuple(prediction.shape[2:]), periodic)
    if options["check_values"]:
        check_field_values(prediction, "prediction")
    if target is not None:
        target = _checked_target(target, prediction, options["check_values"])
    else:
        target_statistics = _checked_target_statistics(
            target_statistics, prediction, cutoffs, periodic, options["check_values"]
        )
    prediction = as_loss_precision(prediction)
    if "eps" in extra:
        check_eps_for_dtype(extra["eps"], prediction.dtype)
    return StatisticsLossInputs(
        prediction,
        None if target is None else as_loss_precision(target),
        target_statistics,
        periodic,
        cutoffs,
        options["reduction"],
        **extra,
    )


def _checked_target(target: object, prediction: torch.Tensor, check_values: bool) -> torch.Tensor:
    target = require_floating_fields(target, "target")
    if target.shape[0] != prediction.shape[0] or target.shape[2:] != prediction.shape[2:]:
        raise ValueError(
            f"target must have the batch size and spatial shape of prediction {tuple(prediction.shape)}, "
            f"got shape {tuple(target.shape)}"
        )
    if num_phases_of(target) != num_phases_of(prediction):
        raise ValueError(
            f"target has {num_phases_of(target)} phases but prediction has {num_phases_of(prediction)} "
            f"(shapes {tuple(target.shape)} and {tuple(prediction.shape)}; one channel means two phases)"
        )
    if check_values:
        check_field_values(target, "target")
    return target


def _checked_target_statistics(
    statistics: object,
    prediction: torch.Tensor,
    cutoffs: tuple[int, ...] | None,
    periodic: bool | tuple[bool, ...],
    check_values: bool,
) -> torch.Tensor:
    statistics = require_tensor(statistics, "target_statistics")
    if not statistics.is_floating_point():
        raise TypeError(
            f"target_statistics must be a floating-point tensor of pair probabilities, got dtype {statistics.dtype}"
        )
    phases = num_phases_of(prediction)
    wanted = (phases, phases, *_offsets.window_lengths(tuple(prediction.shape[2:]), cutoffs, periodic))
    if tuple(statistics.shape[1:]) != wanted or statistics.shape[0] not in (1, prediction.shape[0]):
        raise ValueError(
            f"target_statistics must have shape (batch or 1, {', '.join(map(str, wanted))}) to match the "
            f"prediction's statistics with the same periodic/cutoff options, got shape {tuple(statistics.shape)}"
        )
    if statistics.device != prediction.device:
        raise ValueError(f"target_statistics is on {statistics.device} but prediction is on {prediction.device}")
    if check_values:
        check_statistics_values(statistics, "target_statistics", periodic=periodic)
    return statistics.to(as_loss_precision(prediction).dtype)


def statistics_pair(inputs: StatisticsLossInputs) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics ``(batch, P, P, *offsets)`` of the prediction and of the target (computed or given)."""
    options = dict(periodic=inputs.periodic, cutoff=inputs.cutoff, check_values=False)
    predicted = two_point_stats(inputs.prediction, **options)
    if inputs.target is not None:
        return predicted, two_point_stats(inputs.target, **options)
    assert inputs.target_statistics is not None
    return predicted, inputs.target_statistics


def statistics_of(
    fields: object, name: str, *, periodic: object = True, cutoff: object = None, check_values: object = True
) -> torch.Tensor:
    """:func:`~spatialstats.two_point_stats` of a fixed target in loss precision, without gradient, with errors
    that name the caller's argument ``name``."""
    options = check_options(periodic=periodic, cutoff=cutoff, check_values=check_values)
    fields = require_floating_fields(fields, name)
    periodic = canonical_periodic(options["periodic"], fields.ndim - 2)
    cutoffs = resolve_cutoff(options["cutoff"], tuple(fields.shape[2:]), periodic)
    if options["check_values"]:
        check_field_values(fields, name)
    with torch.no_grad():
        return two_point_stats(as_loss_precision(fields), periodic=periodic, cutoff=cutoffs, check_values=False)


def mean_over_offsets(per_pair_offset: torch.Tensor) -> torch.Tensor:
    """Sum over the two pair axes and average over the offsets: ``(batch, P, P, *offsets) -> (batch,)``."""
    return per_pair_offset.sum(dim=(1, 2)).flatten(1).mean(dim=1)


def reduce(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    reduction = check_reduction(reduction)
    if reduction == "mean":
        return per_sample.mean()
    if reduction == "sum":
        return per_sample.sum()
    return per_sample
