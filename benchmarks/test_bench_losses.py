"""Benchmarks of the losses: forward+backward time next to ``torch.nn.functional.mse_loss``, and peak memory.

Two-phase fields as one channel ``(batch, 1, n, n)``, periodic statistics, the full offset range except for the
center-crop CESS (cutoff 25). The memory benchmarks store ``peak_extra_bytes`` (and the input's size) in
``extra_info``: on CPU measured in a fresh process from its resident set size, on CUDA with
``torch.cuda.max_memory_allocated``.
"""

from __future__ import annotations

import pytest
import torch

from _bench_common import device_params, full_grid_requested
from _loss_cases import LOSS_NAMES, cpu_peak_extra_bytes, cuda_peak_extra_bytes, loss_forward_backward

CPU_VOXEL_LIMIT = 2**24


def timing_cases() -> list[tuple[int, int]]:
    if full_grid_requested():
        return [(batch, size) for size in (64, 128, 224, 512) for batch in (1, 16, 64, 256)]
    return [(16, 224), (64, 224)]


def memory_cases() -> list[tuple[str, int]]:
    names = LOSS_NAMES if full_grid_requested() else ("torch_mse", "cess", "center_crop_cess")
    return [(name, batch) for name in names for batch in (1, 16, 64)]


def describe(benchmark, *, loss: str, batch: int, size: int, device: str, pass_name: str) -> None:
    benchmark.group = f"loss {pass_name} b{batch} n{size} {device}"
    benchmark.extra_info.update({
        "method": loss, "pass": pass_name, "batch": batch, "size": size, "dims": 2, "channels": 1,
        "phases": 2, "periodic": True, "dtype": "float32", "device": device, "voxels": size * size,
        "case": f"loss-b{batch}-n{size}", "input_bytes": batch * size * size * 4,
        "threads": torch.get_num_threads(), "torch": torch.__version__,
    })


def timed(run, device: str):
    def synchronized() -> None:
        run()
        if device == "cuda":
            torch.cuda.synchronize()

    return synchronized


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("batch,size", timing_cases(), ids=lambda value: str(value))
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_loss_forward_backward(benchmark, loss: str, batch: int, size: int, device: str) -> None:
    if device == "cpu" and batch * size * size > CPU_VOXEL_LIMIT:
        pytest.skip("too slow on CPU")
    run = loss_forward_backward(loss, batch, size, device=device)
    describe(benchmark, loss=loss, batch=batch, size=size, device=device, pass_name="forward+backward")
    benchmark.pedantic(timed(run, device), rounds=5, warmup_rounds=1, iterations=1)


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("loss,batch", memory_cases(), ids=lambda value: str(value))
def test_loss_peak_memory(benchmark, loss: str, batch: int, device: str) -> None:
    size = 224
    probe = cuda_peak_extra_bytes if device == "cuda" else cpu_peak_extra_bytes
    measured = probe(loss, batch, size)
    assert int(measured["peak_extra_bytes"]) > 0
    run = loss_forward_backward(loss, batch, size, device=device)
    describe(benchmark, loss=loss, batch=batch, size=size, device=device, pass_name="memory")
    benchmark.extra_info.update(measured)
    benchmark.pedantic(timed(run, device), rounds=1, warmup_rounds=0, iterations=1)
