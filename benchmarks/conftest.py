"""Benchmark configuration: the short subset runs by default, ``SPATIALSTATS_BENCH_FULL=1`` selects the full grid.

Run from the repository root (these files are outside ``testpaths``, so the normal test run never collects them)::

    python -m pytest benchmarks -q --benchmark-json outputs/bench/raw.json
    SPATIALSTATS_BENCH_FULL=1 python -m pytest benchmarks -q --benchmark-json outputs/bench/raw_full.json
    SPATIALSTATS_BENCH_THREADS=1 python -m pytest benchmarks -q ...   # torch on one thread
"""

from __future__ import annotations

import os

import pytest
import torch

from _bench_common import full_grid_requested

if os.environ.get("SPATIALSTATS_BENCH_THREADS"):
    # 1 gives steadier numbers on a busy shared machine; unset keeps torch's default
    torch.set_num_threads(int(os.environ["SPATIALSTATS_BENCH_THREADS"]))


def pytest_report_header(config: pytest.Config) -> str:
    grid = "full grid" if full_grid_requested() else "short subset (SPATIALSTATS_BENCH_FULL=1 selects the full grid)"
    cuda = torch.cuda.get_device_name() if torch.cuda.is_available() else "no CUDA device, cuda cases skip"
    return f"spatialstats benchmarks: {grid}; torch {torch.__version__}, {torch.get_num_threads()} threads; {cuda}"
