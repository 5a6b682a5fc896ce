"""The benchmark grid: which statistics cases run in the short subset and which in the full grid.

``channels == 1`` is the single-channel two-phase fast path; ``channels >= 2`` is one-hot input with that many
phases. ``cutoff_mode`` "full" is PyMKS's largest cutoff ``(n - 1) // 2`` (identical output for both libraries),
"crop" is 25 (capped at the full one).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

from _bench_common import fast_fft_length, full_grid_requested

# Above these many input voxels (batch * channels * padded voxels) a case is skipped on CPU: seconds per call.
CPU_VOXEL_LIMIT = 2**25
PYMKS_VOXEL_LIMIT = 2**23
CROP_CUTOFF = 25


@dataclass(frozen=True)
class StatisticsCase:
    dims: int
    size: int
    batch: int
    channels: int
    periodic: bool
    cutoff_mode: str
    dtype: str

    @property
    def spatial(self) -> tuple[int, ...]:
        return (self.size,) * self.dims

    @property
    def phases(self) -> int:
        return max(self.channels, 2)

    @property
    def cutoff(self) -> int:
        full = (self.size - 1) // 2
        return full if self.cutoff_mode == "full" else min(CROP_CUTOFF, full)

    @property
    def padded_voxels(self) -> int:
        side = self.size if self.periodic else fast_fft_length(self.size + self.cutoff)
        return side**self.dims

    @property
    def work(self) -> int:
        """Input voxels the FFTs touch: the measure the CPU limits compare against."""
        return self.batch * self.channels * self.padded_voxels

    @property
    def case_id(self) -> str:
        boundary = "per" if self.periodic else "nonper"
        return f"{self.dims}d-n{self.size}-b{self.batch}-c{self.channels}-{boundary}-{self.cutoff_mode}-{self.dtype}"

    def info(self) -> dict[str, object]:
        """What report.py groups and labels by (stored in pytest-benchmark's ``extra_info``)."""
        return {
            **asdict(self),
            "phases": self.phases,
            "cutoff": self.cutoff,
            "voxels": math.prod(self.spatial),
            "case": self.case_id,
        }


def _short_forward() -> list[StatisticsCase]:
    cases = [StatisticsCase(2, size, 16, 1, True, "full", "float32") for size in (64, 128, 224, 512)]
    cases += [StatisticsCase(2, 224, batch, 1, True, "full", "float32") for batch in (1, 64)]
    cases += [StatisticsCase(2, 128, 16, channels, True, "full", "float32") for channels in (2, 3, 5)]
    cases += [StatisticsCase(2, size, 16, 1, False, "full", "float32") for size in (64, 128, 224)]
    cases += [StatisticsCase(2, 224, 16, 1, periodic, "crop", "float32") for periodic in (True, False)]
    cases += [StatisticsCase(2, 224, 16, 2, True, "full", "float32"), StatisticsCase(2, 224, 16, 1, True, "full", "float64")]
    cases += [StatisticsCase(3, size, 4, 1, True, "full", "float32") for size in (32, 64)]
    cases += [StatisticsCase(3, 32, 4, 1, False, "full", "float32"), StatisticsCase(3, 32, 4, 3, True, "full", "float32")]
    return cases


def _short_backward() -> list[StatisticsCase]:
    return [
        StatisticsCase(2, 224, 16, 1, True, "full", "float32"),
        StatisticsCase(2, 224, 16, 1, True, "crop", "float32"),
        StatisticsCase(2, 224, 16, 1, False, "full", "float32"),
        StatisticsCase(2, 224, 16, 2, True, "full", "float32"),
        StatisticsCase(2, 128, 16, 3, True, "full", "float32"),
        StatisticsCase(3, 32, 4, 1, True, "full", "float32"),
    ]


def _short_pymks() -> list[StatisticsCase]:
    cases = [StatisticsCase(2, size, 16, 2, True, "full", "float32") for size in (64, 128, 224)]
    cases += [StatisticsCase(2, size, 16, 2, False, "full", "float32") for size in (64, 128)]
    cases += [StatisticsCase(2, 224, 16, 2, True, "crop", "float32"), StatisticsCase(2, 128, 16, 3, True, "full", "float32")]
    cases += [StatisticsCase(3, 32, 4, 2, True, "full", "float32")]
    return cases


def _full_grid() -> list[StatisticsCase]:
    cases = []
    for dims, sizes in ((2, (64, 128, 224, 512, 1024)), (3, (32, 64, 128))):
        for size, batch, channels, periodic, cutoff_mode, dtype in itertools.product(
            sizes, (1, 16, 64, 256), (1, 2, 3, 5), (True, False), ("full", "crop"), ("float32", "float64")
        ):
            cases.append(StatisticsCase(dims, size, batch, channels, periodic, cutoff_mode, dtype))
    return cases


def forward_cases() -> list[StatisticsCase]:
    return _full_grid() if full_grid_requested() else _short_forward()


def backward_cases() -> list[StatisticsCase]:
    return _full_grid() if full_grid_requested() else _short_backward()


def pymks_cases() -> list[StatisticsCase]:
    """PyMKS takes one-hot, phase-last input: the same cases with at least two channels, float32 only."""
    if not full_grid_requested():
        return _short_pymks()
    return [case for case in _full_grid() if case.channels >= 2 and case.dtype == "float32"]
