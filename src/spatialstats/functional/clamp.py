"""The binarizing clamp loss: a two-Gaussian mixture prior that pulls pixel values towards 0 and 1."""

from __future__ import annotations

import math

import torch

from spatialstats._validation import check_finite_values, require_floating_fields
from spatialstats.functional._common import as_loss_precision, check_options, reduce

__all__ = ["clamp_loss"]


def clamp_loss(
    prediction: torch.Tensor, *, width: float = 0.1, reduction: str = "mean", check_values: bool = True
) -> torch.Tensor:
    r"""Negative log-likelihood of the pixel values under an equal mixture of Gaussians at 0 and 1.

    .. math::

        \mathcal{L}_\mathrm{clamp} = -\frac{1}{|X|} \sum_x \log\Bigl(
            \tfrac12 \mathcal{N}(m(x); 0, \sigma^2) + \tfrac12 \mathcal{N}(m(x); 1, \sigma^2) \Bigr)

    with :math:`\sigma` = ``width``, averaged over every channel and voxel of a sample so that its weight does not
    depend on the image size. It grows quadratically away from 0 and 1 and is computed without intermediate
    overflow: per pixel as :math:`d^2 / (2\sigma^2) - \log(1 + e^{-|2m - 1| / (2\sigma^2)})`, with :math:`d` the
    distance to the nearer of 0 and 1, the mean of :math:`d^2` summed as :math:`\sum (d / \sqrt{N})^2` and scaled
    by :math:`1 / (2\sigma^2)` in float64 after the sum, and the result returned in the input's precision (at least
    float32). Value and gradient are finite wherever they are representable in that dtype (in float32 with
    ``width=0.1``: for every :math:`|m| < 2.6 \times 10^{18}`, and beyond where few pixels are that large, since a
    pixel counts with its share of the mean). The smallest value, reached at :math:`m = 0` and :math:`m = 1` for small :math:`\sigma`, is
    :math:`\log(2\sigma\sqrt{2\pi}) - \log(1 + e^{-1/(2\sigma^2)})`; it is negative for :math:`\sigma < 0.2`, which
    is harmless for a gradient but worth knowing when reading loss curves.

    Args:
        prediction: pixel values ``(batch, channels, *spatial)`` (probabilities or any real field).
        width: standard deviation :math:`\sigma` of each Gaussian, > 0 (and >= 1e-150, so that
            :math:`1 / (2\sigma^2)` is finite); smaller pulls harder near 0 and 1.
        reduction: ``"mean"`` or ``"sum"`` over the batch, or ``"none"`` for one value per sample.
        check_values: check that the input is finite (reads the data; switch off in hot loops).

    Example:
        >>> import torch, spatialstats.functional as F
        >>> binary = torch.tensor([[[0.0, 1.0]]])
        >>> blurred = torch.tensor([[[0.5, 0.5]]])
        >>> bool(F.clamp_loss(binary) < F.clamp_loss(blurred))
        True
    """
    options = check_options(width=width, reduction=reduction, check_values=check_values)
    prediction = require_floating_fields(prediction, "prediction")
    if options["check_values"]:
        check_finite_values(prediction, "prediction")
    width = options["width"]
    scale = 0.5 / width / width
    values = as_loss_precision(prediction)
    if scale > torch.finfo(values.dtype).max / 4:  # 1 / (2 sigma^2) itself would overflow the working dtype
        values = values.double()
    # -log(N(m; 0, s^2)/2 + N(m; 1, s^2)/2) = log_normaliser + d^2 / (2 s^2) - log1p(exp(-|2m - 1| / (2 s^2))),
    # with a = |m - 1/2|, d = |a - 1/2| the distance to the nearer of 0 and 1 and |2m - 1| = 2a. The quadratic
    # part is the sum of (d / sqrt(N))^2, which stays below the mean of d^2 (no sum overflows where the mean does
    # not), times 1 / (2 s^2) in float64; no intermediate gradient exceeds the true one by more than sqrt(N).
    # The other part lies in [0, log 2].
    half_distance = (values - 0.5).abs()
    pixels = values[0].numel()
    quadratic = ((half_distance - 0.5) * (1 / math.sqrt(pixels))).square().flatten(1).sum(dim=1).double() * scale
    mixing = torch.nn.functional.softplus(-2 * scale * half_distance).flatten(1).mean(dim=1)
    log_normaliser = math.log(2.0) + math.log(width) + 0.5 * math.log(2.0 * math.pi)
    per_sample = log_normaliser + quadratic - mixing
    return reduce(per_sample.to(as_loss_precision(prediction).dtype), options["reduction"])
