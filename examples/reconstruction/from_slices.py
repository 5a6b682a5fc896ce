"""3D from one 2D micrograph: reconstruct a volume whose slices along every axis have the image's statistics.

    python examples/reconstruction/from_slices.py [--quick] [--out DIR] [--threads N]

Writes ``from_slices.png`` (the target next to three orthogonal slices of the result), ``from_slices_3d.png`` (a 3D
rendering of the result's phase-1 surface voxels) and ``from_slices.md`` (statistics error per axis, volume fraction,
interface density and components) under ``--out`` (default ``outputs/reconstruction``).
"""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import torch
from _common import parse_args, show_row, write_markdown_table

import spatialstats as ss
from spatialstats.reconstruction import reconstruct_from_slices, slice_statistics

CUTOFF = 12


def main(args: argparse.Namespace) -> str:
    size, side, count, steps = (64, 28, 6, 300) if args.quick else (128, 48, 24, 1000)
    labels = ss.synthetic.circles(1, size=size, count=count, radius=6, seed=1)
    target = ss.one_hot_from_labels(labels)
    result = reconstruct_from_slices(target, (side, side, side), cutoff=CUTOFF, steps=steps, progress=False)

    expected = ss.two_point_stats(target, cutoff=CUTOFF)
    errors = [float((slice_statistics(result.one_hot, a, cutoff=CUTOFF) - expected).square().mean().sqrt()) for a in range(3)]
    middle = side // 2
    volume = result.labels[0].float()
    show_row(args.out / "from_slices.png",
             [(f"target {size}x{size}", labels[0].float()),
              (f"result, slice x0 = {middle}\nerror {errors[0]:.1e}", volume[middle]),
              (f"result, slice x1 = {middle}\nerror {errors[1]:.1e}", volume[:, middle]),
              (f"result, slice x2 = {middle}\nerror {errors[2]:.1e}", volume[:, :, middle])],
             f"{side}^3 volume from one 2D image: CESS on the mean slice statistics (|r| <= {CUTOFF}) + clamp, "
             f"{steps} steps, {result.seconds:.0f} s")
    render(args.out / "from_slices_3d.png", result.labels[0], f"{side}^3 reconstruction: phase-1 surface voxels")

    report, target_report = result.morphology, result.target_morphology
    rows = [
        ["target (2D)", f"{size}x{size}", "", float(target_report.volume_fractions[0, 1]),
         float(target_report.total_interface_density[0]), int(target_report.component_counts[0, 1]), ""],
        ["result (3D)", f"{side}^3", " / ".join(f"{e:.1e}" for e in errors), float(report.volume_fractions[0, 1]),
         float(report.total_interface_density[0]) / 1.5, int(report.component_counts[0, 1]), f"{result.seconds:.0f}"],
    ]
    header = ["", "size", "mean slice statistics error, axes 0 / 1 / 2", "volume fraction",
              "interface density (3D: / 1.5)", "phase-1 components", "seconds"]
    return write_markdown_table(args.out / "from_slices.md", header, rows, "3D from one 2D image (reconstruct_from_slices)")


def render(path, labels: torch.Tensor, title: str) -> None:
    """Scatter the phase-1 voxels that touch phase 0 (periodic), coloured by height."""
    solid = labels.bool()
    surface = torch.zeros_like(solid)
    for axis in range(3):
        for shift in (1, -1):
            surface |= solid & ~torch.roll(solid, shift, dims=axis)
    points = surface.nonzero().numpy()
    figure = plt.figure(figsize=(6, 6), constrained_layout=True)
    axes = figure.add_subplot(projection="3d")
    axes.scatter(points[:, 2], points[:, 1], points[:, 0], c=points[:, 0], cmap="viridis", s=2, depthshade=True)
    axes.set_box_aspect((1, 1, 1))
    axes.set_xlabel("x2")
    axes.set_ylabel("x1")
    axes.set_zlabel("x0")
    axes.set_title(title, fontsize=10)
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    print(main(parse_args(__doc__)))
