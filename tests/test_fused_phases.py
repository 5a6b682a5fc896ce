"""The fused n-phase losses (two or more channels) against the autograd reference: values and gradients to 1e-12 in
float64 for 2, 3 and 5 phases in 1D/2D/3D, gradcheck, binary predictions, double backward, torch.func transforms,
chunking and the dispatch rules."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats.functional import _fused_phases
from test_fused import _value_and_gradient  # loss value and gradient of its sum
from spatialstats.functional._common import prepare_statistics_loss

LOSSES = {
    "msess": lambda p, **o: F.msess(p, **o),
    "cess": lambda p, **o: F.cess(p, **o),
    "kl": lambda p, **o: F.cess(p, kl=True, eps=1e-3, **o),
    "mse_cess": lambda p, **o: F.mse_cess(p, alpha=0.5, **o),
}
LAYOUTS = [  # (spatial shape, periodic, cutoff): full windows (odd and even axes), crops, per-axis cutoffs
    ((9,), True, None), ((8,), True, None), ((10,), False, None), ((9,), False, 3),
    ((8, 7), True, None), ((6, 6), True, None), ((8, 7), False, None), ((8, 7), True, (1, 3)), ((12, 12), False, 5),
    ((4, 5, 3), True, None), ((4, 5, 3), False, (1, 2, 1)),
]


@pytest.fixture
def fused_calls(monkeypatch):
    """Count the calls of the fused n-phase path (so that a test cannot compare the reference with itself)."""
    calls = []
    original = _fused_phases.statistics_loss

    def counted(*args, **options):
        calls.append(1)
        return original(*args, **options)

    monkeypatch.setattr(_fused_phases, "statistics_loss", counted)
    return calls


def _inputs(batch, phases, spatial, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    logits = torch.randn((batch, phases, *spatial), generator=generator, dtype=dtype)
    prediction = torch.softmax(logits, dim=1).requires_grad_(True)
    labels = torch.randint(0, phases, (batch, *spatial), generator=generator)
    return prediction, ss.one_hot_from_labels(labels).to(dtype)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("spatial, periodic, cutoff", LAYOUTS, ids=str)
@pytest.mark.parametrize("phases", [2, 3, 5])
def test_equals_reference(reference, fused_calls, phases, name, spatial, periodic, cutoff):
    prediction, target = _inputs(3, phases, spatial)
    options = dict(target=target, periodic=periodic, cutoff=cutoff, reduction="none")
    fused = _value_and_gradient(LOSSES[name], prediction, **options)
    assert fused_calls
    expected = reference(_value_and_gradient, LOSSES[name], prediction, **options)
    torch.testing.assert_close(fused, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (True, 2), (False, 3)])
@pytest.mark.parametrize("name", ["cess", "msess", "kl"])
def test_chunks_reductions_and_fixed_statistics(reference, fused_calls, name, periodic, cutoff, reduction):
    """One target's statistics for the whole batch (the training-loop case) and several chunks, a ragged last one."""
    prediction, target = _inputs(5, 3, (9, 8), seed=1)
    statistics = ss.two_point_stats(target[:1], periodic=periodic, cutoff=cutoff)
    options = dict(target_statistics=statistics, periodic=periodic, cutoff=cutoff, reduction=reduction)
    expected = reference(_value_and_gradient, LOSSES[name], prediction, **options)
    before = ss.get_chunk_pixels()
    try:
        ss.set_chunk_pixels(600)  # one or two samples per chunk
        chunked = _value_and_gradient(LOSSES[name], prediction, **options)
    finally:
        ss.set_chunk_pixels(before)
    assert fused_calls
    torch.testing.assert_close(chunked, expected, rtol=0, atol=1e-12)


