"""Statistics losses against their FFT floor, in one process, interleaved: time / f4 and peak memory / input.

For each case (loss, boundary, window, size, batch, phases) the script times, round-robin so that machine noise
hits every variant alike:

- ``f1``: one real FFT, ``|F|^2`` and one inverse real FFT of the batch at the statistics' FFT lengths (padded
  for non-periodic statistics), per phase;
- ``f4``: two of them, the FFT work of a forward+backward (the floor of issue 9);
- ``fP`` (rows with ``P > 2`` phases, the n-phase floor): the transforms an n-phase loss needs and nothing else, at
  the same FFT lengths and in the same chunks of samples as the fused path: forward ``P`` rfftn (one per phase) and
  ``P(P+1)/2`` irfftn (one per independent pair ``h <= h'``), backward ``P(P+1)/2`` rfftn (the pairs' derivative
  maps) and ``P`` irfftn (one per phase's gradient); ``P(P+3)`` transforms in all, full grids (the fused path
  transforms only the window of a crop, so it may go below this floor there). The n-phase target: fused <= 2x fP;
- ``hand``: a minimal hand-written autograd CESS (periodic, one channel; no centring, no checks);
- ``reference``: the library's autograd implementation (the fused path switched off);
- ``fused``: the library as called by users (``check_values=False``, precomputed target statistics);
- with ``--compare-methods``, ``fused`` again with the window method (:func:`spatialstats.set_window_method`)
  forced to ``"fft"`` and to ``"matmul"`` (``fused`` itself runs under ``--window-method``, default ``"auto"``);
- with ``--compare-fusion``, ``compiled``: ``fused`` with :func:`spatialstats.set_elementwise_fusion` ``"compile"``
  (compiled during the warm-up, so the times exclude compilation).

The target statistics are one target's, shared by the batch, or with ``--per-sample-targets`` one per sample (a
training loop's reconstruction loss: four more maps to read per sample).

It prints a Markdown table with the minimum over repeats of each time, the ratio to ``f4`` of the same run (and to
the row's own floor: ``f4`` for one channel, ``fP`` for n phases), and the peak torch CPU memory of one
forward+backward over the input's bytes (the running sum of the profiler's allocation events, inputs excluded), and
the issue's targets as met / not met.

Run: ``PYTHONPATH=src python benchmarks/loss_floor.py`` (``--help`` lists the options; ``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import spatialstats as ss  # noqa: E402
import spatialstats.functional as F  # noqa: E402
from _bench_common import fast_fft_length  # noqa: E402
from spatialstats.functional import _fused, _fused_phases  # noqa: E402

TARGETS = {  # (loss, periodic, window) -> (time / f4, peak memory / input) of issue 9
    ("cess", True, "full"): (1.5, 4.0),
    ("cess", True, "crop"): (1.3, 3.0),
    ("cess", False, "crop"): (1.5, 4.0),
    ("cess", False, "full"): (2.0, 6.0),
}


@dataclass(frozen=True)
class Case:
    loss: str
    periodic: bool
    window: str  # "full" (every offset) or "crop" (cutoff 25)
    size: int = 224
    batch: int = 64
    dims: int = 2
    phases: int = 2

    @property
    def cutoff(self) -> int | None:
        if self.window == "crop":
            return min(25, (self.size - 1) // 2)
        return None

    @property
    def fft_shape(self) -> tuple[int, ...]:
        if self.periodic:
            return (self.size,) * self.dims
        cutoff = self.cutoff if self.cutoff is not None else self.size - 1
        return (fast_fft_length(self.size + cutoff),) * self.dims

    @property
    def label(self) -> str:
        boundary = "periodic" if self.periodic else "non-periodic"
        shape = "x".join([str(self.size)] * self.dims)
        return f"{self.loss} {boundary} {self.window} b{self.batch} {shape} P{self.phases}"


def _inputs(case: Case, per_sample: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """The prediction and the target statistics: of one target shared by the batch, or one per sample."""
    generator = torch.Generator().manual_seed(0)
    channels = 1 if case.phases == 2 else case.phases
    spatial = (case.size,) * case.dims
    targets = case.batch if per_sample else 1
    if channels == 1:
        prediction = torch.rand((case.batch, 1, *spatial), generator=generator)
        target = (torch.rand((targets, 1, *spatial), generator=generator) > 0.5).float()
    else:
        prediction = torch.softmax(torch.randn((case.batch, channels, *spatial), generator=generator), dim=1)
        labels = torch.randint(0, channels, (targets, *spatial), generator=generator)
        target = ss.one_hot_from_labels(labels).float()
    statistics = ss.two_point_stats(target, periodic=case.periodic, cutoff=case.cutoff)
    return prediction.requires_grad_(True), statistics


def _floor(prediction: torch.Tensor, case: Case, passes: int) -> Callable[[], None]:
    dims = tuple(range(2, prediction.ndim))
    values = prediction.detach()

    def run() -> None:
        for _ in range(passes):
            spectrum = torch.fft.rfftn(values, s=case.fft_shape, dim=dims)
            torch.fft.irfftn(spectrum.real.square() + spectrum.imag.square(), s=case.fft_shape, dim=dims)

    return run


def _phase_floor(prediction: torch.Tensor, case: Case) -> Callable[[], None]:
    """``fP``: the n-phase loss's transforms alone, per chunk of samples as the fused path takes them."""
    values = prediction.detach()
    phases, dims = values.shape[1], tuple(range(2, prediction.ndim))
    pairs = phases * (phases + 1) // 2
    step = max(1, ss.get_chunk_pixels() // (math.prod(case.fft_shape) * phases))

    def run() -> None:
        for start in range(0, values.shape[0], step):
            spectra = torch.fft.rfftn(values[start : start + step], s=case.fft_shape, dim=dims)
            paired = spectra.repeat(1, -(-pairs // phases), *([1] * case.dims))[:, :pairs]
            maps = torch.fft.irfftn(paired, s=case.fft_shape, dim=dims)
            torch.fft.irfftn(torch.fft.rfftn(maps, dim=dims)[:, :phases], s=case.fft_shape, dim=dims)

    return run


def hand_cess(prediction: torch.Tensor, statistics: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """The least autograd CESS of a periodic one-channel field (full window, uncentred layout)."""
    dims = tuple(range(2, prediction.ndim))
    size = math.prod(prediction.shape[2:])
    spectrum = torch.fft.rfftn(prediction[:, 0], dim=tuple(d - 1 for d in dims))
    auto = torch.fft.irfftn(spectrum.abs().square(), s=prediction.shape[2:], dim=tuple(d - 1 for d in dims)) / size
    volume = prediction.mean(dim=dims).reshape(-1, *([1] * len(dims)))
    pairs = torch.stack([1 - 2 * volume + auto, volume - auto, volume - auto, auto], dim=1)
    target = statistics.reshape(statistics.shape[0], 4, *statistics.shape[3:])
    return -(target * torch.log(pairs.clamp_min(0) + eps)).sum(dim=1).mean()


def _loss_call(case: Case, prediction: torch.Tensor, statistics: torch.Tensor) -> Callable[[], torch.Tensor]:
    options = dict(target_statistics=statistics, periodic=case.periodic, cutoff=case.cutoff, check_values=False)
    if case.loss == "msess":
        return lambda: F.msess(prediction, **options)
    if case.loss == "mse_cess":
        target = torch.zeros_like(prediction)
        return lambda: F.mse_cess(prediction, target, **options)
    return lambda: F.cess(prediction, **options)


def _backward(loss: Callable[[], torch.Tensor], prediction: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        loss().backward()
        prediction.grad = None

    return run


def _reference(run: Callable[[], None]) -> Callable[[], None]:
    def without_fused() -> None:
        applies = _fused.applies, _fused_phases.applies
        _fused.applies = _fused_phases.applies = lambda *unused: False
        try:
            run()
        finally:
            _fused.applies, _fused_phases.applies = applies

    return without_fused


def peak_bytes(run: Callable[[], None]) -> int:
    """Peak of the running sum of the profiler's CPU memory events during one call: every event's own (self)
    allocations minus frees, in order of start time. Temporaries freed inside one operator are not seen, so this is
    a lower bound of the true peak, on the same footing for every variant."""
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as profile:
        run()
    events = sorted(profile.events(), key=lambda event: event.time_range.start)
    running = peak = 0
    for event in events:
        running += event.self_cpu_memory_usage or 0
        peak = max(peak, running)
    return peak


def _with_knob(setter: Callable[[str], None], getter: Callable[[], str], value: str,
               run: Callable[[], None]) -> Callable[[], None]:
    """``run`` with a library knob (window method, elementwise fusion) set to ``value``, restored after."""
    def forced() -> None:
        before = getter()
        setter(value)
        try:
            run()
        finally:
            setter(before)

    return forced


def measure(
    case: Case, repeats: int, with_reference: bool, methods: bool = False, per_sample: bool = False,
    fusion: bool = False,
) -> dict[str, dict[str, float]]:
    prediction, statistics = _inputs(case, per_sample)
    fused = _backward(_loss_call(case, prediction, statistics), prediction)
    variants = {"f1": _floor(prediction, case, 1), "f4": _floor(prediction, case, 2), "fused": fused}
    if methods:
        variants.update({
            f"fused {method}": _with_knob(ss.set_window_method, ss.get_window_method, method, fused)
            for method in ("fft", "matmul")
        })
    if fusion:
        variants["compiled"] = _with_knob(ss.set_elementwise_fusion, ss.get_elementwise_fusion, "compile", fused)
    if case.phases > 2:
        variants["fP"] = _phase_floor(prediction, case)
    if case.loss == "cess" and case.periodic and case.window == "full" and case.phases == 2:
        variants["hand"] = _backward(lambda: hand_cess(prediction, statistics), prediction)
    if with_reference:
        variants["reference"] = _reference(fused)
    for run in variants.values():
        run()  # warm-up: plans, allocator, compilation
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    input_bytes = prediction.numel() * prediction.element_size()
    results = {}
    for name, run in variants.items():
        memory = peak_bytes(run) / input_bytes if name in ("fused", "reference", "hand", "compiled") else float("nan")
        results[name] = {"min": min(times[name]), "memory": memory}
    return results


def _phase_cases() -> list[Case]:
    """The n-phase rows: 3 and 5 phases, periodic full window and cutoff 25, non-periodic crop."""
    layouts = [(True, "full"), (True, "crop"), (False, "crop")]
    return [Case("cess", periodic, window, phases=phases) for phases in (3, 5) for periodic, window in layouts]


def _cases(quick: bool, phases_only: bool = False) -> list[Case]:
    if phases_only:
        return _phase_cases()
    cases = [Case(loss, periodic, window) for loss in ("cess",) for periodic in (True, False) for window in ("full", "crop")]
    if quick:
        return cases
    cases += [Case(loss, True, "full") for loss in ("msess", "mse_cess")]
    cases += _phase_cases()
    cases += [Case("cess", True, "full", size=size, batch=64 * 224 * 224 // size**2 or 1) for size in (64, 128, 512, 1024)]
    cases += [Case("cess", periodic, "full", size=64, batch=2, dims=3) for periodic in (True, False)]
    return cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    parser.add_argument("--quick", action="store_true", help="only the four CESS cases of the targets")
    parser.add_argument("--phases", action="store_true", help="only the n-phase rows (3 and 5 phases)")
    parser.add_argument("--no-reference", action="store_true", help="skip the (slow) autograd reference")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's own)")
    parser.add_argument("--window-method", default="auto", choices=("auto", "fft", "matmul"),
                        help="spatialstats.set_window_method for the fused column (default auto)")
    parser.add_argument("--compare-methods", action="store_true",
                        help="add fused columns with the window method forced to fft and to matmul")
    parser.add_argument("--per-sample-targets", action="store_true",
                        help="one target per sample (default: one target's statistics shared by the batch)")
    parser.add_argument("--compare-fusion", action="store_true",
                        help="add a column with spatialstats.set_elementwise_fusion('compile') (compiled in the warm-up)")
    arguments = parser.parse_args(argv)
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    ss.set_window_method(arguments.window_method)
    methods, fusion = arguments.compare_methods, arguments.compare_fusion
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, minimum of {arguments.repeats} interleaved runs, "
          f"window method {arguments.window_method}, "
          f"{'one target per sample' if arguments.per_sample_targets else 'one target shared by the batch'}")
    print("| case | f4 ms | fused ms | fused / f4 | fused peak / input | reference / f4 | reference peak / input "
          "| hand / f4 | target (time, memory) | fused / own floor | reference / own floor |"
          + (" fft / f4 | matmul / f4 |" if methods else "") + (" compiled / f4 | compiled peak / input |" if fusion else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|" + ("---:|---:|" if methods else "")
          + ("---:|---:|" if fusion else ""))
    for case in _cases(arguments.quick, arguments.phases):
        results = measure(case, arguments.repeats, not arguments.no_reference, methods, arguments.per_sample_targets,
                          fusion)
        f4 = results["f4"]["min"]
        fused = results["fused"]
        reference = results.get("reference", {"min": float("nan"), "memory": float("nan")})
        hand = results.get("hand", {"min": float("nan")})
        target = TARGETS.get((case.loss, case.periodic, case.window)) if case.phases == 2 and case.size == 224 else None
        verdict = "-"
        own = results.get("fP", results["f4"])["min"]
        if case.phases > 2:  # the n-phase target: within 2x of its own floor fP
            verdict = f"<= 2x fP: {'met' if fused['min'] / own <= 2 else 'NOT met'}"
        elif target is not None:
            met = fused["min"] / f4 <= target[0] and fused["memory"] <= target[1]
            verdict = f"<= {target[0]:g}x, <= {target[1]:g}x: {'met' if met else 'NOT met'}"
        print(
            f"| {case.label} | {f4 * 1e3:.1f} | {fused['min'] * 1e3:.1f} | {fused['min'] / f4:.2f} | "
            f"{fused['memory']:.1f} | {reference['min'] / f4:.2f} | {reference['memory']:.1f} | "
            f"{hand['min'] / f4:.2f} | {verdict} | {fused['min'] / own:.2f} | {reference['min'] / own:.2f} |"
            + (f" {results['fused fft']['min'] / f4:.2f} | {results['fused matmul']['min'] / f4:.2f} |" if methods else "")
            + (f" {results['compiled']['min'] / f4:.2f} | {results['compiled']['memory']:.1f} |" if fusion else ""),
            flush=True,
        )


if __name__ == "__main__":
    main()
