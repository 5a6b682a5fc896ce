"""The fused one-channel losses against the autograd reference: values and gradients to 1e-12 in float64,
gradcheck, double backward, torch.func transforms, chunking, binary predictions, and the chunk-size knob."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats.functional import _fused
from spatialstats._validation import resolve_cutoff

LOSSES = {
    "msess": lambda p, **o: F.msess(p, **o),
    "cess": lambda p, **o: F.cess(p, **o),
    "kl": lambda p, **o: F.cess(p, kl=True, eps=1e-3, **o),
    "mse_cess": lambda p, **o: F.mse_cess(p, alpha=0.5, **o),
}
LAYOUTS = [  # (spatial shape, periodic, cutoff): full windows, crops, per-axis cutoffs, odd and even sizes
    ((9,), True, None), ((10,), False, None), ((9,), True, 2),
    ((8, 7), True, None), ((8, 7), False, None), ((8, 7), True, (1, 3)), ((8, 7), False, 2), ((6, 6), True, 2),
    ((12, 12), False, 5), ((4, 5, 3), True, None), ((4, 5, 3), False, (1, 2, 1)),
]


def _inputs(batch, spatial, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.rand((batch, 1, *spatial), generator=generator, dtype=dtype).requires_grad_(True)
    target = (torch.rand((batch, 1, *spatial), generator=generator) > 0.5).to(dtype)
    return prediction, target


def _value_and_gradient(function, prediction, **options):
    value = function(prediction, **options)
    (gradient,) = torch.autograd.grad(value.sum(), prediction)
    return value.detach(), gradient


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("spatial, periodic, cutoff", LAYOUTS, ids=str)
def test_equals_reference(reference, name, spatial, periodic, cutoff):
    prediction, target = _inputs(3, spatial)
    options = dict(target=target, periodic=periodic, cutoff=cutoff, reduction="none")
    fused = _value_and_gradient(LOSSES[name], prediction, **options)
    expected = reference(_value_and_gradient, LOSSES[name], prediction, **options)
    torch.testing.assert_close(fused, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (True, 2), (False, 3)])
@pytest.mark.parametrize("name", ["cess", "msess"])
def test_chunks_and_fixed_statistics_equal_reference(reference, name, periodic, cutoff):
    prediction, target = _inputs(5, (9, 8), seed=1)
    statistics = ss.two_point_stats(target[:1], periodic=periodic, cutoff=cutoff)  # one target for all
    options = dict(target_statistics=statistics, periodic=periodic, cutoff=cutoff, reduction="sum")
    expected = reference(_value_and_gradient, LOSSES[name], prediction, **options)
    before = _fused.get_chunk_pixels()
    try:
        _fused.set_chunk_pixels(300)  # one or two samples per chunk: several chunks, a ragged last one
        chunked = _value_and_gradient(LOSSES[name], prediction, **options)
    finally:
        _fused.set_chunk_pixels(before)
    torch.testing.assert_close(chunked, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (False, 2)])
def test_center_crop_and_modules_take_the_fused_path(reference, periodic, cutoff):
    prediction, target = _inputs(2, (10, 9), seed=2)
    crop = lambda p, **o: F.center_crop_cess(p, target, periodic=periodic, cutoff=2, **o)  # noqa: E731
    torch.testing.assert_close(
        _value_and_gradient(crop, prediction), reference(_value_and_gradient, crop, prediction), rtol=0, atol=1e-12
    )
    module = ss.CESSLoss.from_target(target, periodic=periodic, cutoff=cutoff, check_values=False)
    via_module = _value_and_gradient(lambda p: module(p), prediction)
    torch.testing.assert_close(via_module, reference(_value_and_gradient, module, prediction), rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("method, tolerance", [("fft", 1e-12), ("matmul", 1e-9)])
def test_binary_prediction_gradient_is_straight_through(periodic, method, tolerance):
    """At a binary prediction f01(0) is 0 up to round-off (possibly below 0); the gradient is the derivative of
    -(1/|R|) sum f_t log(f_p + eps), passed straight through the clamp. The reference computes the statistics by
    FFT: the window method "fft" has the same round-off; "matmul" another, which 1 / eps (1e6) amplifies."""
    generator = torch.Generator().manual_seed(3)
    prediction = (torch.rand((2, 1, 8, 8), generator=generator) > 0.5).double().requires_grad_(True)
    target = torch.rand((2, 1, 8, 8), generator=generator, dtype=torch.float64)  # grey: f_t(0, 1 | 0) > 0
    before = ss.get_window_method()
    ss.set_window_method(method)
    try:
        fused = _value_and_gradient(LOSSES["cess"], prediction, target=target, periodic=periodic, cutoff=3)
    finally:
        ss.set_window_method(before)
    predicted = ss.two_point_stats(prediction, periodic=periodic, cutoff=3)
    straight = predicted + (predicted.clamp_min(0) - predicted).detach()
    expected_statistics = ss.two_point_stats(target, periodic=periodic, cutoff=3)
    loss = -(expected_statistics * torch.log(straight + 1e-6)).sum(dim=(1, 2)).flatten(1).mean(dim=1).mean()
    (gradient,) = torch.autograd.grad(loss, prediction)
    torch.testing.assert_close(fused, (loss.detach(), gradient), rtol=tolerance, atol=tolerance)
    assert torch.isfinite(fused[1]).all() and fused[1].abs().max() > 0


@pytest.mark.parametrize("spatial, periodic, cutoff", [((5, 4), True, None), ((5, 4), False, None), ((6, 5), False, 2)])
@pytest.mark.parametrize("name", ["cess", "msess"])
def test_gradcheck_and_gradgradcheck(name, spatial, periodic, cutoff):
    prediction, target = _inputs(2, spatial, seed=4)
    prediction = (0.2 + 0.6 * prediction.detach()).requires_grad_(True)  # keep every pair probability > 0
    function = lambda p: LOSSES[name](p, target=target, periodic=periodic, cutoff=cutoff, reduction="none")  # noqa: E731
    assert torch.autograd.gradcheck(function, (prediction,))
    assert torch.autograd.gradgradcheck(function, (prediction,))


def test_double_backward_equals_reference(reference):
    prediction, target = _inputs(2, (6, 5), seed=5)
    prediction = (0.2 + 0.6 * prediction.detach()).requires_grad_(True)
    direction = torch.rand_like(prediction)

    def hessian_vector(p):
        loss = F.cess(p, target, periodic=False, cutoff=3)
        (gradient,) = torch.autograd.grad(loss, p, create_graph=True)
        return torch.autograd.grad((gradient * direction).sum(), p)[0]

    torch.testing.assert_close(hessian_vector(prediction), reference(hessian_vector, prediction), rtol=0, atol=1e-12)


def test_func_grad_of_grad_and_vmap(reference):
    prediction, target = _inputs(2, (6, 6), seed=6)
    base = (0.2 + 0.6 * prediction.detach())
    loss = lambda p: F.cess(p, target, periodic=True, cutoff=2, check_values=False)  # noqa: E731
    second = lambda p: torch.func.grad(lambda q: torch.func.grad(loss)(q).square().sum())(p)  # noqa: E731
    torch.testing.assert_close(second(base), reference(second, base), rtol=0, atol=1e-12)
    stacked = torch.stack([base, base.flip(-1)])
    batched = torch.func.vmap(torch.func.grad(loss))(stacked)
    expected = torch.stack([reference(torch.func.grad(loss), sample) for sample in stacked])
    torch.testing.assert_close(batched, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_float32_as_accurate_as_the_reference(reference, periodic):
    """float32 loses precision at the long non-periodic lags (few placements); the fused path no more than the
    reference does."""
    prediction, target = _inputs(4, (32, 32), seed=7)
    single = prediction.detach().float().requires_grad_(True)
    wide = _value_and_gradient(LOSSES["cess"], prediction, target=target, periodic=periodic)
    narrow = _value_and_gradient(LOSSES["cess"], single, target=target.float(), periodic=periodic)
    baseline = reference(_value_and_gradient, LOSSES["cess"], single, target=target.float(), periodic=periodic)
    assert narrow[0].dtype == torch.float32
    for ours, theirs, exact in zip(narrow, baseline, wide):
        error, reference_error = (ours.double() - exact).abs().max(), (theirs.double() - exact).abs().max()
        assert error <= 2 * reference_error + 1e-6 * exact.abs().max()


def test_target_with_gradient_takes_the_reference_path():
    prediction, target = _inputs(2, (6, 6), seed=8)
    target = target.requires_grad_(True)
    F.cess(prediction, target).backward()
    assert target.grad is not None and target.grad.abs().max() > 0


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_chunk_pixels_errors(bad):
    with pytest.raises(ValueError, match="pixels must be an int >= 1"):
        ss.set_chunk_pixels(bad)


def test_two_channel_target_with_one_channel_prediction(reference):
    prediction, target = _inputs(2, (7, 6), seed=9)
    one_hot = ss.two_phase_from_probability(target)
    for periodic in (True, False):
        options = dict(target=one_hot, periodic=periodic, cutoff=2)
        torch.testing.assert_close(
            _value_and_gradient(LOSSES["cess"], prediction, **options),
            reference(_value_and_gradient, LOSSES["cess"], prediction, **options), rtol=0, atol=1e-12,
        )


@pytest.mark.parametrize("periodic, cutoff", [(True, None), (False, None), (False, 2)])
def test_statistics_match_two_point_stats(periodic, cutoff):
    prediction, _ = _inputs(3, (8, 9), seed=10)
    spec = _fused.layout((8, 9), resolve_cutoff(cutoff, (8, 9), periodic), periodic, "cess", 1e-6)
    torch.testing.assert_close(
        _fused.statistics(spec, prediction.detach()[:, 0]),
        ss.two_point_stats(prediction.detach(), periodic=periodic, cutoff=cutoff), rtol=0, atol=1e-14,
    )


HALF_LAYOUTS = [  # periodic windows cut in half along the first axis: odd, even, full, cropped, per-axis, 1-3D
    ((9,), None), ((10,), None), ((10,), 3), ((8, 7), None), ((7, 8), None), ((8, 7), (1, 3)), ((10, 9), (4, 2)),
    ((6, 8), None), ((2, 3), None), ((1, 4), None), ((4, 5, 3), None), ((5, 4, 6), None), ((6, 4, 5), (2, 1, 2)),
]


@pytest.mark.parametrize("kl", [False, True])
@pytest.mark.parametrize("spatial, cutoff", HALF_LAYOUTS, ids=str)
def test_periodic_cess_on_half_the_window_with_an_uneven_target(reference, spatial, cutoff, kl):
    """Periodic CESS evaluates its logs on half the lags with ``T(r) = t(r) + t(-r)``: a target whose statistics are
    not even in the lag (random numbers, not a field's) must still give the reference's loss and gradient. With the
    window method "fft" the crops take that path too; shared (batch 1) and per-sample targets."""
    generator = torch.Generator().manual_seed(5)
    prediction = torch.rand((3, 1, *spatial), generator=generator, dtype=torch.float64).requires_grad_(True)
    window = tuple(ss.offset_axes(spatial, periodic=True, cutoff=cutoff)[axis].numel() for axis in range(len(spatial)))
    before = ss.get_window_method()
    ss.set_window_method("fft")
    try:
        for batch in (1, 3):
            statistics = torch.rand((batch, 2, 2, *window), generator=generator, dtype=torch.float64)
            options = dict(target_statistics=statistics, periodic=True, cutoff=cutoff, kl=kl, eps=1e-3,
                           reduction="none", check_values=False)
            fused = _value_and_gradient(F.cess, prediction, **options)
            expected = reference(_value_and_gradient, F.cess, prediction, **options)
            torch.testing.assert_close(fused, expected, rtol=0, atol=1e-12)
    finally:
        ss.set_window_method(before)


@pytest.mark.parametrize("spatial, cutoff", HALF_LAYOUTS, ids=str)
def test_half_window_fold_for_compile_equals_eager(spatial, cutoff):
    """The functional fold used under ``torch.compile`` (roll and cat) equals the eager one (writes into views)."""
    from spatialstats.functional import _half_window

    window = tuple(ss.offset_axes(spatial, periodic=True, cutoff=cutoff)[axis].numel() for axis in range(len(spatial)))
    values = torch.randn((2, *window), generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    half = _half_window.half_window(spatial, window)
    ndim = len(window)
    paired = half.rows - 1 - half.start
    mirrored = values.narrow(-ndim, half.rows, paired).flip(tuple(range(-ndim, 0)))
    kept = values.narrow(-ndim, 0, half.rows)
    if paired:
        torch.testing.assert_close(_half_window._fold_functional(kept, mirrored, half), _half_window.fold(values, half),
                                   rtol=0, atol=0)
    else:
        torch.testing.assert_close(_half_window.fold(values, half), kept)
