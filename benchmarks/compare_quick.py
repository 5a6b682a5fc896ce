"""Quick comparison, in one run: spatialstats vs PyMKS 0.4.1 vs a bare torch FFT autocorrelation.

A batch of 64 two-phase 224x224 fields, periodic and non-periodic 2-point statistics at PyMKS's full cutoff
(111, i.e. 223x223 offsets). spatialstats is timed on the one-channel fast path ``(64, 1, 224, 224)`` and on
two-channel one-hot input ``(64, 2, 224, 224)``; PyMKS on the phase-last numpy array ``(64, 224, 224, 2)`` with
pairs ``[(0, 0), (0, 1), (1, 1)]`` (the three independent pairs), and on the same array as dask chunks.

Run: ``python benchmarks/compare_quick.py`` (about a minute on 2 CPU cores). ``--help`` lists the options.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench_common import (  # noqa: E402
    bare_fft_autocorrelation,
    bare_fft_floor,
    fast_fft_length,
    import_pymks,
    random_two_phase,
    time_call,
)

import spatialstats as ss  # noqa: E402

PYMKS_PAIRS = [(0, 0), (0, 1), (1, 1)]


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="fields in the batch (default 64)")
    parser.add_argument("--size", type=int, default=224, help="side of the square fields (default 224)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each torch method (default 5)")
    parser.add_argument("--pymks-repeats", type=int, default=3, help="timed runs of each PyMKS method (default 3)")
    parser.add_argument("--chunk", type=int, default=8, help="fields per dask chunk (default 8)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch intra-op threads (default: torch's own); 1 gives steadier numbers on a busy machine")
    parser.add_argument("--no-pymks", action="store_true", help="skip PyMKS")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    arguments = parse_arguments(argv)
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    size, batch = arguments.size, arguments.batch
    cutoff = (size - 1) // 2  # PyMKS's largest cutoff, the one it uses by default
    single = random_two_phase(batch, (size, size))  # (batch, 1, n, n), phase-1 indicator
    one_hot = ss.two_phase_from_probability(single).contiguous()  # (batch, 2, n, n)
    phase_last = one_hot.permute(0, 2, 3, 1).contiguous().numpy()  # PyMKS layout (batch, n, n, 2)

    rows: list[dict[str, object]] = []

    def measure(name: str, boundary: str, function, repeats: int) -> None:
        timing = time_call(function, repeats=repeats, warmup=1)
        rows.append({"method": name, "boundary": boundary, **timing})
        print(f"  measured {name:<52} {boundary:<12} median {timing['median'] * 1e3:9.1f} ms", flush=True)

    print(
        f"batch {batch}, {size}x{size}, float32, cutoff {cutoff}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), numpy {np.__version__}",
        flush=True,
    )
    measure("bare torch rfft2/irfft2 autocorrelation", "periodic", lambda: bare_fft_autocorrelation(single),
            arguments.repeats)
    padded = (fast_fft_length(size + cutoff),) * 2  # the least zero padding that keeps |r| <= cutoff unwrapped
    measure(f"bare torch rfft2/irfft2 autocorrelation, padded to {padded[0]}", "non-periodic",
            lambda: bare_fft_floor(single, padded), arguments.repeats)
    for periodic, boundary in ((True, "periodic"), (False, "non-periodic")):
        measure("spatialstats (64,1,n,n) fast path".replace("64", str(batch)), boundary,
                lambda: ss.two_point_stats(single, periodic=periodic, cutoff=cutoff), arguments.repeats)
        measure("spatialstats (64,2,n,n) one-hot".replace("64", str(batch)), boundary,
                lambda: ss.two_point_stats(one_hot, periodic=periodic, cutoff=cutoff), arguments.repeats)
    measure("spatialstats (64,1,n,n) fast path, cutoff=None".replace("64", str(batch)), "periodic",
            lambda: ss.two_point_stats(single, periodic=True, cutoff=None), arguments.repeats)

    pymks = None if arguments.no_pymks else import_pymks()
    if pymks is not None:
        import dask.array

        chunked = dask.array.from_array(phase_last, chunks=(arguments.chunk, size, size, 2))
        for periodic, boundary in ((True, "periodic"), (False, "non-periodic")):
            measure("PyMKS correlations_multiple, numpy", boundary,
                    lambda: np.asarray(pymks.correlations_multiple(
                        phase_last, PYMKS_PAIRS, periodic_boundary=periodic, cutoff=cutoff)),
                    arguments.pymks_repeats)
            measure(f"PyMKS correlations_multiple, dask chunks of {arguments.chunk}", boundary,
                    lambda: pymks.correlations_multiple(
                        chunked, PYMKS_PAIRS, periodic_boundary=periodic, cutoff=cutoff).compute(),
                    arguments.pymks_repeats)
            theirs = np.moveaxis(np.asarray(pymks.correlations_multiple(
                phase_last[:2], PYMKS_PAIRS, periodic_boundary=periodic, cutoff=cutoff)), -1, 1)
            ours = ss.two_point_stats(one_hot[:2], periodic=periodic, cutoff=cutoff, pairs=PYMKS_PAIRS).numpy()
            print(f"  max |spatialstats - PyMKS| ({boundary}, 2 fields): {np.abs(ours - theirs).max():.2e}")

    print_table(rows)
    return rows


def print_table(rows: list[dict[str, object]]) -> None:
    floor = {row["boundary"]: float(row["median"]) for row in rows if str(row["method"]).startswith("bare")}
    pymks_numpy: dict[object, float] = {}
    pymks_best: dict[object, float] = {}
    for row in rows:
        if str(row["method"]).startswith("PyMKS"):
            boundary, median = row["boundary"], float(row["median"])
            pymks_best[boundary] = min(median, pymks_best.get(boundary, float("inf")))
            if str(row["method"]).endswith("numpy"):
                pymks_numpy[boundary] = median

    def speedup(reference: float | None, median: float) -> str:
        return f"{reference / median:.1f}x" if reference else "-"

    print()
    print("| method | boundary | median ms | min ms | time / bare FFT (same boundary) | PyMKS numpy / this | best PyMKS / this |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for row in rows:
        median = float(row["median"])
        print(
            f"| {row['method']} | {row['boundary']} | {median * 1e3:.1f} | {float(row['min']) * 1e3:.1f} "
            f"| {median / floor[row['boundary']]:.2f} | {speedup(pymks_numpy.get(row['boundary']), median)} "
            f"| {speedup(pymks_best.get(row['boundary']), median)} |"
        )


if __name__ == "__main__":
    main()
