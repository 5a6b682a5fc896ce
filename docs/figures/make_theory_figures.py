"""Draw the figures of the theory page (docs/theory.rst) into docs/_static/theory/.

Run from the repository root after changing the statistics or the losses, and commit the PNGs with the change:

    PYTHONPATH=src python docs/figures/make_theory_figures.py

Deterministic (seeded generators, fixed sizes); needs matplotlib (the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import spatialstats as ss  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "_static" / "theory"


def _offset_image(axis, statistics: np.ndarray, lags: tuple[np.ndarray, np.ndarray], title: str) -> None:
    """Show a 2D map of statistics over offsets (rows r_y, columns r_x) with r = 0 marked."""
    (ry, rx), step = lags, 0.5
    extent = (rx[0] - step, rx[-1] + step, ry[-1] + step, ry[0] - step)
    image = axis.imshow(statistics, extent=extent, cmap="viridis")
    axis.plot(0, 0, marker="+", color="red", markersize=14, markeredgewidth=2)
    axis.set_xlabel("$r_x$")
    axis.set_ylabel("$r_y$")
    axis.set_title(title, fontsize=10)
    plt.colorbar(image, ax=axis, fraction=0.046, pad=0.04)


def _lags(n: int, cutoff: int | None, periodic: bool) -> np.ndarray:
    """The offsets along one axis of the output layout (see the theory page)."""
    if cutoff is not None:
        return np.arange(-cutoff, cutoff + 1)
    return np.arange(-(n // 2), n - n // 2) if periodic else np.arange(-(n - 1), n)


def microstructure_and_f11(out: Path) -> None:
    labels = ss.synthetic.circles(1, 96, count=6, radius=11, seed=3)
    field = labels.double().unsqueeze(1)
    f11 = ss.two_point_stats(field)[0, 1, 1].numpy()
    figure, (left, right) = plt.subplots(1, 2, figsize=(9, 4), constrained_layout=True)
    left.imshow(labels[0].numpy(), cmap="gray_r")
    left.set_title("microstructure (phase 1 dark), 96 x 96, periodic", fontsize=10)
    left.set_xticks([])
    left.set_yticks([])
    lags = _lags(96, None, True)
    _offset_image(right, f11, (lags, lags), "$f(1,1 \\mid r)$; + marks $r = 0$ (value: volume fraction)")
    figure.savefig(out / "microstructure_f11.png", dpi=110)
    plt.close(figure)


def layouts(out: Path) -> None:
    labels = ss.synthetic.circles(1, 16, count=2, radius=3, seed=1)
    field = labels.double().unsqueeze(1)
    cases = [
        ("periodic, cutoff=None\n16 x 16 offsets, fftshift order", True, None),
        ("periodic, cutoff=4\n9 x 9 window, r = 0 at [4, 4]", True, 4),
        ("non-periodic, cutoff=None\n31 x 31 lags, r = 0 at [15, 15]", False, None),
    ]
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.6), constrained_layout=True)
    axes[0].imshow(labels[0].numpy(), cmap="gray_r")
    axes[0].set_title("the field, 16 x 16", fontsize=10)
    for axis, (title, periodic, cutoff) in zip(axes[1:], cases):
        f11 = ss.two_point_stats(field, periodic=periodic, cutoff=cutoff)[0, 1, 1].numpy()
        lags = _lags(16, cutoff, periodic)
        _offset_image(axis, f11, (lags, lags), title)
        axis.set_xlim(-15.5, 15.5)
        axis.set_ylim(15.5, -15.5)
    figure.savefig(out / "layouts.png", dpi=100)
    plt.close(figure)


def mask(out: Path) -> None:
    labels = ss.synthetic.gaussian_random_field(1, 64, correlation_length=4.0, volume_fractions=0.4, seed=5)
    field = labels.double().unsqueeze(1)
    y, x = torch.meshgrid(torch.arange(64.0), torch.arange(64.0), indexing="ij")
    confidence = ((x - 31.5) ** 2 + (y - 31.5) ** 2 < 28.0**2).double()  # a round field of view
    masked = ss.two_point_stats(field, periodic=False, cutoff=20, mask=confidence)[0, 1, 1].numpy()
    plain = ss.two_point_stats(field * confidence, periodic=False, cutoff=20)[0, 1, 1].numpy()
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.6), constrained_layout=True)
    axes[0].imshow(labels[0].numpy(), cmap="gray_r")
    axes[0].set_title("field", fontsize=10)
    axes[1].imshow(confidence.numpy(), cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("mask w(x): 1 inside the field of view", fontsize=10)
    lags = _lags(64, 20, False)
    _offset_image(axes[2], masked, (lags, lags), "$f_w(1,1 \\mid r)$ with mask")
    _offset_image(axes[3], plain, (lags, lags), "zeroing outside, no mask:\nbiased low")
    for axis in axes[:2]:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.savefig(out / "mask.png", dpi=100)
    plt.close(figure)


def cess_near_zero(out: Path) -> None:
    p = np.logspace(-9, 0, 400)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    left.semilogx(p, np.log(p), label="$\\log f_p$ (no minus sign: $\\leq 0$)")
    left.semilogx(p, -np.log(p), label="$-\\log f_p$ (unbounded at 0)")
    left.semilogx(p, -np.log(p + 1e-6), label="$-\\log(f_p + \\varepsilon)$, $\\varepsilon = 10^{-6}$")
    left.axhline(-np.log(1e-6), color="gray", linestyle=":", linewidth=1)
    left.text(2e-9, -np.log(1e-6) + 0.8, "$-\\log\\varepsilon = 13.8$", fontsize=9)
    left.set_xlabel("predicted pair probability $f_p$")
    left.set_title("one term of CESS near $f_p = 0$", fontsize=10)
    left.legend(fontsize=8)
    q, t = np.linspace(0, 1, 401), 0.3
    cross_entropy = -(t * np.log(q + 1e-6) + (1 - t) * np.log(1 - q + 1e-6))
    right.plot(q, cross_entropy, label="CESS: $-\\sum f_t \\log(f_p + \\varepsilon)$, minimum at $f_p = f_t$")
    right.plot(q, -cross_entropy, label="without the minus sign: maximum there")
    right.axvline(t, color="gray", linestyle=":", linewidth=1)
    right.set_xlabel("$f_p$ of a two-outcome distribution; target $f_t = 0.3$")
    right.set_ylim(-6, 6)
    right.set_title("why the minus sign", fontsize=10)
    right.legend(fontsize=8, loc="lower center")
    figure.savefig(out / "cess_near_zero.png", dpi=100)
    plt.close(figure)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="folder for the PNGs (default: %(default)s)")
    out = parser.parse_args(argv).out
    out.mkdir(parents=True, exist_ok=True)
    for draw in (microstructure_and_f11, layouts, mask, cess_near_zero):
        draw(out)
    print(f"wrote the theory figures to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
