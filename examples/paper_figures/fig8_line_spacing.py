r"""The paper's Fig. 8: losses on periodic 2-point statistics against the spacing of two 1-pixel lines.

The target is a periodic ``size x size`` image (default 512) holding two vertical 1-pixel lines ``target`` px apart
(default 100); each prediction holds two lines ``s`` px apart, ``s`` = 50..200. On a periodic image, spacings ``s``
and ``size - s`` are the same image, so ``size`` must exceed twice the largest spacing for every spacing to be a
distinct configuration (on 224 x 224, a spacing of 125 is the image of 99).

With periodic statistics the peaks of :math:`f(1, 1 \mid r)` sit at :math:`r_x = 0, \pm s`; once they stop
overlapping, CESS and MSESS score every wrong spacing the same (CESS is flat beyond one pixel of error: its KL part
is 6.84e-5 for every ``s != 100`` on 512 x 512). The transport distance :func:`spatialstats.functional.transport_ss`
grows linearly with ``|s - 100|``.

Run: ``python examples/paper_figures/fig8_line_spacing.py --out outputs/paper_figures`` writes
``fig8_line_spacing.csv`` (columns ``spacing``, then one per loss) and ``fig8_line_spacing.png``.

Example:
    >>> table = line_spacing_table(size=64, target=20, spacings=[10, 20, 30])
    >>> table["spacing"], [round(v, 4) for v in table["transport_ss"]]
    ([10, 20, 30], [0.0422, 0.0, 0.0422])
    >>> cess = table["cess"]
    >>> abs(cess[0] - cess[2]) < 1e-12 and cess[0] > cess[1]
    True
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

import spatialstats.functional as F
from spatialstats import two_point_stats

#: The losses compared, by CSV column name; each takes (prediction, target_statistics=...) on periodic statistics.
LOSSES: dict[str, Callable[..., torch.Tensor]] = {"cess": F.cess, "msess": F.msess, "transport_ss": F.transport_ss}


def two_lines(spacing: int, size: int, *, offset: int = 0) -> torch.Tensor:
    """A ``(1, 1, size, size)`` float64 image with two vertical 1-pixel lines ``spacing`` px apart."""
    image = torch.zeros(1, 1, size, size, dtype=torch.float64)
    image[..., offset % size] = 1.0
    image[..., (offset + spacing) % size] = 1.0
    return image


def check_setup(size: int, target: int, spacings: Sequence[int]) -> None:
    """Raise a ValueError unless every spacing (and the target's) is a distinct configuration of the torus."""
    for name, value in (("size", size), ("target", target)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not spacings:
        raise ValueError("spacings must not be empty")
    largest = max([target, *spacings])
    if min([target, *spacings]) < 1 or 2 * largest >= size:
        raise ValueError(
            f"every spacing must be in 1..{(size - 1) // 2} on a {size} px periodic image (s and {size} - s are the "
            f"same image), got spacings {min(spacings)}..{max(spacings)} and target {target}"
        )


def line_spacing_table(
    *, size: int = 512, target: int = 100, spacings: Sequence[int] = tuple(range(50, 201))
) -> dict[str, list]:
    """Every loss of :data:`LOSSES` between the target's lines and lines at each spacing: ``{"spacing": [...],
    name: [...]}``."""
    spacings = [int(s) for s in spacings]
    check_setup(size, target, spacings)
    target_statistics = two_point_stats(two_lines(target, size))
    table: dict[str, list] = {"spacing": spacings, **{name: [] for name in LOSSES}}
    for spacing in spacings:
        prediction = two_lines(spacing, size)
        for name, loss in LOSSES.items():
            table[name].append(float(loss(prediction, target_statistics=target_statistics)))
    return table


def write_csv(table: dict[str, list], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(list(table))
        for row in zip(*table.values()):
            writer.writerow([row[0], *(f"{value:.10g}" for value in row[1:])])


def plot(table: dict[str, list], path: Path, target: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [name for name in table if name != "spacing"]
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), constrained_layout=True)
    for axis, name in zip(axes, names):
        axis.plot(table["spacing"], table[name], ".-", markersize=3)
        axis.axvline(target, color="grey", linestyle=":")
        axis.set(title=name, xlabel="line spacing (px)", ylabel="loss against lines 100 px apart")
    figure.suptitle("Fig. 8: periodic 2-point statistics, two 1-pixel lines")
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--size", type=int, default=512, help="periodic image side in px (default 512)")
    parser.add_argument("--target", type=int, default=100, help="target line spacing in px (default 100)")
    parser.add_argument("--min-spacing", type=int, default=50)
    parser.add_argument("--max-spacing", type=int, default=200)
    args = parser.parse_args(argv)
    try:
        if args.min_spacing > args.max_spacing:
            raise ValueError(f"--min-spacing {args.min_spacing} is above --max-spacing {args.max_spacing}")
        table = line_spacing_table(
            size=args.size, target=args.target, spacings=range(args.min_spacing, args.max_spacing + 1)
        )
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        write_csv(table, out / "fig8_line_spacing.csv")
        plot(table, out / "fig8_line_spacing.png", args.target)
    except (ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {out / 'fig8_line_spacing.csv'} and {out / 'fig8_line_spacing.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
