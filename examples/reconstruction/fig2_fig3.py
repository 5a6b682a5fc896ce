"""Figs. 2 and 3 analogue: a circles target reconstructed with MSESS and CESS, without and with the clamp loss."""

from __future__ import annotations

import argparse

import torch

from _common import MORPHOLOGY_HEADER, circles_labels, morphology_columns, parse_args, show_row, write_markdown_table
from spatialstats.reconstruction import reconstruct


def main(args: argparse.Namespace) -> str:
    size, radius, steps = (96, 9, 600) if args.quick else (224, 20, 2000)  # 2000: the default of reconstruct
    labels = circles_labels(1, size=size, count=5, radius=radius, seed=0)
    target = labels[:, None].float()
    rows = []
    for figure_name, clamp_weight in (("fig2_no_clamp", 0.0), ("fig3_clamp", 0.1)):
        panels = [("target", labels[0].float())]
        for loss in ("msess", "cess"):
            # The defaults (lr 0.1, clamp 0.1 ramped in over the last 30% of the steps), without the clamp for Fig. 2.
            result = reconstruct(target, loss=loss, steps=steps, clamp_weight=clamp_weight, seed=0, progress=False)
            error = result.statistics_error.item()
            phase_one = result.field[0, 1]
            grey = ((phase_one > 0.2) & (phase_one < 0.8)).float().mean().item()
            panels += [(f"{loss.upper()} soft field", phase_one), (f"{loss.upper()} binarized\nerror {error:.2e}", result.labels[0].float())]
            rows.append([figure_name, loss, clamp_weight, steps, error, grey, *morphology_columns(result), result.seconds])
        clamp_text = "with clamp loss (weight 0.1, ramped in over the last 30% of steps)" if clamp_weight else "no clamp loss"
        show_row(args.out / f"{figure_name}.png", panels,
                 f"{size}x{size} circles target, {steps} Adam steps, {clamp_text}; error = RMS statistics error",
                 colorbar_label="phase-1 probability")
    return write_markdown_table(args.out / "fig2_fig3.md",
                                ["figure", "loss", "clamp weight", "steps", "statistics error", "grey fraction", *MORPHOLOGY_HEADER, "seconds"],
                                rows, "Figs. 2-3 analogue: circles target")


if __name__ == "__main__":
    print(main(parse_args(__doc__)))
