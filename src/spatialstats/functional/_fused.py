"""Fused statistics losses of one-channel two-phase fields: forward and analytic backward by FFTs.

With ``p`` the phase-1 probability, ``A(r) = sum_x p(x) p(x + r)`` its (zero-padded when non-periodic)
autocorrelation, ``W(r)`` the number of placements and ``S(r)`` the sum of ``p`` over the placements' end points,
the four pairs are ``f11 = A / W``, ``f01 = (S(r) - A) / W``, ``f10 = (S(-r) - A) / W`` and
``f00 = 1 - f01 - f10 - f11`` (periodic: ``W = N`` and ``S = N v``). The forward computes ``A`` (one FFT pair) and,
in one elementwise pass over the window, the loss and its derivatives ``G`` with respect to the four pairs. Since
``dA(r)/dp(y) = p(y + r) + p(y - r)``, the backward is one more FFT pair,

    dL/dp = irfftn(2 Re(rfftn(dL/dA)) rfftn(p)) + (volume-fraction or window-sum terms),

with no four-pair maps, no log maps and no complex autograd kept. The batch is processed in chunks of about
:func:`get_chunk_pixels` FFT pixels, so no temporary grows with the batch. The autograd implementation in
:mod:`spatialstats.functional.statistics_losses` is the reference the tests compare with.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from spatialstats import _offsets
from spatialstats._validation import check_unit_interval, require_floating_fields, resolve_cutoff
from spatialstats.functional._common import as_loss_precision, expected_statistics, require_one_target

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
    if isinstance(pixels, bool) or not isinstance(pixels, int) or pixels < 1:
        raise ValueError(f"pixels must be an int >= 1, got {pixels!r}")
    _CHUNK_PIXELS[0] = pixels


def get_chunk_pixels() -> int:
    """The chunk size of the fused losses in FFT pixels (see :func:`set_chunk_pixels`)."""
    return _CHUNK_PIXELS[0]


def applies(prediction: object, target: object, target_statistics: object) -> bool:
    """Whether a loss call can take the fused path: a one-channel floating prediction and no gradient wanted for
    the target side (the fused backward only differentiates the prediction). Decided from types and shapes."""
    if not isinstance(prediction, torch.Tensor) or prediction.ndim < 3 or prediction.ndim > 5:
        return False
    if prediction.shape[1] != 1 or not prediction.is_floating_point():
        return False
    other = target if target is not None else target_statistics
    return not (isinstance(other, torch.Tensor) and other.requires_grad and torch.is_grad_enabled())


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


def _pair_terms(spec: _Layout, f: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per sample loss (summed over pairs and window, not yet averaged) and its derivative ``G`` by the pairs."""
    if spec.kind == "msess":
        difference = f - t
        return difference.square().flatten(1).sum(dim=1), 2 * difference
    guarded = f.clamp_min(0) + spec.eps
    terms = t * torch.log(guarded)
    if spec.kind == "kl":
        terms = t * torch.log(t.clamp_min(0) + spec.eps) - terms
    else:
        terms = -terms
    # d/df of -t log(f + eps), passed straight through where round-off leaves f slightly below 0.
    return terms.flatten(1).sum(dim=1), -t / guarded


