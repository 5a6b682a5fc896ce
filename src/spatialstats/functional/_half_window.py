"""Half of a centred window of lags, for sums against maps that are even in the lag.

A periodic autocorrelation is even, ``a(r) = a(-r)``, and so are the one-channel pair maps built from it. A sum
``sum_r t(r) h(a(r))`` over the window therefore equals ``sum_r T(r) h(a(r))`` over about half of it, with
``T(r) = t(r) + t(-r)`` where ``-r`` lies in the other half: the fused CESS evaluates its logarithms and divisions
on half the offsets.

The half is cut along the first spatial axis: its first ``K = w // 2 + 1`` rows (``w`` the window's length there).
A row whose negated lag is itself (lag 0; and lag ``-n / 2 = n / 2`` on an even full periodic axis) is kept whole,
its ``t`` unchanged; every other kept row takes the mirrored row of the rest. Along an axis the mirror of index
``j`` is ``w - 1 - j`` (a window centred on its middle), or ``(n - j) mod n`` on an even full periodic axis (lag 0
at index ``n / 2``).

The derivative of such a sum with respect to ``a`` is known on the half only; placed at the start of the window
with zeros after it, its ``2 Re(rfftn(.) conj(f))`` equals that of the full, even derivative, which is all the
backward of an autocorrelation needs (it sees the even part of the derivative).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from spatialstats._tracing import tracing


@dataclass(frozen=True)
class HalfWindow:
    """Where the half of a centred window lies: ``rows`` kept of the first axis, the first paired kept row
    (``start``; rows before it and row ``rows - 1`` are their own mirrors), and per axis whether the mirror wraps
    (an even full periodic axis)."""

    window: tuple[int, ...]
    rows: int
    start: int
    wraps: tuple[bool, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.rows, *self.window[1:])


def half_window(spatial: tuple[int, ...], windows: tuple[int, ...]) -> HalfWindow:
    """The half of the periodic window ``windows`` of a field of shape ``spatial`` (full axes have ``w == n``)."""
    wraps = tuple(w == n and n % 2 == 0 for n, w in zip(spatial, windows))
    return HalfWindow(tuple(windows), windows[0] // 2 + 1, 1 if wraps[0] else 0, wraps)


def fold(values: torch.Tensor, half: HalfWindow) -> torch.Tensor:
    """``T = t(r) + t(-r)`` on the half's paired rows and ``t`` on its self-mirrored rows, for ``values`` of shape
    ``(batch, *window)``: ``(batch, *half.shape)``, a new tensor."""
    ndim = len(half.window)
    first = -ndim  # the first spatial axis
    kept = values.narrow(first, 0, half.rows)
    paired = half.rows - 1 - half.start
    if paired == 0:
        return kept.clone()
    # the mirrors of kept rows start .. rows - 2 are rows w - 1 - (j - start) ..: the rest, flipped on every axis
    mirrored = values.narrow(first, half.rows, paired).flip(tuple(range(-ndim, 0)))
    if tracing():  # no writes into views under dynamo or torch.func: the same sum, functionally
        return _fold_functional(kept, mirrored, half)
    out = torch.empty_like(kept)
    for row in (0, half.rows - 1) if half.start else (half.rows - 1,):
        out.narrow(first, row, 1).copy_(kept.narrow(first, row, 1))
    target = out.narrow(first, half.start, paired)
    source = kept.narrow(first, half.start, paired)
    for blocks in itertools.product(*(_blocks(w, wrap) for w, wrap in zip(half.window[1:], half.wraps[1:]))):
        out_view, source_view, mirror_view = target, source, mirrored
        for axis, (begin, mirror_begin, length) in enumerate(blocks, start=first + 1):
            out_view = out_view.narrow(axis, begin, length)
            source_view = source_view.narrow(axis, begin, length)
            mirror_view = mirror_view.narrow(axis, mirror_begin, length)
        torch.add(source_view, mirror_view, out=out_view)
    return out


def _blocks(length: int, wrap: bool) -> tuple[tuple[int, int, int], ...]:
    """Per axis, ``(start, start in the flipped map, length)`` of the blocks on which index ``j`` meets its mirror:
    the flipped map holds the mirror of ``j`` at ``j`` (plain flip) or at ``j - 1`` (wrapped: ``(n - j) mod n``)."""
    if not wrap:
        return ((0, 0, length),)
    return ((1, 0, length - 1), (0, length - 1, 1))


def _fold_functional(kept: torch.Tensor, mirrored: torch.Tensor, half: HalfWindow) -> torch.Tensor:
    """:func:`fold` without writes into views (for ``torch.compile``): the wrapped axes' mirrors by ``roll``."""
    ndim = len(half.window)
    for axis, wrap in enumerate(half.wraps[1:], start=1 - ndim):
        if wrap:
            mirrored = torch.roll(mirrored, 1, dims=axis)
    paired = kept.narrow(-ndim, half.start, mirrored.shape[-ndim]) + mirrored
    pieces = [kept.narrow(-ndim, 0, half.start), paired, kept.narrow(-ndim, half.rows - 1, 1)]
    return torch.cat(pieces, dim=-ndim)
