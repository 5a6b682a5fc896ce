"""Benchmarks of the descriptors, each next to its floor (the least work any method needs for that quantity).

One case per descriptor: a batch of 16 binary two-phase 128x128 fields, one channel, float32, periodic, on CPU (and
CUDA when present). ``extra_info`` holds the descriptor, the method (``spatialstats`` or ``floor``) and the pass:

| descriptor | floor |
|---|---|
| lineal_path (max_length 32) | the running products alone: 32 multiplications by a shifted view, per axis and phase |
| radial_two_point_stats | two_point_stats of the same window (the radial average adds one matrix product) |
| directional_two_point_stats | bare 1-D FFT autocorrelations along each axis |
| surface_correlations | the bare FFT floor of the 4 channels (2 interface indicators + 2 phases) |
| chord_length_distribution | one neighbour comparison per axis (finding run boundaries) |
| cluster_function (exact) | two_point_stats (S2): C2 needs one FFT per cluster instead of one per phase |
"""

from __future__ import annotations

import pytest
import torch

from _bench_common import bare_fft_floor, device_params, random_two_phase

import spatialstats as ss
from spatialstats import descriptors as D

BATCH, SIZE, MAX_LENGTH, CUTOFF = 16, 128, 32, 32


def run(benchmark, function, device: str, descriptor: str, method: str, pass_name: str = "forward") -> None:
    benchmark.group = f"descriptors {descriptor} {pass_name} {device}"
    benchmark.extra_info.update({"descriptor": descriptor, "method": method, "pass": pass_name, "device": device,
                                 "batch": BATCH, "size": SIZE, "threads": torch.get_num_threads()})

    def synchronized() -> None:
        function()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.pedantic(synchronized, rounds=5, warmup_rounds=1, iterations=1)


def fields_on(device: str, batch: int = BATCH) -> torch.Tensor:
    return random_two_phase(batch, (SIZE, SIZE), device=device)


def running_products_floor(fields: torch.Tensor) -> torch.Tensor:
    fields = torch.cat([1 - fields, fields], dim=1)  # both phases, as the descriptor returns
    total = fields.new_zeros(())
    for dim in (2, 3):
        running = fields
        for r in range(1, MAX_LENGTH + 1):
            running = running.narrow(dim, 0, SIZE - r) * fields.narrow(dim, r, SIZE - r)
            total = total + running.sum()
    return total


def axis_fft_floor(fields: torch.Tensor) -> list[torch.Tensor]:
    return [torch.fft.irfft(torch.fft.rfft(fields, dim=d).abs().square(), n=SIZE, dim=d) for d in (2, 3)]


def neighbour_floor(fields: torch.Tensor) -> list[torch.Tensor]:
    return [(fields != torch.roll(fields, 1, dims=d)).sum() for d in (2, 3)]


CASES = {
    "lineal_path": (lambda f: D.lineal_path(f, max_length=MAX_LENGTH), running_products_floor),
    "radial": (lambda f: D.radial_two_point_stats(f, cutoff=CUTOFF), lambda f: ss.two_point_stats(f, cutoff=CUTOFF)),
    "directional": (lambda f: D.directional_two_point_stats(f, cutoff=CUTOFF), axis_fft_floor),
    "surface": (lambda f: D.surface_correlations(f, cutoff=CUTOFF),
                lambda f: bare_fft_floor(torch.cat([f, f, 1 - f, f], dim=1))),
    "chords": (D.chord_length_distribution, neighbour_floor),
    "cluster": (lambda f: D.cluster_function(f, cutoff=CUTOFF), lambda f: ss.two_point_stats(f, cutoff=CUTOFF)),
}
DIFFERENTIABLE = ("lineal_path", "radial", "directional", "surface")


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("method", ["spatialstats", "floor"])
@pytest.mark.parametrize("descriptor", list(CASES))
def test_forward(benchmark, descriptor: str, method: str, device: str) -> None:
    batch = 2 if descriptor == "cluster" else BATCH  # the exact C2 transforms every cluster: a smaller batch
    fields = fields_on(device, batch)
    function = CASES[descriptor][0 if method == "spatialstats" else 1]
    run(benchmark, lambda: function(fields), device, descriptor, method)


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("descriptor", DIFFERENTIABLE)
def test_forward_backward(benchmark, descriptor: str, device: str) -> None:
    fields = fields_on(device).requires_grad_()

    def step() -> None:
        output = CASES[descriptor][0](fields)
        output = output[0] if isinstance(output, tuple) else output
        output.sum().backward()

    run(benchmark, step, device, descriptor, "spatialstats", "forward+backward")
