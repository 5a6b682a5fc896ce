"""The binarizing clamp loss: a two-Gaussian mixture prior that pulls pixel values towards 0 and 1."""

from __future__ import annotations

import math

import torch

from spatialstats._validation import check_finite, check_positive, check_reduction, require_floating_fields
from spatialstats.functional._common import as_loss_precision, reduce

__all__ = ["clamp_loss"]


def clamp_loss(
    prediction: torch.Tensor, *, width: float = 0.1, reduction: str = "mean", check_values: bool = True
) -> torch.Tensor:
    r"""Negative log-likelihood of the pixel values under an equal mixture of Gaussians at 0 and 1.

    .. math::

        \mathcal{L}_\mathrm{clamp} = -\frac{1}{|X|} \sum_x \log\Bigl(
            \tfrac12 \mathcal{N}(m(x); 0, \sigma^2) + \tfrac12 \mathcal{N}(m(x); 1, \sigma^2) \Bigr)

    with :math:`\sigma` = ``width``, averaged over every channel and voxel of a sample so that its weight does not
    depend on the image size. It is computed with ``logaddexp``, so it stays finite (and grows quadratically) for any
    finite input. The smallest value, reached at :math:`m = 0` and :math:`m = 1` for small :math:`\sigma`, is
    :math:`\log(2\sigma\sqrt{2\pi}) - \log(1 + e^{-1/(2\sigma^2)})`; it is negative for :math:`\sigma < 0.2`, which
    is harmless for a gradient but worth knowing when reading loss curves.

    Args:
        prediction: pixel values ``(batch, channels, *spatial)`` (probabilities or any real field).
        width: standard deviation :math:`\sigma` of each Gaussian, > 0; smaller pulls harder near 0 and 1.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample.
        check_values: check that the input is finite (reads the data; switch off in hot loops).

    Example:
        >>> import torch, spatialstats.functional as F
        >>> binary = torch.tensor([[[0.0, 1.0]]])
        >>> blurred = torch.tensor([[[0.5, 0.5]]])
        >>> bool(F.clamp_loss(binary) < F.clamp_loss(blurred))
        True
    """
    check_reduction(reduction)
    width = check_positive(width, "width")
    prediction = require_floating_fields(prediction, "prediction")
    if check_values:
        check_finite(prediction, "prediction")
    values = as_loss_precision(prediction)
    scale = -0.5 / (width * width)
    log_normaliser = math.log(2.0) + math.log(width) + 0.5 * math.log(2.0 * math.pi)
    log_mixture = torch.logaddexp(values.square() * scale, (values - 1).square() * scale)
    return reduce(log_normaliser - log_mixture.flatten(1).mean(dim=1), reduction)
