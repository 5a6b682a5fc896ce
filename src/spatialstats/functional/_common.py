"""Shared plumbing of the statistics losses: computing both sides' statistics and reducing per-sample values."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from spatialstats._validation import check_reduction, check_unit_interval, require_floating_fields, require_tensor
from spatialstats.statistics import two_point_stats

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def as_loss_precision(fields: torch.Tensor) -> torch.Tensor:
    """Losses are computed in at least float32: half-precision statistics lose the small probabilities CESS logs."""
    return fields.float() if fields.dtype in _LOW_PRECISION else fields


def num_phases_of(fields: torch.Tensor) -> int:
    return 2 if fields.shape[1] == 1 else fields.shape[1]


def require_one_target(target: object, target_statistics: object) -> None:
    if (target is None) == (target_statistics is None):
        raise ValueError("give exactly one of target (a microstructure) and target_statistics (its precomputed statistics)")


def statistics_pair(
    prediction: torch.Tensor,
    target: torch.Tensor | None,
    target_statistics: torch.Tensor | None,
    *,
    periodic: bool,
    cutoff: int | Sequence[int] | None,
    check_values: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics ``(batch, P, P, *offsets)`` of the prediction and of the target (computed or given)."""
    prediction = require_floating_fields(prediction, "prediction")
    require_one_target(target, target_statistics)
    if check_values:  # checked here so that errors name the loss's own arguments
        check_unit_interval(prediction, "prediction")
    predicted = two_point_stats(as_loss_precision(prediction), periodic=periodic, cutoff=cutoff, check_values=False)
    expected = expected_statistics(
        prediction, target, target_statistics, tuple(predicted.shape[1:]), predicted,
        periodic=periodic, cutoff=cutoff, check_values=check_values,
    )
    return predicted, expected


def expected_statistics(
    prediction: torch.Tensor,
    target: torch.Tensor | None,
    target_statistics: torch.Tensor | None,
    wanted: tuple[int, ...],
    like: torch.Tensor,
    *,
    periodic: bool,
    cutoff: int | Sequence[int] | None,
    check_values: bool,
    compute: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """The target side of :func:`statistics_pair`: checked against the (validated) ``prediction``, with statistics
    of shape ``(batch or 1, *wanted)`` in the dtype and on the device of ``like``; ``compute`` computes a target's
    statistics (default :func:`spatialstats.two_point_stats` with the same options)."""
    if target is not None:
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
            check_unit_interval(target, "target")
        if compute is not None:
            return compute(target)
        return two_point_stats(as_loss_precision(target), periodic=periodic, cutoff=cutoff, check_values=False)
    expected = require_tensor(target_statistics, "target_statistics")
    if tuple(expected.shape[1:]) != wanted or expected.shape[0] not in (1, prediction.shape[0]):
        raise ValueError(
            f"target_statistics must have shape (batch or 1, {', '.join(map(str, wanted))}) to match the "
            f"prediction's statistics with the same periodic/cutoff options, got shape {tuple(expected.shape)}"
        )
    if expected.device != like.device:
        raise ValueError(f"target_statistics is on {expected.device} but prediction is on {like.device}")
    return expected.to(like.dtype)


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