def test_asymmetric_target_statistics(reference):
    """Target statistics need not satisfy f(h, h' | r) = f(h', h | -r) exactly (e.g. averaged over several
    microstructures with a flip): both halves of the pair matrix are compared, as the reference does."""
    prediction, target = _inputs(2, 3, (7, 7), seed=2)
    statistics = ss.two_point_stats(target, cutoff=2)
    statistics = 0.5 * (statistics + statistics.transpose(1, 2))  # still pair probabilities, no longer f_hk(-r)
    for name in ("cess", "msess"):
        options = dict(target_statistics=statistics, cutoff=2, reduction="none", check_values=False)
        torch.testing.assert_close(
            _value_and_gradient(LOSSES[name], prediction, **options),
            reference(_value_and_gradient, LOSSES[name], prediction, **options), rtol=0, atol=1e-12,
        )


@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (False, 2)])
def test_center_crop_and_modules(reference, fused_calls, periodic, cutoff):
    prediction, target = _inputs(2, 4, (10, 9), seed=3)
    crop = lambda p: F.center_crop_cess(p, target, periodic=periodic, cutoff=2)  # noqa: E731
    torch.testing.assert_close(
        _value_and_gradient(crop, prediction), reference(_value_and_gradient, crop, prediction), rtol=0, atol=1e-12
    )
    modules = [
        ss.CESSLoss.from_target(target, periodic=periodic, cutoff=cutoff, check_values=False),
        ss.MSESSLoss.from_target(target, periodic=periodic, cutoff=cutoff),
        ss.CenterCropCESSLoss.from_target(target, periodic=periodic, cutoff=2),
    ]
    for module in modules:
        torch.testing.assert_close(
            _value_and_gradient(module, prediction), reference(_value_and_gradient, module, prediction),
            rtol=0, atol=1e-12,
        )
    mixed = ss.MSECESSLoss(periodic=periodic, cutoff=cutoff)
    with_target = lambda p: mixed(p, target)  # noqa: E731
    torch.testing.assert_close(
        _value_and_gradient(with_target, prediction), reference(_value_and_gradient, with_target, prediction),
        rtol=0, atol=1e-12,
    )
    assert len(fused_calls) == 5


@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (True, 1), (False, 2)])
def test_binary_prediction_gradient_is_straight_through(reference, periodic, cutoff):
    """At a one-hot prediction the cross pairs at r = 0 are 0 up to round-off (possibly below 0); the gradient
    passes straight through the clamp, as on the reference path, and is finite and non-zero. (Relative tolerance:
    where f is 0 the two paths' round-off, ~1e-17, differs by up to 1e-11 relative to eps = 1e-6 in 1 / (f + eps).)"""
    generator = torch.Generator().manual_seed(4)
    labels = torch.randint(0, 3, (2, 6, 5), generator=generator)
    prediction = ss.one_hot_from_labels(labels).double().requires_grad_(True)
    grey = torch.softmax(torch.randn((2, 3, 6, 5), generator=generator, dtype=torch.float64), dim=1)
    options = dict(target=grey, periodic=periodic, cutoff=cutoff)
    fused = _value_and_gradient(LOSSES["cess"], prediction, **options)
    torch.testing.assert_close(
        fused, reference(_value_and_gradient, LOSSES["cess"], prediction, **options), rtol=1e-10, atol=1e-12
    )
    assert torch.isfinite(fused[1]).all() and fused[1].abs().max() > 0


@pytest.mark.parametrize("spatial, periodic, cutoff", [((4, 3), True, None), ((4, 3), False, None), ((5, 4), False, 1), ((7,), True, 2)])
@pytest.mark.parametrize("name", ["cess", "msess"])
def test_gradcheck_and_gradgradcheck(fused_calls, name, spatial, periodic, cutoff):
    prediction, target = _inputs(1, 3, spatial, seed=5)
    prediction = (0.1 + 0.7 * prediction.detach()).requires_grad_(True)  # keep every pair probability > 0
    function = lambda p: LOSSES[name](p, target=target, periodic=periodic, cutoff=cutoff, reduction="none", check_values=False)  # noqa: E731
    assert torch.autograd.gradcheck(function, (prediction,))
    assert torch.autograd.gradgradcheck(function, (prediction,))
    assert fused_calls


