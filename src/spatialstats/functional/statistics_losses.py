"""Losses that compare the 2-point statistics of a predicted microstructure with a target's."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats._validation import check_field_values, require_floating_fields
from spatialstats.functional import _fused, _fused_phases
from spatialstats.functional._common import (
    StatisticsLossInputs,
    as_loss_precision,
    check_options,
    mean_over_offsets,
    prepare_statistics_loss,
    reduce,
    statistics_pair,
)

__all__ = ["msess", "cess", "center_crop_cess", "mse_cess", "CENTER_CROP_CUTOFF"]

# Each loss validates everything in prepare_statistics_loss (one place, at the top) and then computes with its
# ``*_reference`` function: plain autograd through two_point_stats, the reference any faster path must match.

#: Cutoff of :func:`center_crop_cess`: offsets -25..25, a 51 x 51 window that contains the paper's 50 x 50 crop.
CENTER_CROP_CUTOFF = 25


def msess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    reduction: str = "mean",
    check_values: bool = True,
) -> torch.Tensor:
    r"""Mean squared error of the 2-point statistics (MSESS).

    .. math::

        \mathcal{L}_\mathrm{MSESS} = \frac{1}{|R|} \sum_{r \in R} \sum_{h, h'}
            \bigl(f_\mathrm{pred}(h, h' \mid r) - f_\mathrm{target}(h, h' \mid r)\bigr)^2

    per sample, where :math:`R` is the set of offsets kept by ``periodic`` and ``cutoff`` (see
    :func:`spatialstats.two_point_stats`). Its minimum, 0, is reached when the statistics match.

    Args:
        prediction: predicted phase probabilities ``(batch, phases, *spatial)``, or the phase-1 probability
            ``(batch, 1, *spatial)`` of a two-phase microstructure.
        target: target microstructure of the same batch size, spatial shape and number of phases.
        target_statistics: instead of ``target``, its precomputed statistics ``(batch or 1, P, P, *offsets)``
            from :func:`spatialstats.two_point_stats` with the same ``periodic`` and ``cutoff``: a fixed target is
            then computed once.
        periodic: periodic or non-periodic statistics; a bool, or one bool per spatial axis (see
            :func:`spatialstats.two_point_stats`).
        cutoff: offsets kept, as in :func:`spatialstats.two_point_stats`.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample.
        check_values: check that the inputs are finite probabilities (reads the data; switch off in hot loops):
            fields in [0, 1] whose channels (if several) sum to one within ``max(1e-4, 4 * finfo(dtype).eps)``,
            and ``target_statistics`` in [0, 1] whose pairs sum to one at every offset within the same tolerance
            and, when every axis is periodic, whose marginals :math:`\sum_{h'} f(h, h' \mid r)` do not depend on
            :math:`r` (non-periodic or masked statistics given with ``periodic=True`` are refused; periodic
            statistics given with ``periodic=False`` and a cutoff have the right shape and valid values, and
            cannot be told apart).

    Example:
        >>> import torch, spatialstats.functional as F
        >>> target = (torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> F.msess(target, target).item()
        0.0
        >>> F.msess(torch.full_like(target, 0.5), target) > 0
        tensor(True)
    """
    inputs = prepare_statistics_loss(
        prediction, target, target_statistics, periodic=periodic, cutoff=cutoff, reduction=reduction,
        check_values=check_values,
    )
    if _fused.applies(inputs):
        return reduce(_fused.statistics_loss(inputs, "msess"), inputs.reduction)
    if _fused_phases.applies(inputs):
        return reduce(_fused_phases.statistics_loss(inputs, "msess"), inputs.reduction)
    return reduce(msess_reference(inputs), inputs.reduction)


def msess_reference(inputs: StatisticsLossInputs) -> torch.Tensor:
    """Per-sample MSESS ``(batch,)`` of validated inputs, by autograd through :func:`two_point_stats`."""
    predicted, expected = statistics_pair(inputs)
    return mean_over_offsets((predicted - expected).square())


def cess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    eps: float = 1e-6,
    kl: bool = False,
    reduction: str = "mean",
    check_values: bool = True,
) -> torch.Tensor:
    r"""Cross-entropy of the 2-point statistics (CESS).

    At each offset the pair probabilities :math:`f(h, h' \mid r)` of a one-hot field sum to one, so they are a
    distribution over phase pairs; CESS is the cross-entropy of the prediction's distribution against the
    target's, averaged over the offsets:

    .. math::

        \mathcal{L}_\mathrm{CESS} = -\frac{1}{|R|} \sum_{r \in R} \sum_{h, h'}
            f_\mathrm{target}(h, h' \mid r) \, \log\bigl(f_\mathrm{pred}(h, h' \mid r) + \epsilon\bigr).

    The minus sign makes it a proper cross-entropy, minimised over the prediction at
    :math:`f_\mathrm{pred} = f_\mathrm{target}`, where it equals the target's entropy (not zero). The
    :math:`\epsilon` keeps :math:`\log 0` finite where a pair never occurs in the prediction (for example
    phases 0 and 1 at :math:`r = 0` of a binary field); it bounds each term by :math:`-\log\epsilon`
    (13.8 for the default ``1e-6``) and changes values near zero only.

    With ``kl=True`` the target's entropy :math:`-\frac{1}{|R|}\sum_r \sum_{h,h'} f_t \log(f_t + \epsilon)` is
    subtracted, giving the Kullback-Leibler divergence: zero at a perfect match, with the same gradient with
    respect to the prediction.

    Args:
        prediction: predicted phase probabilities ``(batch, phases, *spatial)``, or the phase-1 probability
            ``(batch, 1, *spatial)`` of a two-phase microstructure.
        target: target microstructure of the same batch size, spatial shape and number of phases.
        target_statistics: instead of ``target``, its precomputed statistics (see :func:`msess`).
        periodic: periodic or non-periodic statistics; a bool, or one bool per spatial axis (see
            :func:`spatialstats.two_point_stats`).
        cutoff: offsets kept, as in :func:`spatialstats.two_point_stats`.
        eps: the guard of the logarithm, > 0 and at least the smallest normal number of the working dtype
            (1.2e-38 in float32; a smaller one would underflow to 0 and is refused).
        kl: return the KL divergence (CESS minus the target's entropy) instead.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample.
        check_values: check that the inputs are finite probabilities (reads the data; switch off in hot loops).

    Example:
        >>> import torch, spatialstats.functional as F
        >>> target = (torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> F.cess(target, target, kl=True).abs().item() < 1e-6
        True
        >>> bool(F.cess(torch.full_like(target, 0.5), target) > F.cess(target, target))
        True
    """
    inputs = prepare_statistics_loss(
        prediction, target, target_statistics, periodic=periodic, cutoff=cutoff, reduction=reduction,
        check_values=check_values, eps=eps, kl=kl,
    )
    if _fused.applies(inputs):
        return reduce(_fused.statistics_loss(inputs, "kl" if inputs.kl else "cess"), inputs.reduction)
    if _fused_phases.applies(inputs):
        return reduce(_fused_phases.statistics_loss(inputs, "kl" if inputs.kl else "cess"), inputs.reduction)
    return reduce(cess_reference(inputs), inputs.reduction)


def cess_reference(inputs: StatisticsLossInputs) -> torch.Tensor:
    r"""Per-sample CESS (or KL) ``(batch,)`` of validated inputs, by autograd through :func:`two_point_stats`.

    FFT round-off leaves about ``-1e-17`` where a statistic is exactly 0 (common at binary predictions); the value
    is clamped at 0 but the gradient passes straight through the clamp, so it is the derivative of
    :math:`\log(f + \epsilon)` at :math:`f = 0` (a zero gradient there would stall optimisation at binary fields).
    """
    assert inputs.eps is not None
    eps = inputs.eps
    predicted, expected = statistics_pair(inputs)
    log_predicted = torch.log(_clamp_min_zero_straight_through(predicted) + eps)
    if inputs.kl:
        log_ratio = torch.log(expected.clamp_min(0) + eps) - log_predicted
        return mean_over_offsets(expected * log_ratio)
    return -mean_over_offsets(expected * log_predicted)


def _clamp_min_zero_straight_through(values: torch.Tensor) -> torch.Tensor:
    """``values.clamp_min(0)`` in the forward pass, the identity in the backward pass."""
    return values + (values.clamp_min(0) - values).detach()


def center_crop_cess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] = CENTER_CROP_CUTOFF,
    eps: float = 1e-6,
    kl: bool = False,
    reduction: str = "mean",
    check_values: bool = True,
) -> torch.Tensor:
    r"""CESS restricted to a centred window of short offsets.

    .. math::

        \mathcal{L}_\mathrm{crop} = -\frac{1}{|W|} \sum_{r \in W} \sum_{h, h'}
            f_\mathrm{target}(h, h' \mid r) \, \log\bigl(f_\mathrm{pred}(h, h' \mid r) + \epsilon\bigr),
        \qquad W = \{ r : |r_d| \le c \}

    Short offsets carry the local morphology (interface area, feature size); long ones mostly the volume fractions,
    so the crop concentrates the loss where reconstructions differ. The paper crops a 50 x 50 window from the
    centred 224 x 224 statistics, offsets -25..24; the default ``cutoff=25`` keeps the symmetric window -25..25
    (51 x 51), which contains it and keeps :math:`f(h, h' \mid r) = f(h', h \mid -r)` balanced. Non-periodic
    statistics are padded only as far as the cutoff needs, so the crop is also cheaper.

    Args:
        prediction, target, target_statistics, periodic, eps, kl, reduction, check_values: as in :func:`cess`.
        cutoff: half-width of the window per axis (int or one per axis); default 25.

    Example:
        >>> import torch, spatialstats.functional as F
        >>> target = (torch.rand(2, 1, 64, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> crop = F.center_crop_cess(torch.full_like(target, 0.5), target)
        >>> bool(torch.isclose(crop, F.cess(torch.full_like(target, 0.5), target, cutoff=25)))
        True
    """
    if cutoff is None:
        raise ValueError("cutoff of center_crop_cess must be an int or one int per axis, got None (use cess for all offsets)")
    return cess(
        prediction,
        target,
        target_statistics=target_statistics,
        periodic=periodic,
        cutoff=cutoff,
        eps=eps,
        kl=kl,
        reduction=reduction,
        check_values=check_values,
    )


def mse_cess(
    prediction: torch.Tensor,
    target: torch.Tensor,
    *,
    target_statistics: torch.Tensor | None = None,
    alpha: float = 1.0,
    periodic: bool | Sequence[bool] = True,
    cutoff: int | Sequence[int] | None = None,
    eps: float = 1e-6,
    kl: bool = False,
    reduction: str = "mean",
    check_values: bool = True,
) -> torch.Tensor:
    r"""Pixel-wise mean squared error plus CESS.

    .. math::

        \mathcal{L} = \alpha \, \frac{1}{|X|} \sum_x \bigl(m_\mathrm{pred}(x) - m_\mathrm{target}(x)\bigr)^2
            + \mathcal{L}_\mathrm{CESS}

    The pixel term ties the reconstruction to the target's actual layout; CESS to its statistics. The pixel mean runs
    over every channel and voxel of a sample, so both inputs must have the same shape.

    Args:
        prediction: predicted microstructure ``(batch, phases, *spatial)`` or ``(batch, 1, *spatial)``.
        target: target microstructure of the same shape (the pixel term needs the pixels).
        target_statistics: optionally, the target's precomputed statistics (see :func:`msess`), so that a fixed
            target's statistics are not recomputed at every call.
        alpha: weight of the pixel term, >= 0.
        periodic, cutoff, eps, kl, reduction, check_values: as in :func:`cess`.

    Example:
        >>> import torch, spatialstats.functional as F
        >>> target = (torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> guess = torch.full_like(target, 0.5)
        >>> total = F.mse_cess(guess, target, alpha=2.0)
        >>> bool(torch.isclose(total, 2.0 * torch.mean((guess - target) ** 2) + F.cess(guess, target)))
        True
    """
    options = check_options(alpha=alpha, reduction=reduction, check_values=check_values)
    prediction = require_floating_fields(prediction, "prediction")
    target = require_floating_fields(target, "target")
    if prediction.shape != target.shape:
        raise ValueError(
            f"target must have the shape of prediction {tuple(prediction.shape)} for the pixel term, got {tuple(target.shape)}"
        )
    if target_statistics is not None and options["check_values"]:  # otherwise cess checks it
        check_field_values(target, "target")
    statistics_term = cess(
        prediction,
        None if target_statistics is not None else target,
        target_statistics=target_statistics,
        periodic=periodic,
        cutoff=cutoff,
        eps=eps,
        kl=kl,
        reduction="none",
        check_values=check_values,
    )
    pixel_term = (as_loss_precision(prediction) - as_loss_precision(target)).square().flatten(1).mean(dim=1)
    return reduce(options["alpha"] * pixel_term + statistics_term, options["reduction"])
