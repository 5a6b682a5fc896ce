"""Why a single Gaussian blur of the statistics does not fix Fig. 8 (numbers quoted in docs/sparse_loss.rst).

Prints the KL part of CESS between periodically blurred statistics of the Fig. 8 lines (100 px apart) and lines
``s`` px apart, for two blur widths. Run: ``python examples/paper_figures/blur_saturation.py``.
"""

from __future__ import annotations

import math

import torch

from fig8_line_spacing import two_lines
from spatialstats import two_point_stats

SIZE, EPS = 512, 1e-6


def blurred_statistics(spacing: int, sigma: float) -> torch.Tensor:
    """Full periodic statistics of two lines, convolved with a periodic Gaussian of width ``sigma`` (px)."""
    statistics = torch.fft.ifftshift(two_point_stats(two_lines(spacing, SIZE)), dim=(-2, -1))
    frequency = torch.fft.fftfreq(SIZE, dtype=torch.float64)
    kernel = torch.exp(-2 * (math.pi * sigma * frequency) ** 2)
    blurred = torch.fft.ifft2(torch.fft.fft2(statistics) * kernel[:, None] * kernel[None, :]).real
    return blurred.clamp_min(0)


def blurred_kl(spacing: int, sigma: float, target: int = 100) -> float:
    expected, predicted = blurred_statistics(target, sigma), blurred_statistics(spacing, sigma)
    terms = expected * (torch.log(expected + EPS) - torch.log(predicted + EPS))
    return float(terms.sum(dim=(1, 2)).mean())


if __name__ == "__main__":
    for sigma in (6, 24):
        values = ", ".join(f"s={s}: {blurred_kl(s, sigma):.4e}" for s in (99, 110, 130, 150, 200))
        print(f"sigma={sigma}: {values}")
