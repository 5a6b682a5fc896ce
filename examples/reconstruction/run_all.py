"""Run every reconstruction demo: Figs. 2-3 analogue, three phases and 3D, gradient descent vs simulated annealing.

    python examples/reconstruction/run_all.py [--quick] [--out DIR] [--threads N]

Writes PNGs, per-demo markdown tables, a CSV of the GD-vs-SA curves and ``summary.md`` under ``--out``
(default ``outputs/reconstruction``). The full run (2000-step defaults) took 38 minutes on a 2-core CPU shared with other
jobs (load average 12-20); ``--quick`` about 2 minutes there.
"""

from __future__ import annotations

import time

import beyond_paper
import fig2_fig3
import gd_vs_sa
from _common import parse_args


def main() -> None:
    args = parse_args(__doc__)
    start = time.perf_counter()
    sections = []
    for module in (fig2_fig3, beyond_paper, gd_vs_sa):
        began = time.perf_counter()
        sections.append(module.main(args))
        print(f"{module.__name__}: {time.perf_counter() - began:.1f} s")
    mode = "quick" if args.quick else "full"
    summary = f"# Reconstruction demos ({mode} run, {time.perf_counter() - start:.0f} s, {args.threads} thread(s))\n\n"
    summary += "\n".join(sections)
    (args.out / "summary.md").write_text(summary)
    print(summary)
    print(f"outputs in {args.out}")


if __name__ == "__main__":
    main()
