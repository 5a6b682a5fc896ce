"""Window-only DFTs by matrix multiplies against the pruned FFT: where the matrix product pays, per device.

For each FFT length ``L`` and window ``w`` (square 2D, a batch of about 64 x 224 x 224 pixels) the script times,
interleaved in one process, the inverse transform cropped to the window (:func:`spatialstats._offsets.window_irfftn`)
and its adjoint, the forward transform of the window zero-padded to ``L`` (``padded_rfftn``), once with the method
forced to ``"fft"`` and once to ``"matmul"``, and prints the minimum over repeats, the ratio matmul / fft and
``w / log2(L)``: the rule ``w < alpha log2(L)`` of :mod:`spatialstats._window_dft` takes ``alpha`` at the break-even.
These are the generic (complex spectrum) transforms. ``--fused`` times instead what the rule's "real" alpha is for:
a fused CESS forward+backward (one-channel, batch of about 64 x 224 x 224 pixels, periodic and not, cutoff
``(w - 1) / 2``) with the method forced to "fft" and to "matmul".

Run: ``PYTHONPATH=src python benchmarks/window_dft.py --threads 1 [--device cuda] [--dtype float64]``.
"""

from __future__ import annotations

import argparse
import math
import time

import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats import _offsets, _window_dft

LENGTHS = (64, 128, 224, 250, 512, 1024)
WINDOWS = (3, 7, 11, 21, 31, 51, 75, 101)


def _timed(run, device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - start


def _variants(length: int, window: int, pixels: int, dtype: torch.dtype, device: torch.device) -> dict:
    batch = max(1, pixels // length**2)
    generator = torch.Generator(device=device).manual_seed(0)
    fields = torch.rand((batch, length, length), generator=generator, dtype=dtype, device=device)
    spectrum = torch.fft.rfftn(fields, dim=(-2, -1))
    small = torch.rand((batch, window, window), generator=generator, dtype=dtype, device=device)
    lengths, windows = (length, length), (window, window)

    def method(name: str, run):
        def call():
            _window_dft.set_window_method(name)
            return run()

        return call

    return {
        f"{kind} {name}": method(name, run)
        for kind, run in (
            ("inverse", lambda: _offsets.window_irfftn(spectrum, lengths, windows)),
            ("forward", lambda: _offsets.padded_rfftn(small, lengths)),
        )
        for name in ("fft", "matmul")
    }


def _fused_variants(size: int, window: int, pixels: int, periodic: bool, dtype: torch.dtype, device: torch.device):
    batch = max(1, pixels // size**2)
    generator = torch.Generator(device=device).manual_seed(0)
    prediction = torch.rand((batch, 1, size, size), generator=generator, dtype=dtype, device=device)
    prediction.requires_grad_(True)
    target = (torch.rand((1, 1, size, size), generator=generator, dtype=dtype, device=device) > 0.5).to(dtype)
    cutoff = (window - 1) // 2
    statistics = ss.two_point_stats(target, periodic=periodic, cutoff=cutoff)

    def method(name: str):
        def call():
            _window_dft.set_window_method(name)
            F.cess(prediction, target_statistics=statistics, periodic=periodic, cutoff=cutoff,
                   check_values=False).backward()
            prediction.grad = None

        return call

    return {f"fused {name}": method(name) for name in ("fft", "matmul")}


def measure(length: int, window: int, pixels: int, repeats: int, dtype: torch.dtype, device: torch.device,
            fused: bool | None = None) -> dict:
    if fused is None:
        variants = _variants(length, window, pixels, dtype, device)
    else:
        variants = _fused_variants(length, window, pixels, fused, dtype, device)
    before = _window_dft.get_window_method()
    try:
        for run in variants.values():
            run()
        times = {name: [] for name in variants}
        for _ in range(repeats):
            for name, run in variants.items():
                times[name].append(_timed(run, device))
    finally:
        _window_dft.set_window_method(before)
    return {name: min(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"))
    parser.add_argument("--pixels", type=int, default=64 * 224 * 224, help="batch x L^2 per case")
    parser.add_argument("--lengths", type=int, nargs="*", default=LENGTHS)
    parser.add_argument("--windows", type=int, nargs="*", default=WINDOWS)
    parser.add_argument("--fused", action="store_true", help="time fused CESS forward+backward instead")
    arguments = parser.parse_args(argv)
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    device, dtype = torch.device(arguments.device), getattr(torch, arguments.dtype)
    print(f"torch {torch.__version__}, {device}, {arguments.dtype}, {torch.get_num_threads()} threads, "
          f"minimum of {arguments.repeats} interleaved runs, {arguments.pixels} pixels per case")
    if arguments.fused:
        _fused_table(arguments, dtype, device)
        return
    print("| L | w | w / log2 L | inverse fft ms | inverse matmul ms | matmul / fft | forward fft ms "
          "| forward matmul ms | matmul / fft |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for length in arguments.lengths:
        for window in arguments.windows:
            if window > length:
                continue
            t = measure(length, window, arguments.pixels, arguments.repeats, dtype, device)
            print(f"| {length} | {window} | {window / math.log2(length):.1f} | {t['inverse fft'] * 1e3:.2f} | "
                  f"{t['inverse matmul'] * 1e3:.2f} | {t['inverse matmul'] / t['inverse fft']:.2f} | "
                  f"{t['forward fft'] * 1e3:.2f} | {t['forward matmul'] * 1e3:.2f} | "
                  f"{t['forward matmul'] / t['forward fft']:.2f} |", flush=True)


def _fused_table(arguments: argparse.Namespace, dtype: torch.dtype, device: torch.device) -> None:
    print("| n | periodic | L | w | w / log2 L | fused fft ms | fused matmul ms | matmul / fft |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for size in arguments.lengths:
        for periodic in (True, False):
            for window in arguments.windows:
                if (window - 1) // 2 > (size - 1) // 2:
                    continue
                length = _offsets.fft_lengths((size,), ((window - 1) // 2,), periodic)[0]
                t = measure(size, window, arguments.pixels, arguments.repeats, dtype, device, fused=periodic)
                print(f"| {size} | {periodic} | {length} | {window} | {window / math.log2(length):.1f} | "
                      f"{t['fused fft'] * 1e3:.1f} | {t['fused matmul'] * 1e3:.1f} | "
                      f"{t['fused matmul'] / t['fused fft']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
