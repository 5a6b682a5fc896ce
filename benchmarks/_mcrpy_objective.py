"""The objective race of ``compare_mcrpy.py``: MCRpy's L-BFGS-B against spatialstats' optimizers on the soft field.

Every run is traced (time and soft field after each step, or at each MCRpy function evaluation) and scored
afterwards, so scoring costs no run time. See ``compare_mcrpy.py``'s docstring for the quantities.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

import spatialstats as ss
from spatialstats.functional import msess
from spatialstats.reconstruction import LBFGSB, reconstruct

THEIRS, THEIR_J = "to MCRpy's final soft", "to MCRpy's final J"
OWN_J = "spatialstats LBFGSB on MCRpy's objective J (custom loss)"
GOAL = 5e-5  # the soft-field objective: mean squared statistics error over all pairs and offsets

OURS: dict[str, dict] = {  # name: reconstruct options (all with loss="msess", no clamp)
    "spatialstats LBFGSB (lbfgs-b, clip, lr 1)": dict(optimizer=LBFGSB, lr=1.0, parameterization="clip"),
    "spatialstats torch LBFGS (strong Wolfe, logits, lr 1)": dict(
        optimizer=torch.optim.LBFGS, lr=1.0, parameterization="logits"
    ),
    "spatialstats Adam (clip, lr 0.1)": dict(optimizer=torch.optim.Adam, lr=0.1, parameterization="clip"),
}


class Trace:
    """(wall s, CPU s, phase-1 field) after every step, with the tracing's own time left out."""

    def __init__(self) -> None:
        self.points: list[tuple[float, float, torch.Tensor]] = []
        self.wall, self.cpu, self.own_wall, self.own_cpu = time.perf_counter(), time.process_time(), 0.0, 0.0

    def record(self, field: torch.Tensor) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.points.append((wall - self.wall - self.own_wall, cpu - self.cpu - self.own_cpu, field.detach().clone()))
        self.own_wall += time.perf_counter() - wall
        self.own_cpu += time.process_time() - cpu


class Objectives:
    """Scores of a phase-1 field ``(1, 1, H, W)``: soft mean squared error over all pairs and offsets, MCRpy's J."""

    def __init__(self, target: torch.Tensor, cutoff: int) -> None:
        self.cutoff = cutoff
        self.expected = ss.two_point_stats(target, cutoff=cutoff)
        self.fraction = float(target[:, 1].mean())

    def soft(self, field: torch.Tensor) -> float:
        statistics = ss.two_point_stats(field, cutoff=self.cutoff, check_values=False)
        return float((statistics - self.expected).square().mean())

    def binarized(self, field: torch.Tensor) -> float:
        return self.soft((field > 0.5).to(field.dtype)) ** 0.5

    def msess(self, fields: torch.Tensor) -> torch.Tensor:
        """MSESS per sample of fields with all phases (the loss spatialstats minimises here)."""
        return msess(fields, target_statistics=self.expected, cutoff=self.cutoff, reduction="none", check_values=False)

    def mcrpy(self, field: torch.Tensor) -> float:
        return float(self.mcrpy_loss(field)[0])

    def mcrpy_loss(self, field: torch.Tensor) -> torch.Tensor:
        """MCRpy's energy per sample, (sum_r (S2_11(r) - target)^2 + (phi - phi_t)^2) / ((2 cutoff + 1)^2 + 1), of
        phase-1 fields ``(batch, 1, H, W)`` (differentiable: usable as a ``reconstruct`` loss)."""
        statistics = ss.two_point_stats(field, cutoff=self.cutoff, check_values=False)[:, 1, 1]
        squares = (statistics - self.expected[:, 1, 1]).square().flatten(1)
        fraction = (field.flatten(1).mean(dim=1) - self.fraction).square()
        return (squares.sum(dim=1) + fraction) / (squares.shape[1] + 1)


