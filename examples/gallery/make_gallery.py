"""Save a PNG grid of every :mod:`spatialstats.synthetic` family, in two- and three-phase variants.

Run: ``python examples/gallery/make_gallery.py [outputs/gallery.png] [--size 224] [--seed 0]``

Each row is one family; the left columns are two-phase samples (phase 1 = inclusions, voids, boundaries), the
right columns three-phase ones. Every panel's title gives its phase fractions, so the picture can be checked
against the parameters.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from spatialstats import synthetic  # noqa: E402

Generator = Callable[[int, int, int], torch.Tensor]  # (batch, size, seed) -> labels


def families() -> dict[str, tuple[Generator, Generator]]:
    """Per family: (two-phase generator, three-phase generator)."""
    return {
        "circles (paper target)": (
            lambda b, n, s: synthetic.circles(b, n, count=5, radius=20 * n / 224, seed=s),
            lambda b, n, s: synthetic.circles(b, n, count=12, radius=16 * n / 224, phases=3, seed=s),
        ),
        "ellipses, angle 30 deg": (
            lambda b, n, s: synthetic.ellipses(
                b, n, volume_fraction=0.25, semi_axes=(22 * n / 224, 6 * n / 224), angle=math.pi / 6, seed=s
            ),
            lambda b, n, s: synthetic.ellipses(
                b, n, volume_fraction=0.35, semi_axes=(22 * n / 224, 6 * n / 224), angle=math.pi / 6,
                angle_spread=0.3, phases=3, seed=s,
            ),
        ),
        "voids": (
            lambda b, n, s: synthetic.voids(b, n, volume_fraction=0.15, radius_range=(2.0, 6.0), seed=s),
            lambda b, n, s: synthetic.voids(b, n, volume_fraction=0.25, radius_range=(2.0, 6.0), phases=3, seed=s),
        ),
        "Gaussian field, isotropic": (
            lambda b, n, s: synthetic.gaussian_random_field(b, n, correlation_length=6.0, volume_fractions=0.4, seed=s),
            lambda b, n, s: synthetic.gaussian_random_field(
                b, n, correlation_length=6.0, volume_fractions=[0.3, 0.3], seed=s
            ),
        ),
        "Gaussian field, (12, 3) px at 30 deg": (
            lambda b, n, s: synthetic.gaussian_random_field(
                b, n, correlation_length=(12.0, 3.0), angle=math.pi / 6, volume_fractions=0.4, seed=s
            ),
            lambda b, n, s: synthetic.gaussian_random_field(
                b, n, correlation_length=(12.0, 3.0), angle=math.pi / 6, volume_fractions=[0.3, 0.3], seed=s
            ),
        ),
        "Voronoi": (
            lambda b, n, s: synthetic.voronoi(b, n, grains=30, boundary_width=3.0, seed=s),
            lambda b, n, s: synthetic.voronoi(b, n, grains=30, boundary_width=3.0, grain_phases=2, seed=s),
        ),
    }


def make_gallery(path: Path, *, size: int = 224, seed: int = 0, per_variant: int = 2) -> dict[str, float]:
    """Draw the grid into ``path``; returns seconds spent per family (both variants)."""
    rows = families()
    figure, axes = plt.subplots(
        len(rows), 2 * per_variant, figsize=(2.2 * 2 * per_variant, 2.35 * len(rows)), squeeze=False
    )
    colours = ListedColormap(["#f2efe6", "#1f4e79", "#c8553d"])  # phase 0, 1, 2
    seconds = {}
    for row, (name, variants) in enumerate(rows.items()):
        start = time.perf_counter()
        samples = [make(per_variant, size, seed) for make in variants]
        seconds[name] = time.perf_counter() - start
        for column in range(2 * per_variant):
            variant, index = divmod(column, per_variant)
            labels = samples[variant][index]
            axis = axes[row, column]
            axis.imshow(labels.numpy(), cmap=colours, vmin=0, vmax=2, interpolation="nearest")
            fractions = [(labels == phase).float().mean().item() for phase in range(1, 3 if variant else 2)]
            axis.set_title(("2 phases" if variant == 0 else "3 phases") + ": " + ", ".join(
                f"{f:.2f}" for f in fractions
            ), fontsize=8)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=9)
    figure.suptitle(f"spatialstats.synthetic, {size} x {size}, seed {seed} (titles: fractions of phases 1, 2)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=Path("outputs/gallery.png"), help="PNG to write")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seconds = make_gallery(args.path, size=args.size, seed=args.seed)
    for name, spent in seconds.items():
        print(f"{name:40s} {1000 * spent:7.1f} ms")
    print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
