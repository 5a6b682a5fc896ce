"""Fused statistics losses of n-phase fields (two or more channels): forward and analytic gradient by FFTs.

With ``m_h`` the phase fields, ``C_hk(r) = sum_x m_h(x) m_k(x + r)`` (zero-padded when non-periodic) and ``W(r)``
the number of placements (``N`` when periodic), the statistics are ``f_hk = C_hk / W``. Only the independent pairs
``h <= k`` are transformed: ``f_kh(r) = f_hk(-r)``, and since the window is closed under ``r -> -r`` the loss term
of ``(k, h)`` is rewritten on ``f_hk`` against the negated target, ``sum_r l(f_hk(r), t_kh(-r))``. So per chunk of
samples the forward is one ``rfftn`` per phase, one inverse per independent pair (on the window only) and, per row
of pairs ``(h, k >= h)``, one elementwise pass giving the loss and ``G_hk = dL/dC_hk``. Since
``dC_hk(r)/dm_h(y) = m_k(y + r)`` and ``dC_hk(r)/dm_k(y) = m_h(y - r)``, the gradient is, in Fourier space (``^``
the DFT, lag ``r`` at ``r mod L``),

    (dL/dm_a)^ = sum_{k >= a} conj(G_ak^) m_k^ + sum_{h <= a} G_ha^ m_h^,

one ``rfftn`` per pair (of the window, zero-padded) and one ``irfftn`` per phase. ``W`` does not depend on the
field, so the non-periodic placement normalisation enters only as the factor ``1 / W(r)`` of ``G``.

The gradient is computed in the forward, chunk by chunk while the phase spectra are at hand (no spectra, pair maps
or log maps are kept), and only when the field requires it; the backward scales it by the incoming per-sample
gradient. Under ``create_graph`` (double backward) the backward recomputes it with differentiable operations, so
second derivatives are exact. Batches are processed in chunks of about
:func:`~spatialstats.functional._fused.get_chunk_pixels` FFT pixels over all ``P`` phases, so no temporary (at most
a row of ``P`` pair spectra) grows with the batch. The autograd implementation in
:mod:`spatialstats.functional.statistics_losses` is the reference the tests compare with.
"""

from __future__ import annotations

import math

import torch

from spatialstats import _offsets
from spatialstats.functional._common import StatisticsLossInputs
from spatialstats.functional._fused import _dot, _factors, _gather, _Layout, get_chunk_pixels, layout
from spatialstats.statistics import two_point_stats

__all__: list[str] = []


def applies(inputs: StatisticsLossInputs) -> bool:
    """Whether a validated loss call can take the fused n-phase path: two or more channels, boundaries given as one
    bool (per-axis tuples take the reference path), and no gradient wanted for the target side. Decided from
    shapes and flags only."""
    if type(inputs.periodic) is not bool or inputs.prediction.shape[1] < 2:
        return False
    other = inputs.target if inputs.target is not None else inputs.target_statistics
    return not (other is not None and other.requires_grad and torch.is_grad_enabled())


def _negate(spec: _Layout, values: torch.Tensor) -> torch.Tensor:
    """``g(-r)`` of a centred ``g(r)`` on the trailing axes. Windows ``-c .. c`` flip; the full periodic layout of an
    even axis (lags ``-n/2 .. n/2 - 1``) flips and rolls by one, since ``-r`` is taken modulo ``n``."""
    values = _offsets.negate_offsets(values, spec.ndim)
    even = [axis - spec.ndim for axis, window in enumerate(spec.windows) if window % 2 == 0]
    return values.roll([1] * len(even), even) if even else values


def _upper(full: torch.Tensor) -> torch.Tensor:
    """The pairs ``h <= k`` of ``(batch, P, P, ...)`` in the order ``(0, 0), (0, 1), .., (1, 1), ..``:
    ``(batch, P(P+1)/2, ...)``."""
    return torch.cat([full[:, h, h:] for h in range(full.shape[1])], dim=1)


