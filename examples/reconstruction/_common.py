"""Shared helpers of the reconstruction demos: targets, output folder, figures and tables."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

DEFAULT_OUT = Path("outputs/reconstruction")


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (smoke test, < 1 minute)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: on a busy 2-core machine more threads are much slower)")
    args = parser.parse_args()
    setup(args)
    return args


def setup(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)


def circles_labels(batch: int, size: int, count: int, radius: int, seed: int) -> torch.Tensor:
    """Label maps ``(batch, size, size)`` of periodic disks: ``spatialstats.synthetic.circles`` when available."""
    try:
        from spatialstats.synthetic import circles
    except ImportError:
        return _periodic_balls(batch, (size, size), count, radius, seed)
    return circles(batch, size=size, count=count, radius=radius, periodic=True, seed=seed)


def _periodic_balls(batch: int, shape: tuple[int, ...], count: int, radius: int, seed: int, label: int = 1,
                    labels: torch.Tensor | None = None) -> torch.Tensor:
    """Stand-in generator: ``count`` periodic balls of ``radius`` at random centres, drawn with label ``label``."""
    generator = torch.Generator().manual_seed(seed)
    grids = torch.meshgrid(*[torch.arange(n) for n in shape], indexing="ij")
    labels = torch.zeros(batch, *shape, dtype=torch.long) if labels is None else labels
    for sample in range(batch):
        for _ in range(count):
            distance = torch.zeros(shape)
            for axis, n in enumerate(shape):
                centre = int(torch.randint(n, (1,), generator=generator))
                delta = (grids[axis] - centre + n // 2) % n - n // 2
                distance += delta.float() ** 2
            labels[sample][distance <= radius**2] = label
    return labels


def three_phase_labels(size: int, seed: int) -> torch.Tensor:
    """Two families of periodic disks (phase 1 large, phase 2 small) in a matrix (phase 0), ``(1, size, size)``."""
    labels = _periodic_balls(1, (size, size), 6, size // 10, seed, label=1)
    return _periodic_balls(1, (size, size), 25, size // 25, seed + 1, label=2, labels=labels)


def balls_3d_labels(size: int, seed: int) -> torch.Tensor:
    """Periodic balls in a cube, ``(1, size, size, size)``."""
    return _periodic_balls(1, (size, size, size), 6, max(2, size // 6), seed)


def show_row(path: Path, panels: list[tuple[str, torch.Tensor]], title: str, colorbar_label: str = "phase") -> None:
    """One row of 2D images (values in [0, 1] or labels) with titles and a shared colorbar."""
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.6), constrained_layout=True)
    vmax = max(1.0, max(float(image.max()) for _, image in panels))
    for axis, (name, image) in zip(axes, panels):
        shown = axis.imshow(image.detach().cpu().numpy(), cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
        axis.set_title(name, fontsize=9)
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(shown, ax=list(axes), shrink=0.8, label=colorbar_label)
    figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_markdown_table(path: Path, header: list[str], rows: list[list[object]], title: str) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "n/a" if math.isnan(value) else f"{value:.4g}"
        return str(value)

    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    text = "\n".join(lines) + "\n"
    path.write_text(text)
    return text
