"""Benchmarks of ``two_point_stats``: forward and forward+backward, next to the bare FFT floor and PyMKS.

Every benchmark stores its case in ``extra_info`` (method, pass, dims, size, batch, channels, periodic, cutoff,
dtype, device) so that ``benchmarks/report.py`` can pair each spatialstats timing with its floor and PyMKS's.
"""

from __future__ import annotations

import pytest
import torch

from _bench_common import bare_fft_floor, device_params, fast_fft_length, import_pymks, random_phases, random_two_phase
from _grid import CPU_VOXEL_LIMIT, PYMKS_VOXEL_LIMIT, StatisticsCase, backward_cases, forward_cases, pymks_cases

import spatialstats as ss

CUDA_VOXEL_LIMIT = 2**28


def make_fields(case: StatisticsCase, device: str) -> torch.Tensor:
    dtype = getattr(torch, case.dtype)
    if case.channels == 1:
        return random_two_phase(case.batch, case.spatial, dtype=dtype, device=device)
    return random_phases(case.batch, case.channels, case.spatial, dtype=dtype, device=device)


def skip_if_too_large(case: StatisticsCase, device: str) -> None:
    limit = CUDA_VOXEL_LIMIT if device == "cuda" else CPU_VOXEL_LIMIT
    if case.work > limit:
        pytest.skip(f"{case.case_id}: {case.work} voxels of FFT input is above the {device} limit {limit}")


def rounds_for(case: StatisticsCase) -> int:
    return 3 if case.work > 2**22 else 5


def run(benchmark, function, case: StatisticsCase, device: str, method: str, pass_name: str) -> None:
    benchmark.group = f"{pass_name} {case.case_id} {device}"
    benchmark.extra_info.update(case.info())
    benchmark.extra_info.update({"method": method, "pass": pass_name, "device": device,
                                 "threads": torch.get_num_threads(), "torch": torch.__version__})

    def synchronized() -> None:
        function()
        if device == "cuda":
            torch.cuda.synchronize()

    benchmark.pedantic(synchronized, rounds=rounds_for(case), warmup_rounds=1, iterations=1)


def padded_shape(case: StatisticsCase) -> tuple[int, ...]:
    side = case.size if case.periodic else fast_fft_length(case.size + case.cutoff)
    return (side,) * case.dims


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("case", forward_cases(), ids=lambda case: case.case_id)
def test_forward_spatialstats(benchmark, case: StatisticsCase, device: str) -> None:
    skip_if_too_large(case, device)
    fields = make_fields(case, device)
    stats = ss.two_point_stats(fields, periodic=case.periodic, cutoff=case.cutoff)
    offsets = 2 * case.cutoff + 1
    assert stats.shape == (case.batch, case.phases, case.phases, *(offsets,) * case.dims)
    run(benchmark, lambda: ss.two_point_stats(fields, periodic=case.periodic, cutoff=case.cutoff),
        case, device, "spatialstats", "forward")


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("case", forward_cases(), ids=lambda case: case.case_id)
def test_forward_bare_fft(benchmark, case: StatisticsCase, device: str) -> None:
    skip_if_too_large(case, device)
    fields = make_fields(case, device)
    shape = padded_shape(case)
    run(benchmark, lambda: bare_fft_floor(fields, shape), case, device, "bare_fft", "forward")


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("case", backward_cases(), ids=lambda case: case.case_id)
def test_backward_spatialstats(benchmark, case: StatisticsCase, device: str) -> None:
    skip_if_too_large(case, device)
    fields = make_fields(case, device).requires_grad_(True)

    def forward_backward() -> None:
        fields.grad = None
        ss.two_point_stats(fields, periodic=case.periodic, cutoff=case.cutoff).sum().backward()

    forward_backward()
    assert fields.grad is not None and fields.grad.shape == fields.shape
    run(benchmark, forward_backward, case, device, "spatialstats", "forward+backward")


@pytest.mark.parametrize("device", device_params())
@pytest.mark.parametrize("case", backward_cases(), ids=lambda case: case.case_id)
def test_backward_bare_fft(benchmark, case: StatisticsCase, device: str) -> None:
    skip_if_too_large(case, device)
    fields = make_fields(case, device).requires_grad_(True)
    shape = padded_shape(case)

    def forward_backward() -> None:
        fields.grad = None
        bare_fft_floor(fields, shape).sum().backward()

    run(benchmark, forward_backward, case, device, "bare_fft", "forward+backward")


@pytest.mark.parametrize("chunked", [False, True], ids=["numpy", "dask"])
@pytest.mark.parametrize("case", pymks_cases(), ids=lambda case: case.case_id)
def test_forward_pymks(benchmark, case: StatisticsCase, chunked: bool) -> None:
    pymks = import_pymks()
    if pymks is None:
        pytest.skip("pymks is not installed")
    if case.work > PYMKS_VOXEL_LIMIT:
        pytest.skip(f"{case.case_id}: too slow for PyMKS on CPU")
    phase_last = make_fields(case, "cpu").movedim(1, -1).contiguous().numpy()
    pairs = [(first, second) for first in range(case.phases) for second in range(first, case.phases)]
    data = phase_last
    if chunked:
        import dask.array

        data = dask.array.from_array(phase_last, chunks=(max(1, case.batch // 4), *phase_last.shape[1:]))

    def compute():
        result = pymks.correlations_multiple(data, pairs, periodic_boundary=case.periodic, cutoff=case.cutoff)
        return result.compute() if chunked else result

    offsets = 2 * case.cutoff + 1
    assert compute().shape == (case.batch, *(offsets,) * case.dims, len(pairs))
    run(benchmark, compute, case, "cpu", "pymks_dask" if chunked else "pymks_numpy", "forward")
