"""Minor page faults per CESS forward+backward call (batch 64 of one-channel 224x224, float32, fixed target),
with glibc's default allocator settings and with ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` raised.

Each setting runs in a fresh process (the variables are read at start-up). Run:
``PYTHONPATH=src python benchmarks/page_faults.py``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys

SETTINGS = {
    "default": {},
    "MALLOC_MMAP_THRESHOLD_ only": {"MALLOC_MMAP_THRESHOLD_": str(2**30)},
    "MALLOC_MMAP_THRESHOLD_ + MALLOC_TRIM_THRESHOLD_": {
        "MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**31)},
}


def child(periodic: bool, fused: bool, calls: int = 3) -> dict[str, float]:
    import torch

    import spatialstats as ss
    import spatialstats.functional as F
    from spatialstats.functional import _fused

    if not fused:
        _fused.applies = lambda *unused: False
    generator = torch.Generator().manual_seed(0)
    prediction = torch.rand((64, 1, 224, 224), generator=generator).requires_grad_(True)
    statistics = ss.two_point_stats((torch.rand((1, 1, 224, 224), generator=generator) > 0.5).float(), periodic=periodic)

    def call() -> None:
        F.cess(prediction, target_statistics=statistics, periodic=periodic, check_values=False).backward()
        prediction.grad = None

    call()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        call()
    return {"faults_per_call": (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls}


def main() -> None:
    print("| path | boundary | allocator setting | minor faults per call |")
    print("|---|---|---|---:|")
    for fused in (True, False):
        for periodic in (True, False):
            for name, extra in SETTINGS.items():
                completed = subprocess.run(
                    [sys.executable, __file__, "--child", str(periodic), str(fused)], env={**os.environ, **extra},
                    capture_output=True, text=True, check=True,
                )
                result = json.loads(completed.stdout.strip().splitlines()[-1])
                path = "fused" if fused else "reference"
                boundary = "periodic" if periodic else "non-periodic"
                print(f"| {path} | {boundary} | {name} | {result['faults_per_call']:.0f} |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2] == "True", sys.argv[3] == "True")))
    else:
        main()
