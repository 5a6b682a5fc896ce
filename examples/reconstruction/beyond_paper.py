"""Beyond the paper: a three-phase 2D target and a small 3D target, reconstructed with the defaults of ``reconstruct``."""

from __future__ import annotations

import argparse

from _common import (
    MORPHOLOGY_HEADER,
    balls_3d_labels,
    morphology_columns,
    parse_args,
    show_row,
    show_three_phase,
    three_phase_labels,
    write_markdown_table,
)
import spatialstats as ss
from spatialstats.reconstruction import reconstruct


def main(args: argparse.Namespace) -> str:
    size_2d, size_3d = (64, 16) if args.quick else (128, 32)
    options = dict(steps=400) if args.quick else {}  # the full run uses the defaults (2000 steps)
    rows = []

    labels = three_phase_labels(size_2d, seed=0)
    result = reconstruct(ss.one_hot_from_labels(labels).double(), seed=0, progress=False, **options)
    error = result.statistics_error.item()
    ratio, counts, target_counts = morphology_columns(result)
    show_three_phase(args.out / "three_phase_2d.png", labels[0], result.labels[0], result.field[0],
                     f"Three-phase {size_2d}x{size_2d} target, reconstruct() defaults ({result.steps_run} steps): "
                     f"error {error:.1e}, interface {ratio:.2f}x the target's, components {counts} vs {target_counts}")
    rows.append(["3 phases, 2D", f"{size_2d}x{size_2d}", result.steps_run, error, *morphology_columns(result), result.seconds])

    labels = balls_3d_labels(size_3d, seed=0)
    result = reconstruct(labels[:, None].double(), seed=0, progress=False, **options)
    error = result.statistics_error.item()
    middle = size_3d // 2
    show_row(args.out / "three_d.png",
             [("target, slice z = n/2", labels[0, middle].float()), ("target, slice y = n/2", labels[0, :, middle].float()),
              ("result, slice z = n/2", result.labels[0, middle].float()), (f"result, slice y = n/2\nerror {error:.2e}", result.labels[0, :, middle].float())],
             f"3D {size_3d}^3 two-phase target, reconstruct() defaults, {result.steps_run} steps (error over the whole volume)")
    rows.append(["2 phases, 3D", f"{size_3d}^3", result.steps_run, error, *morphology_columns(result), result.seconds])
    return write_markdown_table(args.out / "beyond_paper.md", ["case", "size", "steps", "statistics error", *MORPHOLOGY_HEADER, "seconds"],
                                rows, "Beyond the paper: three phases and 3D (reconstruct() defaults)")


if __name__ == "__main__":
    print(main(parse_args(__doc__)))
