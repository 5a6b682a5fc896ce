"""Thresholded Gaussian random fields: isotropic or anisotropic, two or more phases."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats._validation import is_real
from spatialstats.synthetic._common import (
    check_count,
    check_finite,
    check_positive,
    make_generator,
    resolve_device,
    resolve_size,
)

__all__ = ["gaussian_random_field", "threshold_by_fractions"]


def gaussian_random_field(
    batch: int,
    size: int | Sequence[int] = 224,
    *,
    correlation_length: float | Sequence[float] = 8.0,
    angle: float = 0.0,
    volume_fractions: float | Sequence[float] = 0.5,
    seed: int | None = None,
    device: str | torch.device = "cpu",
) -> torch.Tensor:
    r"""Periodic Gaussian random fields (white noise smoothed by a Gaussian kernel), cut into phases at quantiles.

    White noise :math:`\xi` on the periodic grid is filtered in Fourier space,

    .. math::

        \hat g(k) = \hat\xi(k)\, \exp\Bigl(-\tfrac12 \sum_d (2\pi\, \ell_d\, \tilde k_d)^2\Bigr),
        \qquad \tilde k = R_\theta k,

    i.e. convolved with a Gaussian of standard deviation :math:`\ell_d` (``correlation_length``) along axis
    :math:`d` of a frame rotated by ``angle`` :math:`\theta` in 2D (:math:`k` in cycles per pixel). The first
    length then runs along :math:`(\cos\theta, \sin\theta)` in (first, second) image-axis coordinates, as for
    :func:`~spatialstats.synthetic.ellipses`; the field's own correlation is Gaussian with standard deviation
    :math:`\sqrt2\,\ell_d`. Each sample is then cut at its own quantiles (:func:`threshold_by_fractions`), so
    phase :math:`p` covers exactly ``round(volume_fractions[p - 1] * pixels)`` pixels (up to ties, which a
    continuous field does not have). Since quantiles ignore a constant offset and scale, the mean (:math:`k = 0`)
    is dropped and the filter is divided by its largest value over :math:`k \ne 0`: the field keeps its variation
    (and the requested fractions) for any correlation length, even one much longer than the image, where the
    lowest frequencies alone remain (a smooth wave) instead of an underflowed, constant, single-phase image.

    Args:
        batch: number of microstructures.
        size: an int (square image) or a 2D/3D shape.
        correlation_length: kernel standard deviation in pixels, one for all axes or one per axis (anisotropy).
        angle: rotation of the kernel's axes in 2D, radians (must be 0 in 3D).
        volume_fractions: the fraction of phase 1 (two phases), or the fractions of phases 1 .. P-1 for P phases;
            phase 0 takes the rest. Phases are ordered by field value, phase P-1 at the top.
        seed: seed of the noise (see :mod:`spatialstats.synthetic`); ``None`` draws a fresh one.
        device: where the fields are filtered and returned.

    Returns:
        ``torch.long`` label maps ``(batch, *size)``.

    References:
        [MICRO2D]_: like its GRF class; thresholded Gaussian fields as models of random media: [Tor02]_.

    Example:
        >>> from spatialstats.synthetic import gaussian_random_field
        >>> labels = gaussian_random_field(2, 64, correlation_length=(6.0, 2.0), volume_fractions=[0.3, 0.2], seed=0)
        >>> [round((labels == phase).float().mean().item(), 3) for phase in range(3)]
        [0.5, 0.3, 0.2]
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    ndim = len(shape)
    if is_real(correlation_length):
        lengths = [correlation_length] * ndim
    elif isinstance(correlation_length, Sequence) and not isinstance(correlation_length, str):
        lengths = list(correlation_length)
    else:
        raise TypeError(f"correlation_length must be a number or a sequence of numbers, got {correlation_length!r}")
    if len(lengths) != ndim:
        raise ValueError(f"correlation_length must give one value or {ndim} values for size {shape}, got {correlation_length!r}")
    lengths = [check_positive(length, "correlation_length") for length in lengths]
    angle = check_finite(angle, "angle")
    if ndim == 3 and angle != 0.0:
        raise ValueError(f"angle must be 0 for 3D fields (rotation is 2D only), got {angle!r}")
    fractions = _check_fractions(volume_fractions)
    device = resolve_device(device)
    generator = make_generator(seed)
    noise = torch.randn(batch, *shape, generator=generator).to(device)
    frequencies = list(
        torch.meshgrid(
            *[torch.fft.fftfreq(n, device=device) for n in shape[:-1]],
            torch.fft.rfftfreq(shape[-1], device=device),
            indexing="ij",
        )
    )
    if ndim == 2 and angle != 0.0:
        cos, sin = math.cos(angle), math.sin(angle)
        frequencies = [frequencies[0] * cos + frequencies[1] * sin, -frequencies[0] * sin + frequencies[1] * cos]
    exponent = sum((2 * math.pi * length * k) ** 2 for length, k in zip(lengths, frequencies))
    exponent.view(-1)[0] = math.inf  # k = 0: the mean, which the quantiles ignore
    exponent = exponent - exponent.min()  # the filter's largest value over k != 0 becomes 1: no underflow
    dims = tuple(range(1, ndim + 1))
    smooth = torch.fft.irfftn(torch.fft.rfftn(noise, dim=dims) * torch.exp(-0.5 * exponent), s=shape, dim=dims)
    return threshold_by_fractions(smooth, fractions)


