"""The measurement behind the defaults of ``reconstruct``: disk targets, statistics error and morphology.

    python examples/reconstruction/tune_defaults.py [--steps N] [--lr X] [--clamp-delay F] [--levels L]
        [--parameterization clip|logits] [--quick]

Draws non-overlapping periodic disks (two phases: four disks on 64-256 px; three phases: four large and ten small
disks on 96-128 px), reconstructs each with ``reconstruct``'s defaults or the given overrides, and prints the
statistics error, the interface density and component counts against the target's, and the CPU seconds. The
acceptance rule of issue 10: interface within 15%, at most 1.5x the components, error <= 2e-3 (two phases) /
7e-3 (three phases). Without ``--levels``/``--parameterization`` three-phase targets get the default multigrid rule
(two levels, ``"clip"`` on the coarse one, ``"logits"`` on the fine one); ``--levels 1 --parameterization clip``
measures the two-phase settings on them.
"""

from __future__ import annotations

import argparse
import time

import torch

import spatialstats as ss
from spatialstats.reconstruction import reconstruct


def disks(size: int, families: list[tuple[int, int, int]], seed: int) -> torch.Tensor:
    """``(1, size, size)`` labels: for each ``(phase, count, radius)`` disks placed at random without overlap."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.zeros(size, size, dtype=torch.long)
    rows = torch.arange(size)
    placed: list[tuple[int, int, int]] = []
    for phase, count, radius in families:
        drawn = 0
        while drawn < count:
            row, column = torch.randint(size, (2,), generator=generator).tolist()
            if all(_distance2(row, column, r, c, size) > (radius + other + 2) ** 2 for r, c, other in placed):
                placed.append((row, column, radius))
                dy = (rows[:, None] - row + size // 2) % size - size // 2
                dx = (rows[None, :] - column + size // 2) % size - size // 2
                labels[dy * dy + dx * dx <= radius * radius] = phase
                drawn += 1
    return labels[None]


def _distance2(row: int, column: int, other_row: int, other_column: int, size: int) -> int:
    dy, dx = abs(row - other_row), abs(column - other_column)
    return min(dy, size - dy) ** 2 + min(dx, size - dx) ** 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--clamp-delay", type=float)
    parser.add_argument("--levels", type=int)
    parser.add_argument("--parameterization", choices=("clip", "logits"))
    parser.add_argument("--quick", action="store_true", help="two targets only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    given = (("steps", args.steps), ("lr", args.lr), ("clamp_delay", args.clamp_delay), ("levels", args.levels),
             ("parameterization", args.parameterization))
    options = {key: value for key, value in given if value is not None}
    cases = [(f"2 phases {size} px, seed {seed}", disks(size, [(1, 4, radius)], seed))
             for size, radius, seed in ((128, 14, 11), (128, 14, 12), (64, 7, 13), (256, 20, 14))]
    cases += [(f"3 phases {size} px, seed {seed}", disks(size, [(1, 4, size // 8), (2, 10, size // 20)], seed))
              for size, seed in ((96, 21), (96, 2), (96, 22), (128, 23))]
    print(f"options {options or 'defaults'}")
    print("| target | statistics error | interface / target's | components (target's) | CPU s |\n|---|---|---|---|---|")
    for name, labels in cases[:: 4] if args.quick else cases:
        start = time.process_time()
        result = reconstruct(ss.one_hot_from_labels(labels).double(), progress=False, **options)
        ratio = (result.morphology.total_interface_density / result.target_morphology.total_interface_density).item()
        counts, target_counts = result.morphology.component_counts[0].tolist(), result.target_morphology.component_counts[0].tolist()
        print(f"| {name} | {result.statistics_error.item():.2e} | {ratio:.2f} | {counts} ({target_counts}) | "
              f"{time.process_time() - start:.1f} |", flush=True)


if __name__ == "__main__":
    main()
