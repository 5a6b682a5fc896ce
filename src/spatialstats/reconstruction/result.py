"""The result of a reconstruction and the statistics error used to judge it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from spatialstats.fields import one_hot_from_labels
from spatialstats.reconstruction.morphology import MorphologyReport
from spatialstats.statistics import two_point_stats


def binarize(field: torch.Tensor) -> torch.Tensor:
    """Label map ``(batch, *spatial)`` of a soft field: phase 1 where ``p > 0.5`` for one channel, else the argmax.

    Example:
        >>> import torch
        >>> from spatialstats.reconstruction import binarize
        >>> binarize(torch.tensor([[[0.2, 0.7]]])).tolist()
        [[0, 1]]
    """
    if field.shape[1] == 1:
        return (field[:, 0] > 0.5).long()
    return field.argmax(dim=1)


def statistics_error(
    labels: torch.Tensor,
    target_statistics: torch.Tensor,
    *,
    periodic: bool = True,
    cutoff: int | Sequence[int] | None = None,
) -> torch.Tensor:
    r"""Root-mean-square difference between the 2-point statistics of label maps and target statistics.

    .. math::

        E = \sqrt{\frac{1}{P^2 |R|} \sum_{h, h'} \sum_{r \in R}
            \bigl(f_\mathrm{labels}(h, h' \mid r) - f_\mathrm{target}(h, h' \mid r)\bigr)^2}

    over the full :math:`P \times P` pair matrix and every offset :math:`r` of the chosen layout (``periodic`` and
    ``cutoff`` as in :func:`spatialstats.two_point_stats`). It is a probability scale: 0 is a perfect match; a
    random field of the right volume fraction typically scores a few times :math:`10^{-2}`.

    Args:
        labels: integer phase labels ``(batch, *spatial)``.
        target_statistics: ``(batch or 1, P, P, *offsets)`` computed with the same ``periodic``/``cutoff``.
        periodic, cutoff: the offset layout, as in :func:`spatialstats.two_point_stats`.

    Returns:
        One error per label map, shape ``(batch,)``, in the dtype of ``target_statistics``.

    Example:
        >>> import torch, spatialstats as ss
        >>> from spatialstats.reconstruction import statistics_error
        >>> labels = (torch.rand(1, 16, 16, generator=torch.Generator().manual_seed(0)) > 0.5).long()
        >>> target = ss.two_point_stats(ss.one_hot_from_labels(labels, 2))
        >>> statistics_error(labels, target).tolist()
        [0.0]
    """
    num_phases = target_statistics.shape[1]
    one_hot = one_hot_from_labels(labels, num_phases).to(device=target_statistics.device, dtype=target_statistics.dtype)
    statistics = two_point_stats(one_hot, periodic=periodic, cutoff=cutoff, check_values=False)
    if statistics.shape[1:] != target_statistics.shape[1:]:
        raise ValueError(
            f"target_statistics must have shape (batch or 1, {', '.join(map(str, statistics.shape[1:]))}) for labels "
            f"of shape {tuple(labels.shape)}, got {tuple(target_statistics.shape)}"
        )
    return (statistics - target_statistics).square().flatten(1).mean(dim=1).sqrt()


@dataclass
class ReconstructionResult:
    """Outcome of :func:`spatialstats.reconstruction.reconstruct` for a batch of reconstructions.

    Reconstructions are ordered target-major: index ``t * num_samples + s`` is sample ``s`` of target ``t``.

    Attributes:
        field: soft phase probabilities ``(batch, P, *spatial)``, all ``P`` channels (two for a two-phase problem).
        labels: binarized result ``(batch, *spatial)`` (``p > 0.5`` for two phases, argmax otherwise), ``torch.long``.
        one_hot: ``labels`` as one-hot ``(batch, P, *spatial)`` in the field's dtype.
        loss_history: per-step, per-reconstruction loss ``(steps_run, batch)``; a converged reconstruction keeps
            its last value.
        statistics_error: :func:`statistics_error` of ``labels`` against the target statistics, ``(batch,)``.
        target_statistics: the statistics that were matched ``(batch, P, P, *offsets)``.
        converged: whether early stopping froze each reconstruction ``(batch,)`` (all ``False`` without tolerance).
        steps_run: number of optimizer steps taken.
        seconds: wall time of the optimization loop.
        morphology: :func:`~spatialstats.reconstruction.morphology` of ``labels`` (same ``periodic``).
        target_morphology: the same report of the target's binarized labels (one per reconstruction, target-major),
            or ``None`` when only ``target_statistics`` were given.

    Example:
        >>> import torch
        >>> from spatialstats.reconstruction import reconstruct
        >>> target = torch.zeros(1, 1, 16, 16)
        >>> target[..., 4:12, 4:12] = 1
        >>> result = reconstruct(target, steps=20, progress=False)
        >>> result.field.shape, result.labels.shape, result.loss_history.shape
        (torch.Size([1, 2, 16, 16]), torch.Size([1, 16, 16]), torch.Size([20, 1]))
        >>> result.morphology.volume_fractions.shape
        torch.Size([1, 2])
    """

    field: torch.Tensor
    labels: torch.Tensor
    one_hot: torch.Tensor
    loss_history: torch.Tensor
    statistics_error: torch.Tensor
    target_statistics: torch.Tensor
    converged: torch.Tensor
    steps_run: int
    seconds: float
    morphology: MorphologyReport | None = None
    target_morphology: MorphologyReport | None = None