def _check_fractions(volume_fractions: object) -> list[float]:
    if is_real(volume_fractions):
        fractions = [volume_fractions]
    elif isinstance(volume_fractions, Sequence) and not isinstance(volume_fractions, str):
        fractions = list(volume_fractions)
    else:
        raise TypeError(f"volume_fractions must be a number or a sequence of numbers, got {volume_fractions!r}")
    valid = bool(fractions) and all(
        is_real(f) and 0 < f < 1 for f in fractions
    )
    if not valid or sum(fractions) >= 1:
        raise ValueError(
            "volume_fractions must be fractions in (0, 1) of phases 1, 2, ..., summing to less than 1, "
            f"got {volume_fractions!r}"
        )
    return [float(f) for f in fractions]


def threshold_by_fractions(values: torch.Tensor, volume_fractions: float | Sequence[float]) -> torch.Tensor:
    r"""Labels from continuous fields ``(batch, *spatial)`` by per-sample quantiles.

    With :math:`N` pixels per sample and :math:`n_p = \mathrm{round}(f_p N)`, the :math:`n_{P-1}` largest values
    become phase :math:`P-1`, the next :math:`n_{P-2}` phase :math:`P-2`, and so on; the rest is phase 0. That is,
    label :math:`= \sum_j [\,v \ge t_j\,]` with :math:`t_j` the :math:`(n_{P-1} + \dots + n_{P-j})`-th largest value.

    Args:
        values: real tensor ``(batch, *spatial)``.
        volume_fractions: fraction of phase 1, or of phases 1 .. P-1 (summing to less than 1).

    Returns:
        ``torch.long`` labels of the same shape.

    Example:
        >>> import torch
        >>> from spatialstats.synthetic import threshold_by_fractions
        >>> threshold_by_fractions(torch.arange(10.0).reshape(1, 10), [0.2, 0.3])
        tensor([[0, 0, 0, 0, 0, 1, 1, 2, 2, 2]])
    """
    if not isinstance(values, torch.Tensor) or not values.is_floating_point() or values.dim() < 2:
        raise TypeError(f"values must be a real floating tensor (batch, *spatial), got {values!r:.80}")
    fractions = _check_fractions(volume_fractions)
    flat = values.flatten(1)
    pixels = flat.shape[1]
    labels = torch.zeros_like(flat, dtype=torch.long)
    from_top = 0
    for fraction in reversed(fractions):  # phases P-1, ..., 1
        from_top += round(fraction * pixels)
        if from_top == 0:
            continue
        threshold = torch.kthvalue(flat, pixels - from_top + 1, dim=1, keepdim=True).values
        labels += flat >= threshold
    return labels.reshape(values.shape)
