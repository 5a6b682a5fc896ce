"""Loss forward+backward calls for the benchmarks, and a peak-memory probe that runs one in a fresh process.

The losses see two-phase fields as one channel ``(batch, 1, n, n)`` (the layout of the paper's VAE) and a
precomputed target statistic, as in training; ``torch_mse`` (``torch.nn.functional.mse_loss`` on the pixels) is
the cost reference and ``bare_fft`` (the mean square of a bare FFT autocorrelation) the FFT floor.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import torch

import spatialstats.functional as F
from _bench_common import bare_fft_autocorrelation

LOSS_NAMES = ("torch_mse", "bare_fft", "msess", "cess", "center_crop_cess", "clamp_loss", "mse_cess")
CROP_CUTOFF = 25
BENCHMARK_DIRECTORY = Path(__file__).resolve().parent


def loss_forward_backward(name: str, batch: int, size: int, device: str = "cpu", seed: int = 0) -> Callable[[], None]:
    """Build inputs once and return a closure that runs the loss forward and backward once."""
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.rand((batch, 1, size, size), generator=generator).to(device).requires_grad_(True)
    target = (torch.rand((batch, 1, size, size), generator=generator) > 0.5).float().to(device)
    # Valid statistics (those of a Bernoulli(1/2) field, f = 1/4 for every pair and offset) of the right shape: the
    # losses' cost does not depend on their values, and building them allocates nothing transient (which keeps
    # the memory probe honest).
    full_statistics = torch.full((1, 2, 2, size, size), 0.25, device=device)
    crop_offsets = 2 * CROP_CUTOFF + 1
    crop_statistics = torch.full((1, 2, 2, crop_offsets, crop_offsets), 0.25, device=device)

    losses: dict[str, Callable[[], torch.Tensor]] = {
        "torch_mse": lambda: torch.nn.functional.mse_loss(prediction, target),
        "bare_fft": lambda: bare_fft_autocorrelation(prediction).square().mean(),  # the FFT floor of a loss
        "msess": lambda: F.msess(prediction, target_statistics=full_statistics),
        "cess": lambda: F.cess(prediction, target_statistics=full_statistics),
        "center_crop_cess": lambda: F.center_crop_cess(
            prediction, target_statistics=crop_statistics, cutoff=CROP_CUTOFF
        ),
        "clamp_loss": lambda: F.clamp_loss(prediction),
        "mse_cess": lambda: F.mse_cess(prediction, target),
    }
    if name not in losses:
        raise ValueError(f"name: expected one of {sorted(losses)}, got {name!r}")
    loss = losses[name]

    def run() -> None:
        loss().backward()
        prediction.grad = None  # the gradient counts in the peak, not in the next call's baseline

    return run


def _status_bytes(field: str) -> int:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_resident() -> bool:
    """Reset this process's peak resident size (``VmHWM``) to its current one (Linux >= 4.0); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _probe_main(arguments: list[str]) -> None:
    name, batch, size = arguments[0], int(arguments[1]), int(arguments[2])
    run = loss_forward_backward(name, batch, size)
    reset = _reset_peak_resident()
    before = _status_bytes("VmRSS")
    peak_before = _status_bytes("VmHWM")
    run()
    peak_after = _status_bytes("VmHWM")
    print(json.dumps({
        "peak_extra_bytes": max(peak_after, before) - before,
        "exceeded_setup_high_water": reset or peak_after > peak_before,
    }))


def cpu_peak_extra_bytes(name: str, batch: int, size: int) -> dict[str, object]:
    """Peak resident memory that one forward+backward adds on CPU, measured in a fresh Python process.

    The process builds its inputs, resets its peak resident size to the current one (``/proc/self/clear_refs``),
    runs the loss once and reads the new peak (``VmHWM``); the difference with the resident size before the call
    is the peak extra memory. A fresh process keeps earlier benchmarks' memory (and allocator caches) out of the
    measure. Where the reset is refused, a call that never rises above the set-up's own peak makes the figure a
    lower bound, flagged by ``exceeded_setup_high_water = False``.
    """
    environment = dict(os.environ, MALLOC_MMAP_THRESHOLD_="131072")  # large frees go back to the OS
    completed = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), name, str(batch), str(size)],
        capture_output=True, text=True, check=True, env=environment, cwd=BENCHMARK_DIRECTORY,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def cuda_peak_extra_bytes(name: str, batch: int, size: int) -> dict[str, object]:
    """Peak CUDA memory that one forward+backward allocates beyond its inputs (``max_memory_allocated``)."""
    run = loss_forward_backward(name, batch, size, device="cuda")
    run()  # cuFFT plans and the caching allocator warm up
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    run()
    torch.cuda.synchronize()
    return {"peak_extra_bytes": torch.cuda.max_memory_allocated() - before, "exceeded_setup_high_water": True}


if __name__ == "__main__":
    _probe_main(sys.argv[1:])
