"""Builders of phase fields ``(batch, phases, *spatial)`` from the layouts microstructure data usually comes in."""

from __future__ import annotations

import torch

from spatialstats._validation import MAX_SPATIAL_DIMS, check_int, require_floating_fields, require_tensor

__all__ = ["one_hot_from_labels", "two_phase_from_probability"]


def one_hot_from_labels(
    labels: torch.Tensor, num_phases: int | None = None, *, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    r"""One-hot phase indicator fields from an integer label map.

    .. math::

        m(h, x) = \begin{cases} 1 & \text{if } \mathrm{labels}(x) = h \\ 0 & \text{otherwise} \end{cases}

    Args:
        labels: integer tensor ``(batch, *spatial)`` with 1 to 3 spatial dimensions and values in
            ``0 .. num_phases - 1``.
        num_phases: number of phases ``P``; by default ``max(labels) + 1``, at least 2.
        dtype: floating dtype of the result.

    Returns:
        Tensor ``(batch, P, *spatial)`` of zeros and ones.

    References:
        [BWK17]_: the local states :math:`m(h, x)` of PyMKS, here channels-first.

    Example:
        >>> import torch, spatialstats
        >>> labels = torch.tensor([[0, 1, 2, 1]])
        >>> spatialstats.one_hot_from_labels(labels)[0]
        tensor([[1., 0., 0., 0.],
                [0., 1., 0., 1.],
                [0., 0., 1., 0.]])
    """
    labels = require_tensor(labels, "labels")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"labels must be an integer tensor, got dtype {labels.dtype}")
    if not 2 <= labels.ndim <= 1 + MAX_SPATIAL_DIMS:
        raise ValueError(
            f"labels must have shape (batch, *spatial) with 1 to {MAX_SPATIAL_DIMS} spatial dimensions, "
            f"got shape {tuple(labels.shape)}"
        )
    if labels.numel() == 0:
        raise ValueError(f"labels must not be empty, got shape {tuple(labels.shape)}")
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    low, high = (int(v) for v in torch.aminmax(labels))
    if low < 0:
        raise ValueError(f"labels must be >= 0, got a minimum label of {low}")
    if num_phases is None:
        num_phases = max(high + 1, 2)
    else:
        num_phases = check_int(num_phases, "num_phases", minimum=2)
    if high >= num_phases:
        raise ValueError(f"labels must be < num_phases={num_phases}, got a maximum label of {high}")
    one_hot = torch.nn.functional.one_hot(labels.long(), num_phases)
    return one_hot.movedim(-1, 1).to(dtype)


def two_phase_from_probability(probability: torch.Tensor) -> torch.Tensor:
    r"""Two-phase field from the probability of phase 1.

    .. math::

        m(0, x) = 1 - p(x), \qquad m(1, x) = p(x)

    This is the usual output of a decoder with one sigmoid channel. :func:`spatialstats.two_point_stats` accepts
    the single channel directly and is faster on it; this helper gives the explicit two-channel layout.

    Args:
        probability: tensor ``(batch, 1, *spatial)`` with values in [0, 1].

    Returns:
        Tensor ``(batch, 2, *spatial)``.

    References:
        [BWK17]_: the local states :math:`m(h, x)` of PyMKS, here channels-first.

    Example:
        >>> import torch, spatialstats
        >>> spatialstats.two_phase_from_probability(torch.tensor([[[0.25, 1.0]]]))
        tensor([[[0.7500, 0.0000],
                 [0.2500, 1.0000]]])
    """
    probability = require_floating_fields(probability, "probability")
    if probability.shape[1] != 1:
        raise ValueError(
            f"probability must have exactly one channel, shape (batch, 1, *spatial), got shape {tuple(probability.shape)}"
        )
    return torch.cat([1 - probability, probability], dim=1)
