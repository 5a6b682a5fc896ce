"""Fused statistics losses of one-channel two-phase fields: forward and analytic backward by FFTs.

With ``p`` the phase-1 probability, ``A(r) = sum_x p(x) p(x + r)`` its (zero-padded when non-periodic)
autocorrelation, ``W(r)`` the number of placements and ``S(r)`` the sum of ``p`` over the placements' end points,
the four pairs are ``f11 = A / W``, ``f01 = (S(r) - A) / W``, ``f10 = (S(-r) - A) / W`` and
``f00 = 1 - f01 - f10 - f11`` (periodic: ``W = N`` and ``S = N v``). The forward computes ``A`` (one FFT pair) and,
in one elementwise pass over the window, the loss and its derivatives ``G`` with respect to the four pairs. Since
``dA(r)/dp(y) = p(y + r) + p(y - r)``, the backward is one more FFT pair,

    dL/dp = irfftn(2 Re(rfftn(dL/dA)) rfftn(p)) + (volume-fraction or window-sum terms),

with no four-pair maps, no log maps and no complex autograd kept. The batch is processed in chunks of about
:func:`get_chunk_pixels` FFT pixels, so no temporary grows with the batch. A periodic CESS works on half the window
(its pairs are even in the lag, :mod:`._half_window`), with its elementwise passes optionally compiled
(:mod:`._elementwise`). The autograd implementation in :mod:`spatialstats.functional.statistics_losses` is the
reference the tests compare with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spatialstats import _offsets, _window_dft
from spatialstats.statistics import two_point_stats
from spatialstats._tracing import tracing
from spatialstats._validation import check_int
from spatialstats.functional._common import StatisticsLossInputs, as_loss_precision
from spatialstats.functional import _elementwise
from spatialstats.functional._half_window import fold, half_window

__all__ = ["set_chunk_pixels", "get_chunk_pixels"]

_CHUNK_PIXELS = [1 << 19]
LOSS_KINDS = ("cess", "kl", "msess")


def set_chunk_pixels(pixels: int) -> None:
    """Set how many FFT pixels (batch samples x padded voxels) the fused losses process at once.

    The default, :math:`2^{19}`, keeps every temporary of a chunk (a float32 complex spectrum is 4 MiB) far below
    glibc's 32 MiB ``mmap`` threshold, so the allocator recycles them instead of mapping fresh pages at every call.
    A chunk holds at least one sample. Larger values trade memory for fewer, larger FFT calls.

    Example:
        >>> import spatialstats
        >>> spatialstats.set_chunk_pixels(1 << 18); spatialstats.get_chunk_pixels()
        262144
        >>> spatialstats.set_chunk_pixels(1 << 19)
    """
    _CHUNK_PIXELS[0] = check_int(pixels, "pixels", minimum=1)


def get_chunk_pixels() -> int:
    """The chunk size of the fused losses in FFT pixels (see :func:`set_chunk_pixels`).

    Example:
        >>> import spatialstats
        >>> spatialstats.get_chunk_pixels() >= 1
        True
    """
    return _CHUNK_PIXELS[0]


def applies(inputs: StatisticsLossInputs) -> bool:
    """Whether a validated loss call can take the fused path: a one-channel prediction, the same boundary on every
    axis (a per-axis mix takes the reference path) and no gradient wanted for the target side (the fused backward
    only differentiates the prediction). Decided from shapes and flags only."""
    if inputs.prediction.shape[1] != 1 or not isinstance(inputs.periodic, bool):
        return False
    other = inputs.target if inputs.target is not None else inputs.target_statistics
    return not (other is not None and other.requires_grad and torch.is_grad_enabled())


@dataclass(frozen=True)
class _Layout:
    """Everything the passes need that follows from shapes and options only."""

    spatial: tuple[int, ...]
    lengths: tuple[int, ...]
    windows: tuple[int, ...]
    shifts: tuple[int, ...]
    cutoffs: tuple[int, ...] | None
    periodic: bool
    kind: str
    eps: float

    @property
    def ndim(self) -> int:
        return len(self.spatial)

    @property
    def spectrum_size(self) -> int:
        return math.prod(self.lengths[:-1]) * (self.lengths[-1] // 2 + 1)

    @property
    def keep_spectrum(self) -> bool:
        """Keep the field's spectrum for the backward when it is about the field's size, else recompute it."""
        return 2 * self.spectrum_size <= 1.5 * math.prod(self.spatial)

    @property
    def keep_window(self) -> bool:
        """Keep ``dL/dA`` on the window (and transform it in the backward) when smaller than its spectrum."""
        return math.prod(self.windows) <= self.spectrum_size

    @property
    def keep_box_lags(self) -> bool:
        """Non-periodic: keep ``dL/dS`` on the lags when smaller than its image on the field."""
        return math.prod(self.windows) <= math.prod(self.spatial)


def layout(spatial: tuple[int, ...], cutoffs: tuple[int, ...] | None, periodic: bool, kind: str, eps: float) -> _Layout:
    lengths = tuple(_offsets.fft_lengths(spatial, cutoffs, periodic))
    return _Layout(
        spatial, lengths, _offsets.window_lengths(spatial, cutoffs), _offsets.centring_shifts(spatial, cutoffs),
        cutoffs, periodic, kind, float(eps),
    )


def _factors(spec: _Layout, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
    return _offsets.shift_factors(spec.lengths, spec.shifts, dtype=complex_dtype, device=device)


def _dot(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Per sample ``sum_r values * weights`` of ``(chunk, *window)`` tensors; a shared target is one matrix-vector
    product."""
    if weights.shape[0] == 1 and values.shape[0] != 1:
        return values.flatten(1) @ weights.flatten()
    return torch.linalg.vecdot(values.flatten(1), weights.flatten(1))


