"""torch.compile(fullgraph=True): with check_values=False nothing reads tensor values on the host, so every
statistic, loss and module traces into one graph; compiled values and gradients equal eager ones.

The ``aot_eager`` backend traces forward and backward (dynamo + AOTAutograd, the part that breaks on host reads)
without generating code, which keeps these tests fast; one slow test runs the default inductor backend.
"""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

torch._dynamo.config.cache_size_limit = 64


def _compile(function, backend="aot_eager"):
    torch._dynamo.reset()
    return torch.compile(function, fullgraph=True, backend=backend)


def _fields(channels, spatial=(8, 7), seed=0):
    generator = torch.Generator().manual_seed(seed)
    if channels == 1:
        fields = torch.rand((2, 1, *spatial), generator=generator, dtype=torch.float64)
    else:
        fields = torch.softmax(torch.randn((2, channels, *spatial), generator=generator, dtype=torch.float64), dim=1)
    return fields.requires_grad_(True)


def _value_and_gradient(function, fields):
    value = function(fields)
    weights = torch.linspace(0.5, 1.5, value.numel(), dtype=value.dtype).reshape(value.shape)
    (gradient,) = torch.autograd.grad((value * weights).sum(), fields)
    return value.detach(), gradient


def _assert_compiled_equals_eager(function, fields, backend="aot_eager"):
    eager = _value_and_gradient(function, fields)
    compiled = _value_and_gradient(_compile(function, backend), fields)
    torch.testing.assert_close(compiled, eager, rtol=1e-10, atol=1e-12)


STATISTICS_OPTIONS = {
    "per": dict(periodic=True),
    "nonper": dict(periodic=False),
    "per-cutoff": dict(periodic=True, cutoff=2),
    "nonper-cutoffs": dict(periodic=False, cutoff=(1, 2)),
    "per-pair11": dict(periodic=True, cutoff=2, pairs=[(1, 1)]),
    "nonper-pairs": dict(periodic=False, cutoff=2, pairs=[(0, 1), (1, 1)]),
}
FAST = {(1, "per"), (1, "nonper-cutoffs"), (1, "per-pair11"), (2, "per-cutoff"), (3, "nonper-pairs")}
SLOW = {(1, "nonper"), (2, "nonper"), (3, "per"), (1, "nonper-pairs")}


def _cases(pairs, fast, slow=()):
    """The ``fast`` cases, and the ``slow`` ones marked slow (each compile takes seconds): a representative subset of
    ``pairs`` (every path and option at least once), so that CI stays within its time."""
    chosen = [pair for pair in pairs if pair in fast or pair in slow]
    return [pytest.param(*pair, marks=() if pair in fast else pytest.mark.slow) for pair in chosen]


@pytest.mark.parametrize(
    "channels, name", _cases([(c, n) for c in (1, 2, 3) for n in STATISTICS_OPTIONS], FAST, SLOW), ids=str
)
def test_two_point_stats(channels, name):
    options = STATISTICS_OPTIONS[name]
    function = lambda x: ss.two_point_stats(x, check_values=False, **options)  # noqa: E731
    _assert_compiled_equals_eager(function, _fields(channels))


def test_two_point_stats_with_mask():
    mask = torch.rand(8, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    function = lambda x: ss.two_point_stats(x, mask=mask, cutoff=2, check_values=False)  # noqa: E731
    _assert_compiled_equals_eager(function, _fields(3))


def _target(channels):
    target = _fields(channels, seed=5).detach()
    return (target > 0.5).double() if channels == 1 else ss.one_hot_from_labels(target.argmax(dim=1))


LOSSES = {
    "msess": lambda p, t: F.msess(p, t, check_values=False, reduction="none"),
    "cess": lambda p, t: F.cess(p, t, check_values=False),
    "cess-nonper-cutoff": lambda p, t: F.cess(p, t, periodic=False, cutoff=2, check_values=False),
    "kl-nonper": lambda p, t: F.cess(p, t, periodic=False, kl=True, check_values=False),
    "center_crop_cess": lambda p, t: F.center_crop_cess(p, t, cutoff=2, check_values=False),
    "mse_cess": lambda p, t: F.mse_cess(p, t, periodic=False, check_values=False),
    "clamp_loss": lambda p, t: F.clamp_loss(p, check_values=False),
}


FAST_LOSSES = {(n, 1) for n in LOSSES} | {("cess", 3), ("msess", 2)}
SLOW_LOSSES = {("cess", 5), ("kl-nonper", 3), ("center_crop_cess", 2), ("mse_cess", 3), ("cess-nonper-cutoff", 2)}


@pytest.mark.parametrize(
    "name, channels", _cases([(n, c) for n in sorted(LOSSES) for c in (1, 2, 3, 5)], FAST_LOSSES, SLOW_LOSSES), ids=str
)
def test_losses(name, channels):
    target = _target(channels)
    _assert_compiled_equals_eager(lambda p: LOSSES[name](p, target), _fields(channels))


MODULES = {
    "MSESSLoss": lambda: ss.MSESSLoss(cutoff=2, check_values=False),
    "CESSLoss": lambda: ss.CESSLoss(periodic=False, check_values=False),
    "CenterCropCESSLoss": lambda: ss.CenterCropCESSLoss(cutoff=2, check_values=False),
    "MSECESSLoss": lambda: ss.MSECESSLoss(check_values=False),
    "ClampLoss": lambda: ss.ClampLoss(check_values=False),
}


@pytest.mark.parametrize(
    "name, channels", _cases([(n, c) for n in sorted(MODULES) for c in (1, 3)], {(n, 1) for n in MODULES}, {("CESSLoss", 3)}), ids=str
)
def test_modules(name, channels):
    module, target = MODULES[name](), _target(channels)
    if name == "ClampLoss":
        function = module
    elif name == "MSECESSLoss":
        function = lambda p: module(p, target)  # noqa: E731
    else:
        fixed = type(module).from_target(target, **module.options)
        function = fixed
    _assert_compiled_equals_eager(function, _fields(channels))


@pytest.mark.slow
@pytest.mark.parametrize("periodic, channels", [(True, 1), (True, 3)])  # ~35 s each on 2 busy cores
def test_inductor_fused_loss(periodic, channels):
    target = _target(channels)
    function = lambda p: F.cess(p, target, periodic=periodic, cutoff=2, check_values=False)  # noqa: E731
    _assert_compiled_equals_eager(function, _fields(channels), backend="inductor")