def race(labels: torch.Tensor, limit_to: int, max_iter: int, steps: int, run_mcrpy: Callable) -> list[dict]:
    """MCRpy's L-BFGS-B for ``max_iter`` iterations, then each of :data:`OURS` for ``steps`` steps; one row each.

    Every optimizer runs once briefly before (warm-up); MCRpy's clock starts after its characterization, so both
    sides are timed from the first step of a warm process."""
    target = ss.one_hot_from_labels(labels, dtype=torch.float64)
    objectives = Objectives(target, limit_to - 1)
    run_mcrpy(labels[0].numpy(), limit_to, 3)  # warm-ups: library loading and first calls are not timed
    for options in OURS.values():  # (the custom-loss row uses LBFGSB, warmed up here too)
        reconstruct(target, loss="msess", clamp_weight=0.0, cutoff=limit_to - 1, steps=3, progress=False, **options)
    theirs = _mcrpy_trace(labels[0].numpy(), limit_to, max_iter, run_mcrpy)
    rows = [_row("MCRpy 0.2.0 L-BFGS-B (box [0, 1])", theirs, objectives, None)]
    goal_theirs = rows[0]["final soft"], rows[0]["mcrpy objective"]
    for name, options in [*OURS.items(), (OWN_J, dict(optimizer=LBFGSB, lr=1.0, parameterization="clip"))]:
        trace, calls = Trace(), [0]

        def loss(fields: torch.Tensor, own_j: bool = name == OWN_J) -> torch.Tensor:
            calls[0] += 1
            return objectives.mcrpy_loss(fields[:, 1:]) if own_j else objectives.msess(fields)

        result = reconstruct(target, loss=loss, clamp_weight=0.0, cutoff=limit_to - 1, steps=steps,
                             callback=lambda step, losses, field: trace.record(field[:, 1:]), progress=False, **options)
        rows.append(_row(name, trace, objectives, goal_theirs, steps=f"{result.steps_run} / {calls[0]}"))
    return rows


def _mcrpy_trace(labels: np.ndarray, limit_to: int, max_iter: int, run_mcrpy: Callable) -> Trace:
    """Run MCRpy with its L-BFGS-B's evaluation patched to record the field it evaluates."""
    from mcrpy.optimizers.SPOptimizer import SPOptimizer

    trace, original = Trace(), SPOptimizer.step

    def step(self, x: np.ndarray) -> list:
        out = original(self, x)
        trace.record(torch.from_numpy(x.reshape(1, 1, *labels.shape)).clone())
        return out

    def start() -> None:
        trace.wall, trace.cpu = time.perf_counter(), time.process_time()

    SPOptimizer.step = step
    try:
        run_mcrpy(labels, limit_to, max_iter, on_start=start)
    finally:
        SPOptimizer.step = original
    return trace


def _row(
    name: str, trace: Trace, objectives: Objectives, goal_theirs: tuple[float, float] | None, steps: str | None = None
) -> dict:
    softs = [objectives.soft(field) for _, _, field in trace.points]
    js = [objectives.mcrpy(field) for _, _, field in trace.points]
    goal_theirs = (softs[-1], js[-1]) if goal_theirs is None else goal_theirs  # MCRpy's row: when it first got there

    def first(goal: float, values: list[float] = softs) -> tuple[float, float] | None:
        return next(((w, c) for (w, c, _), value in zip(trace.points, values) if value <= goal), None)

    wall, cpu, field = trace.points[-1]
    return {
        "name": name, "steps": steps or f"{len(trace.points)} / {len(trace.points)}", "wall": wall, "cpu": cpu,
        "to goal": first(GOAL), THEIRS: first(goal_theirs[0]), THEIR_J: first(goal_theirs[1], js),
        "final soft": softs[-1], "binarized": objectives.binarized(field), "mcrpy objective": objectives.mcrpy(field),
        "fraction error": abs(float(field.mean()) - objectives.fraction),
    }


def format_race(rows: list[dict], case: str) -> str:
    def when(pair: tuple[float, float] | None) -> str:
        return "not reached" if pair is None else f"{pair[0]:.2f} / {pair[1]:.2f} s"

    lines = [
        f"Objective race, {case}: soft mean squared statistics error (all pairs and offsets) <= {GOAL:g}",
        "",
        "| optimizer | steps / loss evaluations | time wall / CPU | to soft <= 5e-5, wall / CPU | to MCRpy's final soft, wall / CPU "
        "| final soft MSE | MCRpy's objective J | volume-fraction error | binarized RMS error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['steps']} | {row['wall']:.2f} / {row['cpu']:.2f} s | {when(row['to goal'])} "
            f"| {when(row[THEIRS])} | {when(row[THEIR_J])} | {row['final soft']:.1e} "
            f"| {row['mcrpy objective']:.1e} | {row['fraction error']:.1e} | {row['binarized']:.2e} |"
        )
    return "\n".join(lines)