@pytest.mark.parametrize("periodic", [True, False])
def test_double_backward_equals_reference(reference, periodic):
    """Under create_graph the backward recomputes the gradient with differentiable operations: the
    Hessian-vector product equals the reference's."""
    prediction, target = _inputs(2, 3, (6, 5), seed=6)
    prediction = (0.1 + 0.7 * prediction.detach()).requires_grad_(True)
    direction = torch.rand_like(prediction)

    def hessian_vector(p):
        loss = F.cess(p, target, periodic=periodic, cutoff=2, check_values=False)
        (gradient,) = torch.autograd.grad(loss, p, create_graph=True)
        return torch.autograd.grad((gradient * direction).sum(), p)[0]

    torch.testing.assert_close(hessian_vector(prediction), reference(hessian_vector, prediction), rtol=0, atol=1e-12)


def test_func_grad_of_grad_and_vmap(reference):
    prediction, target = _inputs(2, 3, (6, 6), seed=7)
    base = 0.1 + 0.7 * prediction.detach()
    loss = lambda p: F.cess(p, target, periodic=True, cutoff=2, check_values=False)  # noqa: E731
    second = lambda p: torch.func.grad(lambda q: torch.func.grad(loss)(q).square().sum())(p)  # noqa: E731
    torch.testing.assert_close(second(base), reference(second, base), rtol=0, atol=1e-12)
    stacked = torch.stack([base, base.flip(-1)])
    batched = torch.func.vmap(torch.func.grad(loss))(stacked)
    expected = torch.stack([reference(torch.func.grad(loss), sample) for sample in stacked])
    torch.testing.assert_close(batched, expected, rtol=0, atol=1e-12)


def test_gradient_only_when_wanted(reference, monkeypatch):
    """Without a gradient to compute (no_grad, or a prediction that does not require it) the forward skips the
    backward's transforms, and the value is the same."""
    prediction, target = _inputs(2, 3, (7, 6), seed=8)
    expected = reference(F.cess, prediction, target).detach()
    calls = []
    original = _fused_phases._gradient
    monkeypatch.setattr(_fused_phases, "_gradient", lambda *args: calls.append(1) or original(*args))
    with torch.no_grad():
        torch.testing.assert_close(F.cess(prediction, target), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(F.cess(prediction.detach(), target), expected, rtol=0, atol=1e-12)
    assert not calls
    F.cess(prediction, target).backward()
    assert len(calls) == 1 and prediction.grad.abs().max() > 0


@pytest.mark.parametrize("periodic", [True, False])
def test_float32_as_accurate_as_the_reference(reference, periodic):
    prediction, target = _inputs(4, 3, (24, 24), seed=9)
    single = prediction.detach().float().requires_grad_(True)
    exact = _value_and_gradient(LOSSES["cess"], prediction, target=target, periodic=periodic)
    ours = _value_and_gradient(LOSSES["cess"], single, target=target.float(), periodic=periodic)
    theirs = reference(_value_and_gradient, LOSSES["cess"], single, target=target.float(), periodic=periodic)
    assert ours[0].dtype == torch.float32
    for mine, baseline, truth in zip(ours, theirs, exact):
        error, reference_error = (mine.double() - truth).abs().max(), (baseline.double() - truth).abs().max()
        assert error <= 2 * reference_error + 1e-6 * truth.abs().max()


def test_target_with_gradient_takes_the_reference_path(fused_calls):
    prediction, target = _inputs(2, 3, (6, 6), seed=10)
    target = target.requires_grad_(True)
    F.cess(prediction, target).backward()
    assert not fused_calls and target.grad is not None and target.grad.abs().max() > 0


def test_applies_from_shapes_and_flags():
    prediction, target = _inputs(2, 3, (6, 6), seed=11)
    inputs = prepare_statistics_loss(prediction, target, None, periodic=True, cutoff=None, reduction="mean", check_values=False)
    assert _fused_phases.applies(inputs)
    assert not _fused_phases.applies(prepare_statistics_loss(
        prediction[:, :1], target[:, :1], None, periodic=True, cutoff=None, reduction="mean", check_values=False
    ))
    per_axis = inputs.__class__(**{**inputs.__dict__, "periodic": (True, False)})  # per-axis boundaries: reference
    assert not _fused_phases.applies(per_axis)
