"""Gradient descent (centre-crop CESS + clamp) vs Yeong-Torquato simulated annealing on the same circles target.

Both are scored with the same statistics error (RMS over all pairs and the offsets |r| <= 25 of the binarized
result), timed on the same machine in the same run. The gradient-descent clock excludes the time spent measuring
its binarized error for the plot; annealing reports its error for free (it is its energy).
"""

from __future__ import annotations

import argparse
import csv
import time

import matplotlib.pyplot as plt
import numpy as np

from _common import circles_labels, parse_args, write_markdown_table
from spatialstats.reconstruction import anneal, reconstruct, statistics_error

CUTOFF = 25


def gradient_descent_curve(target, steps: int, every: int) -> tuple[np.ndarray, float]:
    """Rows ``(seconds, error)`` of the binarized result every ``every`` steps, and the final error."""
    curve, overhead, start = [], 0.0, time.perf_counter()

    def record(step, losses, field):
        nonlocal overhead
        if step % every and step != steps - 1:
            return
        measuring = time.perf_counter()
        labels = (field[:, 1] > 0.5).long()
        error = statistics_error(labels, expected, cutoff=CUTOFF).item()
        curve.append((measuring - start - overhead, error))
        overhead += time.perf_counter() - measuring

    import spatialstats as ss

    expected = ss.two_point_stats(target, cutoff=CUTOFF)
    reconstruct(target, loss="center_crop_cess", cutoff=CUTOFF, steps=2, progress=False)  # one-time warm-up, untimed
    start = time.perf_counter()
    result = reconstruct(target, loss="center_crop_cess", cutoff=CUTOFF, clamp_weight=0.1, clamp_delay=0.7, lr=0.1,
                         steps=steps, seed=0, progress=False, callback=record)
    return np.asarray(curve), result.statistics_error.item()


def first_time_below(curve: np.ndarray, level: float) -> float:
    below = np.flatnonzero(curve[:, 1] <= level)
    return float(curve[below[0], 0]) if below.size else float("nan")


def main(args: argparse.Namespace) -> str:
    size, radius, steps, budget = (96, 9, 800, 10.0) if args.quick else (224, 20, 1500, 120.0)
    target = circles_labels(1, size=size, count=5, radius=radius, seed=0)[:, None].float()

    gd_curve, gd_final = gradient_descent_curve(target, steps, every=10)

    # Annealing: a wall-time budget; the schedule cools ~60 levels over the swaps that budget allows (measured rate).
    probe = anneal(target, cutoff=CUTOFF, max_swaps=2000, progress=False, seed=0)
    rate = probe.swaps_tried / probe.seconds
    max_swaps = int(rate * budget)
    sa = anneal(target, cutoff=CUTOFF, max_swaps=max_swaps, swaps_per_temperature=max(100, max_swaps // 60),
                cooling=0.9, record_every=max(100, max_swaps // 400), seed=0, progress=False)
    sa_curve = sa.history[:, 1:]

    levels = sorted({0.02, 0.01, 0.005, float(sa.statistics_error), float(gd_final)}, reverse=True)
    rows = []
    for level in levels:
        gd_time, sa_time = first_time_below(gd_curve, level), first_time_below(sa_curve, level)
        speedup = sa_time / gd_time if gd_time > 0 else float("nan")
        rows.append([f"<= {level:.4g}", gd_time, sa_time, speedup])
    rows.append(["final error", gd_final, sa.statistics_error, float("nan")])
    rows.append(["total seconds", float(gd_curve[-1, 0]), sa.seconds, float("nan")])

    with open(args.out / "gd_vs_sa_curves.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["method", "seconds", "statistics_error"])
        writer.writerows(["gradient_descent", t, e] for t, e in gd_curve)
        writer.writerows(["simulated_annealing", t, e] for t, e in sa_curve)

    figure, axis = plt.subplots(figsize=(6.4, 4.4), constrained_layout=True)
    axis.loglog(np.maximum(gd_curve[:, 0], 1e-3), gd_curve[:, 1], label=f"gradient descent (crop CESS + clamp), final {gd_final:.2e}")
    axis.loglog(np.maximum(sa_curve[:, 0], 1e-3), sa_curve[:, 1], label=f"simulated annealing ({sa.swaps_tried} swaps), final {sa.statistics_error:.2e}")
    axis.set_xlabel("wall time [s] (same machine, 1 thread)")
    axis.set_ylabel(f"statistics error of binarized field (|r| <= {CUTOFF})")
    axis.set_title(f"{size}x{size} circles target: error vs time")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8)
    figure.savefig(args.out / "gd_vs_sa.png", dpi=110)
    plt.close(figure)
    return write_markdown_table(
        args.out / "gd_vs_sa.md", ["error level", "gradient descent [s]", "simulated annealing [s]", "SA / GD"], rows,
        f"GD vs SA on a {size}x{size} circles target ({steps} GD steps; SA budget {budget:.0f} s, {rate:.0f} swaps/s)")


if __name__ == "__main__":
    print(main(parse_args(__doc__)))
