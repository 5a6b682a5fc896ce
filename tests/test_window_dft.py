"""Window-only DFTs by matrix multiplies against the FFT path: the transforms to 1e-12 in float64 (1D/2D/3D, odd and
even lengths, periodic and padded lengths, every window), the fused statistics and every fused loss and gradient with
the method forced to "matmul" against "fft", gradcheck, the rule and the knob, and torch.compile(fullgraph=True)."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats import _offsets, _window_dft
from spatialstats._validation import resolve_cutoff
from spatialstats.functional import _fused

SHAPES = [(1,), (2,), (7,), (8,), (5, 6), (6, 5), (3, 4, 5), (4, 3, 2)]


@pytest.fixture
def method():
    """Set the window method for one call, restoring the previous one."""
    before = ss.get_window_method()

    def call(name, function, *args, **options):
        ss.set_window_method(name)
        try:
            return function(*args, **options)
        finally:
            ss.set_window_method(before)

    yield call
    ss.set_window_method(before)


def _windows(shape):
    return itertools.product(*[range(1, n + 1) for n in shape])


def _spectrum(shape, seed):
    """A random half spectrum (imaginary parts at k = 0 and L/2 included: irfft ignores them, so must matmul)."""
    generator = torch.Generator().manual_seed(seed)
    dims = tuple(range(-len(shape), 0))
    half = torch.fft.rfftn(torch.randn((3, *shape), generator=generator, dtype=torch.float64), dim=dims).shape
    return torch.randn(half, generator=generator, dtype=torch.complex128)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_window_irfftn_and_padded_rfftn_equal_fft(method, shape):
    generator = torch.Generator().manual_seed(1)
    spectrum = _spectrum(shape, 0)
    for windows in _windows(shape):
        expected = method("fft", _offsets.window_irfftn, spectrum, shape, windows)
        direct = torch.fft.irfftn(spectrum, s=shape, dim=tuple(range(-len(shape), 0)))
        torch.testing.assert_close(expected, _offsets.crop_centred(direct, windows), rtol=0, atol=1e-12)
        torch.testing.assert_close(method("matmul", _offsets.window_irfftn, spectrum, shape, windows), expected,
                                   rtol=0, atol=1e-12)
        values = torch.randn((2, *windows), generator=generator, dtype=torch.float64)
        expected = method("fft", _offsets.padded_rfftn, values, shape)
        torch.testing.assert_close(method("matmul", _offsets.padded_rfftn, values, shape), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_real_window_transforms_fold_the_centring(shape):
    """real_window_inverse(P) == window_irfftn(P * f) and real_window_adjoint(d) == 2 Re(padded_rfftn(d) conj f)
    for every window and every shift (f the centring factors of shift_factors)."""
    generator = torch.Generator().manual_seed(2)
    power = _spectrum(shape, 3).abs()
    for windows in _windows(shape):
        shifts = tuple(int(torch.randint(0, n, (), generator=generator)) for n in shape)
        factors = _offsets.shift_factors(shape, shifts, dtype=torch.complex128, device=power.device)
        expected = torch.fft.irfftn(power * factors, s=shape, dim=tuple(range(-len(shape), 0)))
        torch.testing.assert_close(_window_dft.real_window_inverse(power, shape, windows, shifts),
                                   _offsets.crop_centred(expected, windows), rtol=0, atol=1e-12)
        values = torch.randn((2, *windows), generator=generator, dtype=torch.float64)
        padded = torch.zeros((2, *shape), dtype=torch.float64)
        padded[(slice(None), *[slice(0, w) for w in windows])] = values
        expected = 2 * (torch.fft.rfftn(padded, dim=tuple(range(-len(shape), 0))) * factors.conj()).real
        torch.testing.assert_close(_window_dft.real_window_adjoint(values, shape, shifts), expected, rtol=0, atol=1e-12)


def test_float32_matrices_are_accurate():
    """The matrices are built in float64 and cast: float32 results within float32 round-off of float64 ones."""
    spectrum = _spectrum((224,), 4)[:1]
    exact = _offsets.window_irfftn(spectrum, (224,), (51,))
    single = _window_dft.inverse_last_axis(spectrum.to(torch.complex64), 224, 51)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), exact, rtol=0, atol=1e-5 * exact.abs().max().item())


LAYOUTS = [  # (spatial shape, periodic, cutoff): full windows, crops, per-axis cutoffs, odd and even sizes, 1D-3D
    ((9,), True, None), ((10,), False, 3), ((8, 7), True, None), ((8, 7), False, None), ((8, 7), True, (1, 3)),
    ((12, 12), False, 5), ((11, 10), True, 2), ((4, 5, 3), True, None), ((4, 5, 3), False, (1, 2, 1)),
]
LOSSES = {
    "msess": lambda p, **o: F.msess(p, **o),
    "cess": lambda p, **o: F.cess(p, **o),
    "kl": lambda p, **o: F.cess(p, kl=True, eps=1e-3, **o),
    "mse_cess": lambda p, **o: F.mse_cess(p, alpha=0.5, **o),
}


def _inputs(spatial, seed=0):
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.rand((3, 1, *spatial), generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand((3, 1, *spatial), generator=generator) > 0.5).double()
    return prediction, target


def _value_and_gradient(function, prediction, **options):
    value = function(prediction, **options)
    (gradient,) = torch.autograd.grad(value.sum(), prediction)
    return value.detach(), gradient


@pytest.mark.parametrize("spatial, periodic, cutoff", LAYOUTS, ids=str)
def test_fused_statistics_matmul_equal_fft(method, spatial, periodic, cutoff):
    prediction, _ = _inputs(spatial)
    spec = _fused.layout(spatial, resolve_cutoff(cutoff, spatial, periodic), periodic, "cess", 1e-6)
    expected = method("fft", _fused.statistics, spec, prediction.detach()[:, 0])
    library = ss.two_point_stats(prediction.detach(), periodic=periodic, cutoff=cutoff)
    torch.testing.assert_close(expected, library, rtol=0, atol=1e-12)
    torch.testing.assert_close(method("matmul", _fused.statistics, spec, prediction.detach()[:, 0]), expected,
                               rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("spatial, periodic, cutoff", LAYOUTS, ids=str)
def test_fused_losses_matmul_equal_fft(method, name, spatial, periodic, cutoff):
    prediction, target = _inputs(spatial, seed=1)
    options = dict(target=target, periodic=periodic, cutoff=cutoff, reduction="none")
    expected = method("fft", _value_and_gradient, LOSSES[name], prediction, **options)
    matmul = method("matmul", _value_and_gradient, LOSSES[name], prediction, **options)
    torch.testing.assert_close(matmul, expected, rtol=0, atol=1e-12)


def test_center_crop_and_fixed_statistics_matmul_equal_fft(method):
    prediction, target = _inputs((16, 15), seed=2)
    statistics = ss.two_point_stats(target[:1], periodic=False, cutoff=3)
    calls = {
        "crop": lambda: _value_and_gradient(F.center_crop_cess, prediction, target=target, cutoff=3),
        "fixed": lambda: _value_and_gradient(F.cess, prediction, target_statistics=statistics, periodic=False,
                                             cutoff=3),
    }
    for call in calls.values():
        torch.testing.assert_close(method("matmul", call), method("fft", call), rtol=0, atol=1e-12)


@pytest.mark.parametrize("spatial, periodic, cutoff", [((6, 5), True, 1), ((6, 5), False, 2), ((7,), False, 2)])
def test_gradcheck_with_matmul(method, spatial, periodic, cutoff):
    prediction, target = _inputs(spatial, seed=4)
    prediction = (0.2 + 0.6 * prediction.detach()).requires_grad_(True)  # every pair probability > 0
    function = lambda p: F.cess(p, target=target, periodic=periodic, cutoff=cutoff, reduction="none")  # noqa: E731
    assert method("matmul", torch.autograd.gradcheck, function, (prediction,))
    assert method("matmul", torch.autograd.gradgradcheck, function, (prediction,))


def test_rule_and_knob():
    before = ss.get_window_method()
    try:
        cpu = torch.device("cpu")
        alpha = _window_dft.ALPHA["cpu"]["real"]
        assert _window_dft.use_matmul(224, 3, cpu, real=True)
        assert not _window_dft.use_matmul(224, 224, cpu, real=True)  # the full window: FFT
        small = math.floor(alpha * math.log2(224) - 1e-9)
        assert _window_dft.use_matmul(224, small, cpu, real=True)
        assert not _window_dft.use_matmul(224, small + 1, cpu, real=True)
        ss.set_window_method("fft")
        assert not _window_dft.use_matmul(224, 3, cpu, real=True)
        ss.set_window_method("matmul")
        assert _window_dft.use_matmul(224, 224, cpu)
        for bad in ("FFT", None, 1):
            with pytest.raises(ValueError, match="method must be one of 'auto', 'fft', 'matmul'"):
                ss.set_window_method(bad)
        assert ss.get_window_method() == "matmul"
    finally:
        ss.set_window_method(before)


@pytest.mark.parametrize("periodic, cutoff", [(True, 2), (False, 2)])
def test_compile_fullgraph_with_matmul(method, periodic, cutoff):
    """The matrices are built in the graph under torch.compile (no cache lookups): one graph, compiled == eager."""
    prediction, target = _inputs((8, 7), seed=5)
    statistics = ss.two_point_stats(target, periodic=periodic, cutoff=cutoff)

    def function(p):
        return F.cess(p, target_statistics=statistics, periodic=periodic, cutoff=cutoff, check_values=False)

    torch._dynamo.reset()
    compiled = torch.compile(function, fullgraph=True, backend="aot_eager")
    expected = method("matmul", _value_and_gradient, function, prediction)
    torch.testing.assert_close(method("matmul", _value_and_gradient, compiled, prediction), expected,
                               rtol=1e-10, atol=1e-12)
