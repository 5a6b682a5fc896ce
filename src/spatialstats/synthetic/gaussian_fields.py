"""Thresholded Gaussian random fields: isotropic or anisotropic, two or more phases."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from spatialstats.synthetic._common import check_count, check_positive, make_generator, resolve_size

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
    r"""Periodic Gaussian random fields smoothed by a Gaussian kernel, thresholded into phases.

    White noise :math:`\xi` is filtered in Fourier space,

    .. math::

        \hat g(k) = \hat\xi(k) \exp\Bigl(-\tfrac12 \sum_d (2\pi\, \ell_d\, \tilde k_d)^2\Bigr),

    where :math:`\tilde k` are the frequencies (cycles per pixel) rotated by ``angle`` in 2D and :math:`\ell_d` the
    per-axis ``correlation_length``. Each field is then cut at its own quantiles so that the phases have the
    requested volume fractions (up to ties, exactly).

    Args:
        batch: number of microstructures.
        size: an int or a 2D/3D shape.
        correlation_length: kernel width in pixels, one for all axes or one per axis (anisotropy).
        angle: rotation of the kernel's axes in 2D, radians.
        volume_fractions: the fraction of phase 1 for two phases, or the fractions of phases 1..P-1 (phase 0
            takes the rest) for P phases.
        seed: seed of the noise; ``None`` draws a fresh one.
        device: where the fields are built (the noise is drawn on the CPU, so seeds agree across devices).

    Returns:
        ``torch.long`` label maps ``(batch, *size)``.

    Example:
        >>> from spatialstats.synthetic import gaussian_random_field
        >>> labels = gaussian_random_field(2, 64, correlation_length=(6.0, 2.0), volume_fractions=0.3, seed=0)
        >>> round(float(labels.float().mean()), 3)
        0.3
    """
    shape = resolve_size(size)
    check_count(batch, "batch")
    ndim = len(shape)
    lengths = [correlation_length] * ndim if isinstance(correlation_length, (int, float)) else list(correlation_length)
    if len(lengths) != ndim:
        raise ValueError(f"correlation_length must give one value or {ndim} values, got {correlation_length!r}")
    lengths = [check_positive(length, "correlation_length") for length in lengths]
    if not math.isfinite(angle):
        raise ValueError(f"angle must be finite, got {angle!r}")
    generator = make_generator(seed)
    noise = torch.randn(batch, *shape, generator=generator).to(device)
    frequencies = torch.meshgrid(
        *[torch.fft.fftfreq(n, device=noise.device) for n in shape[:-1]],
        torch.fft.rfftfreq(shape[-1], device=noise.device),
        indexing="ij",
    )
    if ndim == 2 and angle != 0.0:
        cos, sin = math.cos(angle), math.sin(angle)
        frequencies = (frequencies[0] * cos + frequencies[1] * sin, -frequencies[0] * sin + frequencies[1] * cos)
    exponent = sum((2 * math.pi * length * k) ** 2 for length, k in zip(lengths, frequencies))
    dims = tuple(range(1, ndim + 1))
    smooth = torch.fft.irfftn(torch.fft.rfftn(noise, dim=dims) * torch.exp(-0.5 * exponent), s=shape, dim=dims)
    return threshold_by_fractions(smooth, volume_fractions)


def threshold_by_fractions(values: torch.Tensor, volume_fractions: float | Sequence[float]) -> torch.Tensor:
    r"""Labels from a continuous field ``(batch, *spatial)`` by per-sample quantiles: the largest values become
    phase 1 (two phases), or phases P-1, ..., 1 take the requested fractions from the top down.

    Example:
        >>> import torch
        >>> from spatialstats.synthetic import threshold_by_fractions
        >>> threshold_by_fractions(torch.arange(10.0).reshape(1, 10), [0.2, 0.3])
        tensor([[0, 0, 0, 0, 0, 1, 1, 2, 2, 2]])
    """
    fractions = [volume_fractions] if isinstance(volume_fractions, (int, float)) else list(volume_fractions)
    if not fractions or any(isinstance(f, bool) or not 0 < f < 1 for f in fractions) or sum(fractions) >= 1:
        raise ValueError(
            f"volume_fractions must be fractions in (0, 1) of phases 1.., summing to less than 1, got {volume_fractions!r}"
        )
    flat = values.flatten(1)
    order = torch.argsort(flat, dim=1, descending=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(1, order, torch.arange(flat.shape[1], device=flat.device).expand_as(order))
    labels = torch.zeros_like(ranks)
    upper = 0
    for phase, fraction in reversed(list(enumerate(fractions, start=1))):
        lower, upper = upper, upper + round(fraction * flat.shape[1])
        labels[(ranks >= lower) & (ranks < upper)] = phase
    return labels.reshape(values.shape)
