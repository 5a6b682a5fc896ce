"""The opt-in elementwise fusion of the fused losses (``spatialstats.set_elementwise_fusion``): the compiled passes
against the eager ones, the fallback when compiling fails, and the knob's errors."""

from __future__ import annotations

import warnings

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats.functional import _elementwise
from test_fused import _value_and_gradient  # loss value and gradient of its sum


@pytest.fixture
def fusion():
    """Set the fusion mode for one test; restores eager and forgets compiled functions and failures after it."""
    def choose(mode):
        ss.set_elementwise_fusion(mode)

    yield choose
    ss.set_elementwise_fusion("eager")
    _elementwise._COMPILED.clear()


def _cess(prediction, statistics):
    """Per-sample periodic CESS and the gradient of its sum (test_fused's helper)."""
    return _value_and_gradient(F.cess, prediction, target_statistics=statistics, periodic=True, reduction="none")


def _case(spatial, seed=0, batch=3):
    generator = torch.Generator().manual_seed(seed)
    prediction = torch.rand((batch, 1, *spatial), generator=generator, dtype=torch.float64).requires_grad_(True)
    target = (torch.rand((batch, 1, *spatial), generator=generator) > 0.5).double()
    return prediction, ss.two_point_stats(target, periodic=True)


@pytest.mark.slow
@pytest.mark.parametrize("spatial", [(12, 10), (9, 6, 7)], ids=str)
def test_compiled_passes_equal_eager(fusion, spatial):
    prediction, statistics = _case(spatial)
    eager = _cess(prediction, statistics)
    fusion("compile")
    compiled = _cess(prediction, statistics)
    ragged = _cess(prediction[:2].detach().requires_grad_(True), statistics[:2])  # another batch size
    assert _elementwise._COMPILED and _elementwise._STATE["failure"] is None  # the compiled passes did run
    torch.testing.assert_close(compiled, eager, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(ragged[0], eager[0][:2], rtol=1e-12, atol=1e-15)


def test_failed_compilation_warns_and_falls_back_to_eager(fusion, monkeypatch):
    prediction, statistics = _case((8, 7))
    eager = _cess(prediction, statistics)

    def broken(*unused, **options):
        def call(*arguments):
            raise RuntimeError("no C++ compiler here")

        return call

    monkeypatch.setattr(torch, "compile", broken)
    fusion("compile")
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler here"):
        fallback = _cess(prediction, statistics)
    torch.testing.assert_close(fallback, eager, rtol=0, atol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning: the process keeps the eager passes
        again = _cess(prediction, statistics)
    torch.testing.assert_close(again, eager, rtol=0, atol=0)


@pytest.mark.parametrize("bad", ["fast", None, 1, "Compile"])
def test_mode_errors(bad):
    with pytest.raises(ValueError, match="mode must be one of 'eager', 'compile'"):
        ss.set_elementwise_fusion(bad)
    assert ss.get_elementwise_fusion() == "eager"
