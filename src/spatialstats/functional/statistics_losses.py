"""Losses that compare the 2-point statistics of a predicted microstructure with a target's."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from spatialstats._validation import check_positive, check_reduction, require_floating_fields
from spatialstats.functional import _fused
from spatialstats.functional._common import as_loss_precision, mean_over_offsets, reduce, statistics_pair

__all__ = ["msess", "cess", "center_crop_cess", "mse_cess", "CENTER_CROP_CUTOFF"]

#: Cutoff of :func:`center_crop_cess`: offsets -25..25, a 51 x 51 window that contains the paper's 50 x 50 crop.
CENTER_CROP_CUTOFF = 25


def msess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool = True,
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
        periodic: periodic or non-periodic statistics.
        cutoff: offsets kept, as in :func:`spatialstats.two_point_stats`.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample.
        check_values: check that the inputs are finite probabilities (reads the data; switch off in hot loops).

    Example:
        >>> import torch, spatialstats.functional as F
        >>> target = (torch.rand(4, 1, 32, 32, generator=torch.Generator().manual_seed(0)) > 0.5).float()
        >>> F.msess(target, target).item()
        0.0
        >>> F.msess(torch.full_like(target, 0.5), target) > 0
        tensor(True)
    """
    check_reduction(reduction)
    if _fused.applies(prediction, target, target_statistics):
        options = dict(periodic=periodic, cutoff=cutoff, kind="msess", eps=0.0, check_values=check_values)
        return reduce(_fused.statistics_loss(prediction, target, target_statistics, **options), reduction)
    predicted, expected = statistics_pair(
        prediction, target, target_statistics, periodic=periodic, cutoff=cutoff, check_values=check_values
    )
    return reduce(mean_over_offsets((predicted - expected).square()), reduction)


def cess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool = True,
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
        periodic: periodic or non-periodic statistics.
        cutoff: offsets kept, as in :func:`spatialstats.two_point_stats`.
        eps: the guard of the logarithm, > 0.
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
    check_reduction(reduction)
    eps = check_positive(eps, "eps")
    if _fused.applies(prediction, target, target_statistics):
        options = dict(periodic=periodic, cutoff=cutoff, kind="kl" if kl else "cess", eps=eps, check_values=check_values)
        return reduce(_fused.statistics_loss(prediction, target, target_statistics, **options), reduction)
    predicted, expected = statistics_pair(
        prediction, target, target_statistics, periodic=periodic, cutoff=cutoff, check_values=check_values
    )
    log_predicted = torch.log(predicted.clamp_min(0) + eps)
    if kl:
        log_ratio = torch.log(expected.clamp_min(0) + eps) - log_predicted
        per_sample = mean_over_offsets(expected * log_ratio)
    else:
        per_sample = -mean_over_offsets(expected * log_predicted)
    return reduce(per_sample, reduction)


def center_crop_cess(
    prediction: torch.Tensor,
    target: torch.Tensor | None = None,
    *,
    target_statistics: torch.Tensor | None = None,
    periodic: bool = True,
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
    periodic: bool = True,
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
    check_reduction(reduction)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    prediction = require_floating_fields(prediction, "prediction")
    target = require_floating_fields(target, "target")
    if prediction.shape != target.shape:
        raise ValueError(
            f"target must have the shape of prediction {tuple(prediction.shape)} for the pixel term, got {tuple(target.shape)}"
        )
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
    return reduce(alpha * pixel_term + statistics_term, reduction)
