"""Elementwise fusion of the fused losses' per-chunk passes by ``torch.compile`` (opt-in), with the eager fallback.

Between its transforms, a fused loss makes a handful of elementwise passes over each chunk (guard, log, product,
quotient, sums). Eagerly each pass reads and writes the chunk's maps; compiled, they become one loop that reads the
autocorrelation and the target once. :func:`run` calls a pure function either way; the eager call is the reference
the tests compare the compiled one with.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch

from spatialstats._tracing import tracing
from spatialstats._validation import check_choice

__all__ = ["set_elementwise_fusion", "get_elementwise_fusion"]

MODES = ("eager", "compile")
_STATE: dict[str, object] = {"mode": "eager", "failure": None}
_COMPILED: dict[Callable, Callable] = {}


def set_elementwise_fusion(mode: str) -> None:
    """Choose how the fused losses run their elementwise passes: ``"eager"`` (the default: one torch operation per
    pass) or ``"compile"`` (the passes of a chunk fused into one loop by ``torch.compile``).

    ``"compile"`` pays a compilation of several seconds per process and kind of layout on the first call (Inductor
    needs a C++ compiler on CPU, Triton on CUDA), so it is for long training loops; on the 2-core CPU the project is
    measured on it was no faster than eager (Inductor's vectorised ``log`` is slower there than eager's; see the
    benchmarks page), and it has not been measured on CUDA. If compiling fails, a
    ``RuntimeWarning`` says why and the eager passes are used for the rest of the process. The eager passes are also
    used whenever a graph is recorded (double backward), inside ``torch.func`` transforms, and when the caller's
    own ``torch.compile`` traces the loss (which fuses the passes itself).

    Example:
        >>> import spatialstats
        >>> spatialstats.set_elementwise_fusion("compile"); spatialstats.get_elementwise_fusion()
        'compile'
        >>> spatialstats.set_elementwise_fusion("eager")
    """
    _STATE["mode"] = check_choice(mode, "mode", MODES)
    _STATE["failure"] = None


def get_elementwise_fusion() -> str:
    """How the fused losses run their elementwise passes: ``"eager"`` or ``"compile"`` (see
    :func:`spatialstats.set_elementwise_fusion`).

    Example:
        >>> import spatialstats
        >>> spatialstats.get_elementwise_fusion()
        'eager'
    """
    return str(_STATE["mode"])


def _eager_only() -> bool:
    return _STATE["mode"] == "eager" or _STATE["failure"] is not None or torch.is_grad_enabled() or tracing()


def run(function: Callable[..., tuple[torch.Tensor, ...]], *args: object) -> tuple[torch.Tensor, ...]:
    """``function(*args)``, compiled when :func:`set_elementwise_fusion` says so and nothing forbids it."""
    if _eager_only():
        return function(*args)
    compiled = _COMPILED.get(function)
    if compiled is None:
        compiled = _COMPILED[function] = torch.compile(function, fullgraph=True, dynamic=True)
    try:
        return compiled(*args)
    except Exception as error:  # no C++ compiler or Triton, an unsupported backend: keep the eager passes
        _STATE["failure"] = f"{type(error).__name__}: {error}"
        warnings.warn(
            f"spatialstats: elementwise fusion by torch.compile failed ({_STATE['failure']}); "
            "the fused losses use their eager passes for the rest of the process",
            RuntimeWarning,
            stacklevel=2,
        )
        return function(*args)
