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


def show_three_phase(path: Path, target: torch.Tensor, result_labels: torch.Tensor, field: torch.Tensor, title: str) -> None:
    """Target and binarized labels in three fixed colours, then each phase's probability on a 0-1 scale."""
    from matplotlib.colors import ListedColormap

    figure, axes = plt.subplots(1, 5, figsize=(16, 3.6), constrained_layout=True)
    labels_cmap = ListedColormap(["#f0f0f0", "#1f77b4", "#d62728"])
    for axis, (name, labels) in zip(axes[:2], [("target labels", target), ("binarized result (argmax)", result_labels)]):
        axis.imshow(labels.cpu().numpy(), cmap=labels_cmap, vmin=0, vmax=2, interpolation="nearest")
        axis.set_title(f"{name}\nphase 0 grey, 1 blue, 2 red", fontsize=9)
    for phase, axis in enumerate(axes[2:]):
        shown = axis.imshow(field[phase].cpu().numpy(), cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest")
        axis.set_title(f"soft field: probability of phase {phase}", fontsize=9)
    for axis in axes:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.colorbar(shown, ax=list(axes[2:]), shrink=0.8, label="probability (0-1)")
    figure.suptitle(title, fontsize=11)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def morphology_columns(result: object) -> list[object]:
    """Interface-density ratio and component counts (result vs target) of a reconstruction's first sample."""
    mine, target = result.morphology, result.target_morphology  # type: ignore[attr-defined]
    ratio = (mine.total_interface_density[0] / target.total_interface_density[0]).item()
    return [ratio, str(mine.component_counts[0].tolist()), str(target.component_counts[0].tolist())]


MORPHOLOGY_HEADER = ["interface / target's", "components per phase", "target's components"]


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
