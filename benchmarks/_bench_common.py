"""Shared helpers of the benchmarks: test fields, the bare-FFT floor, PyMKS import and a small timer.

Not a test module: pytest only collects ``test_*.py`` here.
"""

from __future__ import annotations

import os
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch


def full_grid_requested() -> bool:
    """True when ``SPATIALSTATS_BENCH_FULL=1`` asks for the full benchmark grid instead of the short subset."""
    return os.environ.get("SPATIALSTATS_BENCH_FULL", "0").strip().lower() in {"1", "true", "yes", "full"}


def random_two_phase(
    batch: int,
    spatial: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> torch.Tensor:
    """A batch of binary two-phase fields as one channel ``(batch, 1, *spatial)`` (phase-1 indicator)."""
    return random_phases(batch, 2, spatial, dtype=dtype, device=device, seed=seed)[:, 1:].contiguous()


def random_phases(
    batch: int,
    phases: int,
    spatial: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> torch.Tensor:
    """A batch of one-hot ``phases``-phase fields ``(batch, phases, *spatial)``."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, phases, (batch, *spatial), generator=generator)
    one_hot = torch.nn.functional.one_hot(labels, phases).movedim(-1, 1).to(dtype)
    return one_hot.to(device)


def bare_fft_autocorrelation(fields: torch.Tensor) -> torch.Tensor:
    """The floor: one real FFT, ``|F|^2`` and one inverse real FFT per channel, divided by the voxel count.

    No centring, no cropping, no cross-correlations: the least work any FFT method must do for periodic
    autocorrelations of the same batch.
    """
    spatial_dims = tuple(range(2, fields.ndim))
    spatial_shape = fields.shape[2:]
    spectrum = torch.fft.rfftn(fields, dim=spatial_dims)
    power = spectrum.real.square() + spectrum.imag.square()
    return torch.fft.irfftn(power, s=spatial_shape, dim=spatial_dims) / fields[0, 0].numel()


def bare_fft_floor(fields: torch.Tensor, padded_shape: tuple[int, ...] | None = None) -> torch.Tensor:
    """The FFT floor of a statistics case: forward FFTs of every channel, inverse FFTs of every independent pair.

    ``(batch, C, *spatial)`` -> ``(batch, C (C + 1) / 2, *padded)``: one real FFT per channel (zero-padded to
    ``padded_shape`` for non-periodic statistics), the products ``F_h conj(F_h')`` for ``h <= h'`` and their inverse
    real FFTs. No centring, cropping or normalisation by placements. With one channel this is the bare
    autocorrelation.
    """
    spatial_dims = tuple(range(2, fields.ndim))
    shape = tuple(padded_shape) if padded_shape is not None else tuple(fields.shape[2:])
    spectrum = torch.fft.rfftn(fields, s=shape, dim=spatial_dims)
    channels = fields.shape[1]
    first, second = torch.triu_indices(channels, channels, device=fields.device)
    products = spectrum[:, first] * spectrum[:, second].conj()
    return torch.fft.irfftn(products, s=shape, dim=spatial_dims) / fields[0, 0].numel()


def fast_fft_length(minimum: int) -> int:
    """The smallest length >= ``minimum`` whose only prime factors are 2, 3 and 5 (fast for pocketfft and cuFFT)."""
    length = max(1, minimum)
    while True:
        remainder = length
        for prime in (2, 3, 5):
            while remainder % prime == 0:
                remainder //= prime
        if remainder == 1:
            return length
        length += 1


def import_pymks() -> Any | None:
    """``pymks`` with its import-time deprecation warnings silenced, or None when it is not installed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            import pymks
        except ImportError:
            return None
    return pymks


def synchronize(device: str | torch.device) -> None:
    """Wait for queued CUDA work, so that a timer measures it (no-op on CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def time_call(
    function: Callable[[], Any],
    *,
    repeats: int = 5,
    warmup: int = 1,
    device: str | torch.device = "cpu",
) -> dict[str, float]:
    """Run ``function`` ``warmup`` times untimed, then ``repeats`` times; return min and median seconds."""
    for _ in range(warmup):
        function()
    synchronize(device)
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        synchronize(device)
        seconds.append(time.perf_counter() - start)
    return {"min": min(seconds), "median": statistics.median(seconds)}


def device_params(devices: tuple[str, ...] = ("cpu", "cuda")) -> list[Any]:
    """One ``pytest.param`` per device; the CUDA one is marked ``cuda`` and skips cleanly without a GPU."""
    import pytest

    no_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
    return [
        pytest.param(device, marks=[pytest.mark.cuda, no_cuda]) if device == "cuda" else pytest.param(device)
        for device in devices
    ]