def _multiplicity(size: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """How often the pairs ``(h, h), (h, h + 1), ..`` of a row of ``size`` occur in the full matrix: 1 on the
    diagonal, 2 off it (built on the device from shapes only)."""
    return torch.cat([torch.ones(1, dtype=dtype, device=device), torch.full((size - 1,), 2.0, dtype=dtype, device=device)])


def _placement_reciprocals(spec: _Layout, dtype: torch.dtype, device: torch.device) -> torch.Tensor | float:
    """``1 / W(r)``: a number when periodic, ``(*window)`` when not."""
    if spec.periodic:
        return 1 / math.prod(spec.spatial)
    return 1 / _offsets.valid_placement_counts(spec.spatial, spec.cutoffs, dtype=dtype, device=device)


def _prepare_target(spec: _Layout, expected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """From the target's ``(batch or 1, P, P, *window)`` statistics: the weights the chunks use,
    ``(batch or 1, K, P(P+1)/2, *window)``, and a per-sample constant of the loss.

    CESS: ``w = -(t_hk(r) + t_kh(-r)) / |R|`` off the diagonal, ``-t_hh / |R|`` on it, so that the loss is
    ``sum w log(f + eps)``; non-periodic adds ``w / W`` (``K = 2``) for ``dL/dC = (w / W) / (f + eps)``. MSESS
    (``K = 1``): since ``(f - t_hk(r))^2 + (f - t_kh(-r))^2 = 2 (f - mean)^2 + (t_hk(r) - t_kh(-r))^2 / 2``, the
    means; the constant holds the second terms."""
    count = math.prod(spec.windows)
    direct, swapped = _upper(expected), _upper(_negate(spec, expected).transpose(1, 2))
    rows = [_multiplicity(expected.shape[1] - h, expected.dtype, expected.device) for h in range(expected.shape[1])]
    diagonal = (torch.cat(rows) == 1).reshape(-1, *([1] * spec.ndim))
    if spec.kind == "msess":
        constant = torch.where(diagonal, 0.0, (direct - swapped).square() / 2).flatten(1).sum(dim=1) / count
        return ((direct + torch.where(diagonal, direct, swapped)) / 2).unsqueeze(1), constant
    weights = (direct + torch.where(diagonal, 0.0, swapped)) * (-1 / count)
    stacked = [weights] if spec.periodic else [weights, weights * _placement_reciprocals(spec, weights.dtype, weights.device)]
    return torch.stack(stacked, dim=1), expected.new_zeros(expected.shape[0])


def _scaled_spectra(spec: _Layout, spectra: torch.Tensor, want_gradient: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The phase spectra times the centring factors (for ``C_hk`` and the ``conj(G_hk^)`` terms) and, when the
    gradient is wanted, times their conjugates (for the ``G_hk^`` terms); periodic fields fold ``1 / N`` into both."""
    factors = _factors(spec, spectra.real.dtype, spectra.device)
    if spec.periodic:
        factors = factors * (1 / math.prod(spec.spatial))
    return spectra * factors, spectra * factors.conj() if want_gradient else None


def _row_statistics(spec: _Layout, spectrum: torch.Tensor, shifted: torch.Tensor, reciprocals) -> torch.Tensor:
    """``f_hk`` for ``k >= h`` on the window, ``(chunk, P - h, *window)``, from phase ``h``'s spectrum
    ``(chunk, 1, ...)`` and the shifted spectra of phases ``k >= h``: one inverse transform per pair."""
    statistics = _offsets.window_irfftn(spectrum.conj() * shifted, spec.lengths, spec.windows)
    return statistics if spec.periodic else statistics * reciprocals


def _term(spec: _Layout, statistics: torch.Tensor, weights: torch.Tensor, reciprocals) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample loss (without the target's constant) of a row of pairs and the window map whose transform is
    ``G^`` (``dL/df`` periodic, whose ``1 / N`` is in the spectra; ``dL/dC = dL/df / W`` non-periodic).

    CESS passes the derivative of ``log(max(f, 0) + eps)`` straight through where round-off leaves ``f`` slightly
    below 0, as the reference does (also for the second derivative, when recomputed under autograd)."""
    if spec.kind == "msess":
        scale = _multiplicity(statistics.shape[1], statistics.dtype, statistics.device) * (2 / math.prod(spec.windows))
        difference = statistics - weights[:, 0]
        scaled = difference * scale.reshape(-1, *([1] * spec.ndim))
        loss = (difference * scaled).flatten(1).sum(dim=1) / 2
        return loss, scaled if spec.periodic else scaled * reciprocals
    if torch.is_grad_enabled():  # the recomputation of a double backward: the clamp's derivative is 1
        guarded = statistics + (statistics.clamp_min(0) - statistics).detach() + spec.eps
    else:
        guarded = statistics.clamp_min(0).add_(spec.eps)
    return _dot(torch.log(guarded), weights[:, 0]), weights[:, -1] / guarded


def _gradient(spec: _Layout, shifted: torch.Tensor, unshifted: torch.Tensor, adjoints: list[torch.Tensor]) -> torch.Tensor:
    """``dL/dm`` of the chunk ``(chunk, P, *spatial)``: row ``h`` of ``adjoints`` holds ``G_hk^`` for ``k >= h``
    (unshifted), which adds ``sum_k conj(G_hk^) m_k^`` to phase ``h`` and ``G_hk^ m_h^`` to each phase ``k``."""
    gradient_spectra = torch.stack(
        [torch.linalg.vecdot(adjoint, shifted[:, h:], dim=1) for h, adjoint in enumerate(adjoints)], dim=1
    )
    for h, adjoint in enumerate(adjoints):
        gradient_spectra[:, h:].add_(adjoint * unshifted[:, h : h + 1])
    gradient = torch.fft.irfftn(gradient_spectra, s=list(spec.lengths), dim=tuple(range(-spec.ndim, 0)))
    return _offsets.crop_centred(gradient, spec.spatial)


def _chunk(spec: _Layout, fields: torch.Tensor, weights: torch.Tensor, want_gradient: bool):
    """Per-sample loss of a chunk ``(chunk, P, *spatial)`` and, when wanted, its gradient (else ``None``), one row
    of pairs ``(h, k >= h)`` at a time."""
    spectra = torch.fft.rfftn(fields, s=list(spec.lengths), dim=tuple(range(-spec.ndim, 0)))
    shifted, unshifted = _scaled_spectra(spec, spectra, want_gradient)
    reciprocals = _placement_reciprocals(spec, fields.dtype, fields.device)
    loss, adjoints, start = 0.0, [], 0
    for h in range(fields.shape[1]):
        stop = start + fields.shape[1] - h
        statistics = _row_statistics(spec, spectra[:, h : h + 1], shifted[:, h:], reciprocals)
        row_loss, derivative = _term(spec, statistics, weights[:, :, start:stop], reciprocals)
        loss, start = loss + row_loss, stop
        if want_gradient:
            adjoints.append(_offsets.padded_rfftn(derivative, spec.lengths))
    return loss, _gradient(spec, shifted, unshifted, adjoints) if want_gradient else None


def _chunks(spec: _Layout, batch: int, phases: int) -> list[tuple[int, int]]:
    step = max(1, get_chunk_pixels() // (math.prod(spec.lengths) * phases))
    return [(start, min(start + step, batch)) for start in range(0, batch, step)]


class _PhasesLoss(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(fields: torch.Tensor, weights: torch.Tensor, spec: _Layout, want_gradient: bool):
        bounds = _chunks(spec, fields.shape[0], fields.shape[1])
        pieces = []
        for start, stop in bounds:
            chunk_weights = weights if weights.shape[0] == 1 else weights[start:stop]
            loss, gradient = _chunk(spec, fields[start:stop], chunk_weights, want_gradient)
            pieces.append((loss, fields.new_zeros(0) if gradient is None else gradient.contiguous()))
        return _gather(pieces, bounds)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:
        fields, weights, spec, _ = inputs
        ctx.spec = spec
        ctx.mark_non_differentiable(output[1])
        ctx.save_for_backward(fields, weights, output[1])

    @staticmethod
    def backward(ctx, grad_loss: torch.Tensor, unused: torch.Tensor):
        fields, weights, gradient = ctx.saved_tensors
        if torch.is_grad_enabled() or gradient.numel() == 0:  # double backward (or not kept): recompute, in one piece
            gradient = _chunk(ctx.spec, fields, weights, True)[1]
        return gradient * grad_loss.reshape(-1, *([1] * (gradient.ndim - 1))), None, None, None


def phases_loss(
    fields: torch.Tensor, expected: torch.Tensor, *, periodic: bool, cutoffs: tuple[int, ...] | None, kind: str,
    eps: float,
) -> torch.Tensor:
    """Per-sample loss ``(batch,)`` of the phase fields ``(batch, P, *spatial)`` (float32 or float64, ``P >= 2``)
    against the target statistics ``(batch or 1, P, P, *window)``; ``kind`` is "cess", "kl" or "msess"."""
    spec = layout(tuple(fields.shape[2:]), cutoffs, periodic, "msess" if kind == "msess" else "cess", eps)
    expected = expected.to(fields.dtype)
    weights, constant = _prepare_target(spec, expected)
    if kind == "kl":  # KL = CESS minus the target's entropy, a constant of the prediction
        entropy = expected * torch.log(expected.clamp_min(0) + eps)
        constant = entropy.flatten(1).sum(dim=1) / math.prod(spec.windows)
    want_gradient = torch.is_grad_enabled() and fields.requires_grad
    loss = _PhasesLoss.apply(fields, weights.contiguous(), spec, want_gradient)[0]
    return loss + constant


def statistics_loss(inputs: StatisticsLossInputs, kind: str) -> torch.Tensor:
    """The per-sample loss of :func:`spatialstats.functional.cess` (``kind`` "cess" or "kl") or
    :func:`~spatialstats.functional.msess` ("msess") of a field with two or more channels on the fused path, from
    inputs validated by :func:`~spatialstats.functional._common.prepare_statistics_loss`."""
    eps = 0.0 if inputs.eps is None else inputs.eps
    if inputs.target is not None:
        with torch.no_grad():
            expected = two_point_stats(inputs.target, periodic=inputs.periodic, cutoff=inputs.cutoff, check_values=False)
    else:
        expected = inputs.target_statistics
    return phases_loss(inputs.prediction, expected, periodic=inputs.periodic, cutoffs=inputs.cutoff, kind=kind, eps=eps)
