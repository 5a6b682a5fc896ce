"""two_point_stats of one channel, pairs [(1, 1)], against a bare rfft2/|F|^2/irfft2 with centring and 1/N.

Interleaved in one process, minimum of repeated runs; also the cost of ``check_values=True`` (one pass over the
data). Run: ``PYTHONPATH=src python benchmarks/forward_floor.py [--threads 1] [--batch 64] [--size 224]``.
"""

from __future__ import annotations

import argparse
import time

import torch

import spatialstats as ss


def bare(fields: torch.Tensor) -> torch.Tensor:
    spectrum = torch.fft.rfft2(fields)
    auto = torch.fft.irfft2(spectrum.real.square() + spectrum.imag.square(), s=fields.shape[-2:])
    return torch.fft.fftshift(auto, dim=(-2, -1)) / fields[0, 0].numel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=None)
    arguments = parser.parse_args()
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    fields = torch.rand((arguments.batch, 1, arguments.size, arguments.size), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(ss.two_point_stats(fields, pairs=[(1, 1)])[:, 0], bare(fields)[:, 0])
    variants = {
        "bare rfft2/|F|^2/irfft2 + fftshift + 1/N": lambda: bare(fields),
        "two_point_stats pairs=[(1, 1)], check_values=False": lambda: ss.two_point_stats(
            fields, pairs=[(1, 1)], check_values=False),
        "two_point_stats pairs=[(1, 1)], check_values=True": lambda: ss.two_point_stats(fields, pairs=[(1, 1)]),
        "two_point_stats all four pairs, check_values=False": lambda: ss.two_point_stats(fields, check_values=False),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        run()
    for _ in range(arguments.repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    floor = min(times[next(iter(variants))])
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch {arguments.batch}, "
          f"{arguments.size}x{arguments.size}, minimum of {arguments.repeats} interleaved runs")
    print("| variant | min ms | / bare |")
    print("|---|---:|---:|")
    for name, values in times.items():
        print(f"| {name} | {min(values) * 1e3:.1f} | {min(values) / floor:.2f} |")


if __name__ == "__main__":
    main()
