"""Connected components: the shared union-find (``spatialstats._components``) against minimum-label propagation.

The two torch algorithms the library had (issue 11): the morphology report's union-find, which hooks roots along
the faces and jumps pointers, and the descriptors' propagation, which sweeps the grid taking the smallest label
among same-phase neighbours (as many sweeps as the longest geodesic path in a cluster). The library keeps the
faster, the union-find; this script measures both on 16 x 256^2 and 4 x 64^3 binary fields (independent voxels at
phase-1 fractions 0.5 and 0.6, near site percolation, and thresholded smoothed noise), periodic and not,
interleaved, and checks that they agree.

Run: ``PYTHONPATH=src python benchmarks/components.py`` (several minutes on one CPU thread: the propagation is
slow). ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np
import torch
from scipy import ndimage

from spatialstats._components import component_roots

SHAPES = {"2d": (16, 256, 256), "3d": (4, 64, 64, 64)}
KINDS = ("fraction 0.5", "fraction 0.6", "smoothed noise")


def propagation(labels: torch.Tensor, periodic: tuple[bool, ...]) -> torch.Tensor:
    """Minimum-label propagation with pointer jumping (the descriptors' former algorithm), per-axis periodic."""
    batch, spatial_shape = labels.shape[0], tuple(labels.shape[1:])
    size = math.prod(spatial_shape)
    ids = torch.arange(size).reshape(spatial_shape).expand(batch, *spatial_shape).clone()
    links = []
    for dim, wraps in enumerate(periodic, start=1):
        for shift in (1, -1):
            same = torch.roll(labels, shift, dims=dim) == labels
            if not wraps:
                same.narrow(dim, 0 if shift == 1 else labels.shape[dim] - 1, 1).fill_(False)
            links.append((dim, shift, same))
    while True:
        best = ids
        for dim, shift, same in links:
            best = torch.where(same, torch.minimum(best, torch.roll(ids, shift, dims=dim)), best)
        flat = best.reshape(batch, size)
        updated = flat.gather(1, flat).reshape(ids.shape)
        if torch.equal(updated, ids):
            return ids
        ids = updated


def make_labels(kind: str, shape: tuple[int, ...], seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    if kind.startswith("fraction"):
        return torch.from_numpy(rng.random(shape) < float(kind.split()[1])).long()
    sigma = (0,) + (3,) * (len(shape) - 1)
    return torch.from_numpy(ndimage.gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap") > 0).long()


def compare(labels: torch.Tensor, periodic: tuple[bool, ...], repeats: int) -> dict[str, list[float]]:
    assert torch.equal(component_roots(labels, periodic), propagation(labels, periodic))
    times: dict[str, list[float]] = {"union-find": [], "propagation": []}
    for _ in range(repeats):
        for name, function in (("union-find", component_roots), ("propagation", propagation)):
            start = time.perf_counter()
            function(labels, periodic)
            times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="interleaved timed runs of each (default 3)")
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=sorted(SHAPES))
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("| shape | field | periodic | union-find min / median (ms) | propagation min / median (ms) | ratio of minima |")
    print("|---|---|---|---|---|---|")
    for key in args.shapes:
        shape = SHAPES[key]
        for seed, kind in enumerate(KINDS):
            labels = make_labels(kind, shape, seed)
            for wraps in (True, False):
                times = compare(labels, (wraps,) * (len(shape) - 1), args.repeats)
                cells = [f"{min(t) * 1e3:.0f} / {statistics.median(t) * 1e3:.0f}" for t in times.values()]
                ratio = min(times["propagation"]) / min(times["union-find"])
                print(f"| {'x'.join(map(str, shape))} | {kind} | {wraps} | {cells[0]} | {cells[1]} | {ratio:.1f} |", flush=True)


if __name__ == "__main__":
    main()