def _chunk_forward(spec: _Layout, p: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Loss per sample and what the backward needs: ``dL/dA`` on the window, the field's spectrum, and the
    volume-fraction derivative (periodic, per sample) or ``dL/dS`` on the lags (non-periodic)."""
    ndim = spec.ndim
    spectrum = torch.fft.rfftn(p, s=list(spec.lengths), dim=tuple(range(-ndim, 0)))
    power = spectrum.real.square() + spectrum.imag.square()
    auto = _offsets.window_irfftn(power * _factors(spec, p.dtype, p.device), spec.lengths, spec.windows)
    count = math.prod(spec.windows)
    if spec.periodic:
        size = math.prod(spec.spatial)
        a = auto / size
        v = (spectrum[(slice(None),) + (0,) * ndim].real / size).reshape(-1, *([1] * ndim))
        f01 = v - a
        f = torch.stack([1 - v - f01, f01, f01, a], dim=1)
    else:
        inverse = 1 / _offsets.valid_placement_counts(spec.spatial, spec.cutoffs, dtype=p.dtype, device=p.device)
        a = auto * inverse
        end = _offsets.window_sums(p, spec.cutoffs) * inverse
        start = _offsets.negate_offsets(end, ndim)
        f = torch.stack([1 - start - end + a, end - a, start - a, a], dim=1)
    loss, g = _pair_terms(spec, f, t)
    g00, g01, g10, g11 = g.unbind(dim=1)
    d_auto = (g00 - g01 - g10 + g11) / count
    if spec.periodic:
        extra = (g01 + g10 - 2 * g00).flatten(1).sum(dim=1) / count
        return loss / count, d_auto / size, spectrum, extra
    d_end = ((g01 - g00) + _offsets.negate_offsets(g10 - g00, ndim)) * (inverse / count)
    return loss / count, d_auto * inverse, spectrum, d_end


def _auto_adjoint_spectrum(spec: _Layout, d_auto: torch.Tensor) -> torch.Tensor:
    """``2 Re(rfftn(dL/dA))`` with ``dL/dA`` moved from the centred window to lag ``r`` at index ``r mod L``."""
    shifted = _offsets.padded_rfftn(d_auto, spec.lengths) * _factors(spec, d_auto.dtype, d_auto.device).conj()
    return 2 * shifted.real


def _chunk_backward(
    spec: _Layout, p: torch.Tensor, weights: torch.Tensor, spectrum: torch.Tensor | None, extra: torch.Tensor,
    scale: torch.Tensor, *, saved: bool,
) -> torch.Tensor:
    """Gradient of ``sum_i scale_i L_i`` with respect to the chunk's ``p``. ``weights`` and ``extra`` come from
    :func:`_chunk_forward`, or in the form :func:`_saved_state` keeps them when ``saved``."""
    ndim = spec.ndim
    expand = (-1,) + (1,) * ndim
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
        pieces = []
        for start, stop in bounds:
            loss, d_auto, spectrum, extra = _chunk_forward(spec, p[start:stop], _target_chunk(t, start, stop))
            pieces.append((loss, *_saved_state(spec, p[start:stop], d_auto, spectrum, extra)))
        return _gather(pieces, bounds)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        p, t, spec = inputs
        ctx.spec = spec
        ctx.mark_non_differentiable(*output[1:])
        ctx.save_for_backward(p, t, *output[1:])

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor, *unused: torch.Tensor):
        p, t, weights, spectrum, extra = ctx.saved_tensors
        spec = ctx.spec
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
    spec = layout(tuple(probability.shape[1:]), cutoffs, periodic, kind, eps)
    expected = expected.reshape(expected.shape[0], 4, *expected.shape[3:]).to(probability.dtype)
    return _TwoPhaseLoss.apply(probability, expected, spec)[0]


def statistics_loss(
    prediction: torch.Tensor,
    target: torch.Tensor | None,
    target_statistics: torch.Tensor | None,
    *,
    periodic: bool,
    cutoff: int | tuple[int, ...] | None,
    kind: str,
    eps: float,
    check_values: bool,
) -> torch.Tensor:
    """The per-sample loss of :func:`spatialstats.functional.cess` (``kind`` "cess" or "kl") or
    :func:`~spatialstats.functional.msess` ("msess") on the fused path, with the same checks and errors."""
    prediction = require_floating_fields(prediction, "prediction")
    require_one_target(target, target_statistics)
    if not isinstance(periodic, bool):
        raise TypeError(f"periodic must be a bool, got {periodic!r}")
    if check_values:
        check_unit_interval(prediction, "prediction")
    work = as_loss_precision(prediction)
    spatial = tuple(work.shape[2:])
    cutoffs = resolve_cutoff(cutoff, spatial, periodic)
    wanted = (2, 2, *_offsets.window_lengths(spatial, cutoffs))
    expected = expected_statistics(
        prediction, target, target_statistics, wanted, work, periodic=periodic, cutoff=cutoff, check_values=check_values
    )
    return two_phase_loss(work[:, 0], expected, periodic=periodic, cutoffs=cutoffs, kind=kind, eps=eps)
