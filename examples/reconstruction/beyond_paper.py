"""Beyond the paper: a three-phase 2D target and a small 3D target, reconstructed with CESS."""

from __future__ import annotations

import argparse

from _common import balls_3d_labels, parse_args, show_row, three_phase_labels, write_markdown_table
import spatialstats as ss
from spatialstats.reconstruction import reconstruct


def main(args: argparse.Namespace) -> str:
    size_2d, size_3d, steps = (64, 16, 200) if args.quick else (128, 32, 600)
    rows = []

    labels = three_phase_labels(size_2d, seed=0)
    result = reconstruct(ss.one_hot_from_labels(labels), loss="cess", parameterization="logits", lr=0.5, steps=steps,
                         clamp_weight=0.1, clamp_delay=0.5, seed=0, progress=False)
    error = result.statistics_error.item()
    show_row(args.out / "three_phase_2d.png",
             [("target (labels 0, 1, 2)", labels[0].float()), (f"binarized (argmax)\nerror {error:.2e}", result.labels[0].float()),
              ("soft field: probability of phase 1", result.field[0, 1]), ("soft field: probability of phase 2", result.field[0, 2])],
             f"Three-phase {size_2d}x{size_2d} target, CESS + clamp, softmax logits (lr 0.5), {steps} steps", colorbar_label="label / probability")
    rows.append(["3 phases, 2D", f"{size_2d}x{size_2d}", steps, error, result.seconds])

    labels = balls_3d_labels(size_3d, seed=0)
    result = reconstruct(labels[:, None].float(), loss="cess", lr=0.1, steps=steps, clamp_weight=0.1, clamp_delay=0.5,
                         seed=0, progress=False)
    error = result.statistics_error.item()
    middle = size_3d // 2
    show_row(args.out / "three_d.png",
             [("target, slice z = n/2", labels[0, middle].float()), ("target, slice y = n/2", labels[0, :, middle].float()),
              ("result, slice z = n/2", result.labels[0, middle].float()), (f"result, slice y = n/2\nerror {error:.2e}", result.labels[0, :, middle].float())],
             f"3D {size_3d}^3 two-phase target, CESS + clamp, {steps} steps (error over the whole volume)")
    rows.append(["2 phases, 3D", f"{size_3d}^3", steps, error, result.seconds])
    return write_markdown_table(args.out / "beyond_paper.md", ["case", "size", "steps", "statistics error", "seconds"],
                                rows, "Beyond the paper: three phases and 3D (CESS + clamp)")


if __name__ == "__main__":
    print(main(parse_args(__doc__)))