def _term(spec: _Layout, f: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One pair's per-sample loss and derivative ``q`` with ``dL/df = sign * q`` (see :func:`_sign`).

    For CESS the derivative of ``-t log(max(f, 0) + eps)`` is passed straight through where round-off leaves ``f``
    slightly below 0. (The guard is added after the clamp: ``f + eps`` first would round ``f ~ 0`` to the
    precision of the terms that cancel in it, a relative error of ``ulp(1) / eps`` in the guarded value.)"""
    if spec.kind == "msess":
        difference = f - t
        return _dot(difference, difference), difference
    return _cess_term(f, t, spec.eps)


def _cess_term(f: torch.Tensor, t: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_term` of CESS: ``-sum t log(max(f, 0) + eps)`` per sample and ``t / (max(f, 0) + eps)``."""
    guarded = f.clamp_min(0).add_(eps)
    derivative = t / guarded
    logs = torch.log(guarded) if torch.is_grad_enabled() else guarded.log_()
    return -_dot(logs, t), derivative


def _periodic_cess_terms(
    a: torch.Tensor, v: torch.Tensor, t00: torch.Tensor, t01: torch.Tensor, t11: torch.Tensor, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The elementwise part of the periodic CESS on (half) a window, from ``a = A / N``, the volume fraction ``v``
    and the (folded) targets of ``f00 = a + 1 - 2v``, ``f01 = f10 = v - a``, ``f11 = a``: the per-sample sum of
    ``-t log(f + eps)``, ``q00 - q01 + q11`` and ``sum q01 - 2 sum q00`` (``q = t / (f + eps)``). One loop when
    compiled (:mod:`._elementwise`; the folds stay outside: compiled, their mirrored reads were slower)."""
    loss11, q11 = _cess_term(a, t11, eps)
    loss00, q00 = _cess_term(a + (1 - 2 * v), t00, eps)
    loss01, q01 = _cess_term(v - a, t01, eps)
    extra = q01.flatten(1).sum(dim=1) - 2 * q00.flatten(1).sum(dim=1)
    return loss00 + loss01 + loss11, _combine(q00, q01, q11), extra


def _sign(spec: _Layout) -> float:
    return 2.0 if spec.kind == "msess" else -1.0


def _by_matmul(spec: _Layout, device: torch.device) -> bool:
    """Whether the window of the autocorrelation (and its adjoint) is computed by real matrix products with the
    centring folded in (:func:`~spatialstats._window_dft.real_window_inverse`) rather than by (pruned) FFTs: when
    every axis takes the product by :func:`~spatialstats._window_dft.use_matmul`'s rule. From shapes only."""
    return all(_window_dft.use_matmul(n, w, device, real=True) for n, w in zip(spec.lengths, spec.windows))


def _autocorrelation(
    spec: _Layout, spectrum: torch.Tensor, scale: float, windows: tuple[int, ...] | None = None
) -> torch.Tensor:
    """``scale`` times the centred autocorrelation on the window (or on its first ``windows`` samples per axis),
    from the field's spectrum."""
    windows = spec.windows if windows is None else windows
    if _by_matmul(spec, spectrum.device):
        power = spectrum.real.square() + spectrum.imag.square()
        return _window_dft.real_window_inverse(power, spec.lengths, windows, spec.shifts).mul_(scale)
    factors = _factors(spec, spectrum.real.dtype, spectrum.device)
    power = spectrum * spectrum.conj()
    return _offsets.window_irfftn(power.mul_(factors * scale if scale != 1 else factors), spec.lengths, windows)


def _pairs(spec: _Layout, p: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    """The pairs ``f00, f01, f10, f11`` on the window (periodic: ``f10`` is ``f01``, the same tensor), the field's
    spectrum, and the volume fraction (periodic) or the reciprocal placement counts (non-periodic)."""
    ndim = spec.ndim
    spectrum = torch.fft.rfftn(p, s=list(spec.lengths), dim=tuple(range(-ndim, 0)))
    if spec.periodic:
        size = math.prod(spec.spatial)
        a = _autocorrelation(spec, spectrum, 1 / size)
        v = (spectrum[(slice(None),) + (0,) * ndim].real / size).reshape(-1, *([1] * ndim))
        f01 = v - a
        return [a + (1 - 2 * v), f01, f01, a], spectrum, v, v
    auto = _autocorrelation(spec, spectrum, 1)
    inverse = 1 / _offsets.valid_placement_counts(spec.spatial, spec.cutoffs, dtype=p.dtype, device=p.device)
    a = auto * inverse
    end = _offsets.window_sums(p, spec.cutoffs) * inverse
    start = _offsets.negate_offsets(end, ndim)
    return [(a + 1) - start - end, end - a, start - a, a], spectrum, inverse, inverse


def statistics(spec: _Layout, p: torch.Tensor) -> torch.Tensor:
    """``(batch, 2, 2, *window)`` statistics of ``p`` computed exactly as the fused losses compute the prediction's
    (so that a loss of a field against itself is exactly at its minimum)."""
    pieces = [torch.stack(_pairs(spec, p[start:stop])[0], dim=1) for start, stop in _chunks(spec, p.shape[0])]
    joined = pieces[0] if len(pieces) == 1 else torch.cat(pieces)
    return joined.reshape(joined.shape[0], 2, 2, *joined.shape[2:])


def _target_statistics(spec: _Layout, target: torch.Tensor) -> torch.Tensor:
    """A one-channel target's statistics by the prediction's own arithmetic; a two-channel one's by the library."""
    target = as_loss_precision(target)
    if target.shape[1] == 1:
        return statistics(spec, target[:, 0])
    return two_point_stats(target, periodic=spec.periodic, cutoff=spec.cutoffs, check_values=False)


def _combine(first: torch.Tensor, minus: torch.Tensor, plus: torch.Tensor) -> torch.Tensor:
    """``first - minus + plus``, in place in ``first`` when no graph is recorded."""
    if torch.is_grad_enabled():
        return first - minus + plus
    return first.sub_(minus).add_(plus)


def _uses_half(spec: _Layout, device: torch.device) -> bool:
    """Whether :func:`_periodic_cess` works on half the window: a periodic CESS by FFTs (a window small enough for
    the matrix products is computed whole; their adjoint folds it by itself)."""
    return spec.periodic and spec.kind == "cess" and not _by_matmul(spec, device)


def _folded_targets(spec: _Layout, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The targets of ``f00``, ``f01 = f10`` and ``f11`` folded onto half the window (:func:`._half_window.fold`)."""
    half = half_window(spec.spatial, spec.windows)
    return fold(t[:, 0], half), fold(t[:, 1] + t[:, 2], half), fold(t[:, 3], half)


def _periodic_cess(
    spec: _Layout, p: torch.Tensor, t: torch.Tensor, folded: tuple[torch.Tensor, ...] | None = None
) -> tuple[torch.Tensor, ...]:
    """:func:`_chunk_forward` of a periodic CESS. By FFTs it works on half the window (:func:`_uses_half`): the pairs
    are even in the lag, so each term is ``T(r) log f(r)`` with ``T(r) = t(r) + t(-r)`` over about half the lags
    (:mod:`._half_window`), and ``dL/dA`` is returned on that half (the backward's adjoint transform pads it with
    zeros). A target shared by the batch is ``folded`` once per call, not per chunk."""
    ndim = spec.ndim
    on_half = _uses_half(spec, p.device)
    spectrum = torch.fft.rfftn(p, s=list(spec.lengths), dim=tuple(range(-ndim, 0)))
    size = math.prod(spec.spatial)
    a = _autocorrelation(spec, spectrum, 1 / size, half_window(spec.spatial, spec.windows).shape if on_half else None)
    v = (spectrum[(slice(None),) + (0,) * ndim].real / size).reshape(-1, *([1] * ndim))
    if folded is not None:
        targets = folded
    elif on_half:
        targets = _folded_targets(spec, t)
    else:
        targets = t[:, 0], t[:, 1] + t[:, 2], t[:, 3]
    loss, d_auto, extra = _elementwise.run(_periodic_cess_terms, a, v, *targets, spec.eps)
    count = math.prod(spec.windows)
    return loss / count, d_auto, spectrum, extra * (_sign(spec) / count)


def _chunk_forward(
    spec: _Layout, p: torch.Tensor, t: torch.Tensor, folded: tuple[torch.Tensor, ...] | None = None
) -> tuple[torch.Tensor, ...]:
    """Loss per sample and what the backward needs: ``dL/dA`` on the window (or half of it, see
    :func:`_periodic_cess`, which takes the ``folded`` shared target), the field's spectrum, and the
    volume-fraction derivative (periodic, per sample) or ``dL/dS`` on the lags (non-periodic)."""
    if spec.periodic and spec.kind == "cess":
        return _periodic_cess(spec, p, t, folded)
    (f00, f01, f10, f11), spectrum, v, inverse = _pairs(spec, p)
    count = math.prod(spec.windows)
    sign = _sign(spec) / count
    loss00, q00 = _term(spec, f00, t[:, 0])
    loss11, q11 = _term(spec, f11, t[:, -1])
    if spec.periodic:  # MSESS (CESS is _periodic_cess): f01 = f10, against two target pairs
        loss01, q01 = _term(spec, f01, t[:, 1])
        loss10, q10 = _term(spec, f01, t[:, 2])
        loss01, q01 = loss01 + loss10, q01 + q10
        extra = (q01.flatten(1).sum(dim=1) - 2 * q00.flatten(1).sum(dim=1)) * sign
        return (loss00 + loss01 + loss11) / count, _combine(q00, q01, q11), spectrum, extra
    loss01, q01 = _term(spec, f01, t[:, 1])
    loss10, q10 = _term(spec, f10, t[:, 2])
    scale = inverse * sign
    d_auto = (q00 - q01 - q10 + q11) * scale
    d_end = ((q01 - q00) + _offsets.negate_offsets(q10 - q00, spec.ndim)) * scale
    return (loss00 + loss01 + loss10 + loss11) / count, d_auto, spectrum, d_end


def _auto_scale(spec: _Layout) -> float:
    """The constant factor the periodic ``dL/dA`` leaves to :func:`_auto_adjoint_spectrum`: ``dL/dA`` is
    ``(q00 - q01 + q11) sign / (|window| N)`` (the pairs are ``A / N`` plus volume-fraction terms)."""
    if not spec.periodic:
        return 1.0
    return _sign(spec) / math.prod(spec.windows) / math.prod(spec.spatial)


def _padded_spectrum(spec: _Layout, d_auto: torch.Tensor) -> torch.Tensor:
    """``rfftn`` of ``d_auto`` zero-padded at the end to the FFT lengths. The half of a full window (every axis but
    the first complete) is padded into a zero map and transformed in one native ``rfftn``, which here is cheaper than
    the pruned transform's padded FFT along the first axis; other windows take the pruned one."""
    ndim = spec.ndim
    window = tuple(d_auto.shape[-ndim:])
    if window == spec.lengths or window[1:] != spec.lengths[1:]:
        return _offsets.padded_rfftn(d_auto, spec.lengths)
    padded = torch.nn.functional.pad(d_auto, (0, 0) * (ndim - 1) + (0, spec.lengths[0] - window[0]))
    return torch.fft.rfftn(padded, dim=tuple(range(-ndim, 0)))


def _auto_adjoint_spectrum(spec: _Layout, d_auto: torch.Tensor) -> torch.Tensor:
    """``2 Re(rfftn(dL/dA))`` with ``dL/dA`` (:func:`_auto_scale` times ``d_auto``) moved from the centred window
    (or its first rows, :func:`_periodic_cess`) to lag ``r`` at index ``r mod L``."""
    scale = 2 * _auto_scale(spec)
    if _by_matmul(spec, d_auto.device):
        return _window_dft.real_window_adjoint(d_auto * (scale / 2), spec.lengths, spec.shifts)
    spectrum = _padded_spectrum(spec, d_auto)
    factors = _factors(spec, d_auto.dtype, d_auto.device)
    if all(2 * shift == length for shift, length in zip(spec.shifts, spec.lengths)):  # real factors (signs)
        return spectrum.real * (factors.real * scale)
    return (spectrum * (factors.conj() * scale)).real


def _chunk_backward(
    spec: _Layout, p: torch.Tensor, weights: torch.Tensor, spectrum: torch.Tensor | None, extra: torch.Tensor,
    scale: torch.Tensor, *, saved: bool,
) -> torch.Tensor:
    """Gradient of ``sum_i scale_i L_i`` with respect to the chunk's ``p``. ``weights`` and ``extra`` come from
    :func:`_chunk_forward`, or in the form :func:`_saved_state` keeps them when ``saved``."""
    ndim = spec.ndim
    expand = (-1,) + (1,) * ndim
    if saved and weights.is_complex():  # premultiplied (see _forward_premultiplied)
        gradient_spectrum = weights * scale.reshape(expand)
    else:
        if spectrum is None:
            spectrum = torch.fft.rfftn(p, s=list(spec.lengths), dim=tuple(range(-ndim, 0)))
        if saved and not spec.keep_window:
            adjoint = weights * scale.reshape(expand)
        else:
            adjoint = _auto_adjoint_spectrum(spec, weights * scale.reshape(expand))
        gradient_spectrum = adjoint * spectrum
    if spec.periodic:  # the volume-fraction term is constant over the field: the zero frequency of the gradient
        gradient_spectrum[(slice(None),) + (0,) * ndim] += extra * scale
    gradient = _offsets.crop_centred(
        torch.fft.irfftn(gradient_spectrum, s=list(spec.lengths), dim=tuple(range(-ndim, 0))), spec.spatial
    )
    if not spec.periodic:
        if not saved or spec.keep_box_lags:
            extra = _offsets.window_sums_adjoint(extra, spec.spatial, spec.cutoffs)
        gradient = gradient + extra * scale.reshape(expand)
    return gradient


def _saved_state(spec: _Layout, p: torch.Tensor, d_auto: torch.Tensor, spectrum: torch.Tensor, extra: torch.Tensor):
    """The smallest form of the backward's inputs (see the ``keep_*`` properties of :class:`_Layout`)."""
    weights = d_auto if spec.keep_window else _auto_adjoint_spectrum(spec, d_auto)
    kept = spectrum if spec.keep_spectrum else p.new_zeros(0)
    if not spec.periodic and not spec.keep_box_lags:
        extra = _offsets.window_sums_adjoint(extra, spec.spatial, spec.cutoffs)
    return weights, kept, extra


def _premultiplies(spec: _Layout) -> bool:
    """Whether the forward saves the product ``rfftn(p) 2 Re(rfftn(dL/dA))`` (the gradient's spectrum but for the
    per-sample scale), written chunk by chunk into one batch buffer, instead of gathering both factors: periodic
    layouts whose spectrum is kept and whose ``dL/dA`` is transformed in the forward; eager only (it writes into
    views of the buffer)."""
    return spec.periodic and spec.keep_spectrum and not spec.keep_window and not tracing()


def _forward_premultiplied(
    spec: _Layout, p: torch.Tensor, t: torch.Tensor, bounds: list[tuple[int, int]], folded: tuple | None
) -> tuple[torch.Tensor, ...]:
    """The forward's outputs when :func:`_premultiplies`: the losses, the complex product (in place of the
    weights), no spectrum, and the volume-fraction terms."""
    product, losses, extras = None, [], []
    for start, stop in bounds:
        loss, d_auto, spectrum, extra = _chunk_forward(spec, p[start:stop], _target_chunk(t, start, stop), folded)
        if product is None:
            product = spectrum.new_empty((p.shape[0], *spectrum.shape[1:]))
        torch.mul(spectrum, _auto_adjoint_spectrum(spec, d_auto), out=product[start:stop])
        losses.append(loss)
        extras.append(extra)
    return torch.cat(losses), product, p.new_zeros(0), torch.cat(extras)


def _chunks(spec: _Layout, batch: int) -> list[tuple[int, int]]:
    step = max(1, get_chunk_pixels() // math.prod(spec.lengths))
    return [(start, min(start + step, batch)) for start in range(0, batch, step)]


def _target_chunk(t: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    return t if t.shape[0] == 1 else t[start:stop]


def _gather(pieces: list[tuple[torch.Tensor, ...]], bounds: list[tuple[int, int]]) -> tuple[torch.Tensor, ...]:
    """Join per-chunk results along the batch, writing into one buffer each (no second copy)."""
    if len(pieces) == 1:
        return pieces[0]
    joined = []
    batch = bounds[-1][1]
    for index, first in enumerate(pieces[0]):
        if first.numel() == 0:
            joined.append(first)
            continue
        buffer = first.new_empty((batch, *first.shape[1:]))
        for (start, stop), piece in zip(bounds, pieces):
            buffer[start:stop] = piece[index]
        joined.append(buffer)
    return tuple(joined)


class _TwoPhaseLoss(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(p: torch.Tensor, t: torch.Tensor, spec: _Layout) -> tuple[torch.Tensor, ...]:
        bounds = _chunks(spec, p.shape[0])
        shared = len(bounds) > 1 and t.shape[0] == 1 and _uses_half(spec, p.device)
        folded = _folded_targets(spec, t) if shared else None
        if _premultiplies(spec):
            return _forward_premultiplied(spec, p, t, bounds, folded)
        pieces = []
        for start, stop in bounds:
            loss, d_auto, spectrum, extra = _chunk_forward(spec, p[start:stop], _target_chunk(t, start, stop), folded)
            pieces.append((loss, *_saved_state(spec, p[start:stop], d_auto, spectrum, extra)))
        return _gather(pieces, bounds)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        p, t, spec = inputs
        ctx.spec = spec
        ctx.mark_non_differentiable(*output[1:])
        ctx.set_materialize_grads(False)  # no zero-filled gradients for the saved (non-differentiable) outputs
        ctx.save_for_backward(p, t, *output[1:])

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor, *unused: torch.Tensor):
        p, t, weights, spectrum, extra = ctx.saved_tensors
        spec = ctx.spec
        if grad_loss is None:
            return None, None, None
        if torch.is_grad_enabled():  # double backward: recompute the forward with autograd, in one piece
            _, d_auto, spectrum, extra = _chunk_forward(spec, p, t)
            return _chunk_backward(spec, p, d_auto, spectrum, extra, grad_loss, saved=False), None, None
        pieces = []
        bounds = _chunks(spec, p.shape[0])
        for start, stop in bounds:
            kept = spectrum[start:stop] if spectrum.numel() else None
            pieces.append((_chunk_backward(
                spec, p[start:stop], weights[start:stop], kept, extra[start:stop], grad_loss[start:stop], saved=True
            ),))
        return _gather(pieces, bounds)[0], None, None


def two_phase_loss(
    probability: torch.Tensor, expected: torch.Tensor, *, periodic: bool, cutoffs: tuple[int, ...] | None,
    kind: str, eps: float,
) -> torch.Tensor:
    """Per-sample loss ``(batch,)`` of the phase-1 probability ``(batch, *spatial)`` (float32 or float64) against
    the target statistics ``(batch or 1, 2, 2, *window)``; ``kind`` is one of :data:`LOSS_KINDS`."""
    spec = layout(tuple(probability.shape[1:]), cutoffs, periodic, "msess" if kind == "msess" else "cess", eps)
    expected = expected.reshape(expected.shape[0], 4, *expected.shape[3:]).to(probability.dtype)
    offset = None
    if kind == "kl":  # KL = CESS minus the target's entropy, a constant of the prediction
        offset = (expected * torch.log(expected.clamp_min(0) + eps)).flatten(1).sum(dim=1) / math.prod(spec.windows)
    loss = _TwoPhaseLoss.apply(probability, expected.contiguous(), spec)[0]
    return loss if offset is None else loss + offset


def statistics_loss(inputs: StatisticsLossInputs, kind: str) -> torch.Tensor:
    """The per-sample loss of :func:`spatialstats.functional.cess` (``kind`` "cess" or "kl") or
    :func:`~spatialstats.functional.msess` ("msess") on the fused path, from inputs validated by
    :func:`~spatialstats.functional._common.prepare_statistics_loss` (so the checks and errors are the same)."""
    prediction = inputs.prediction
    eps = 0.0 if inputs.eps is None else inputs.eps
    spec = layout(tuple(prediction.shape[2:]), inputs.cutoff, inputs.periodic, kind, eps)
    if inputs.target is not None:
        with torch.no_grad():
            expected = _target_statistics(spec, inputs.target)
    else:
        expected = inputs.target_statistics
    return two_phase_loss(prediction.squeeze(1), expected, periodic=inputs.periodic, cutoffs=inputs.cutoff, kind=kind, eps=eps)
