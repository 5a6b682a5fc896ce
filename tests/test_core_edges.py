"""The edges of issue 8 that are not plain refusals: what is accepted, and what it computes.

Phase sums within the stated tolerance, NumPy scalars, integer masks, numerical edges of eps and of the clamp loss,
messages that name the caller's argument with enough digits, module options checked at construction and kept as
attributes, the state_dict round trip of fixed-target modules, and Gaussian fields at long correlation lengths.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats.reconstruction import reconstruct


def _one_hot(seed: int, phases: int = 2, size: tuple[int, ...] = (8, 9), dtype=torch.float64) -> torch.Tensor:
    labels = torch.randint(0, phases, (2, *size), generator=torch.Generator().manual_seed(seed))
    return ss.one_hot_from_labels(labels, num_phases=phases, dtype=dtype)


# --- item 2: fields must sum to one over the phases -----------------------------------------------------------------


def test_phase_sum_message_reads_the_shape_and_suggests_fixes():
    image = (torch.rand(8, 64, 64, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    with pytest.raises(ValueError) as error:
        ss.two_point_stats(image)
    message = str(error.value)
    assert "read as batch=8, phases=64, spatial=(64,)" in message
    assert "unsqueeze(1)" in message and "one_hot_from_labels" in message and "within 0.0001" in message


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_phase_sums_inside_the_tolerance_are_accepted_and_outside_refused(dtype):
    tolerance = max(1e-4, 4 * torch.finfo(dtype).eps)
    fields = torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64).reshape(1, 3, 1, 1).repeat(2, 1, 4, 5)
    for shift, accepted in ((0.5 * tolerance, True), (-0.5 * tolerance, True), (3 * tolerance, False), (-3 * tolerance, False)):
        shifted = fields.clone()
        shifted[1, 0, 2, 3] += shift
        if accepted:
            ss.two_point_stats(shifted.to(dtype))
        else:
            with pytest.raises(ValueError, match=f"fields must sum to one over the phase axis \\(dim 1\\) within {tolerance:g}"):
                ss.two_point_stats(shifted.to(dtype))


def test_single_channel_has_no_sum_rule_and_check_values_false_skips_it():
    ss.two_point_stats(torch.full((1, 1, 4, 4), 0.3))
    unchecked = ss.two_point_stats(torch.full((1, 2, 4, 4), 0.25), check_values=False, cutoff=1)
    torch.testing.assert_close(unchecked.sum(dim=(1, 2)), torch.full((1, 3, 3), 0.25))


# --- item 3: target_statistics are accepted when they are what two_point_stats computes -----------------------------


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("phases", [1, 3])
def test_computed_target_statistics_pass_their_checks(periodic, phases):
    target = _one_hot(1, phases=max(phases, 2))
    target = target[:, 1:] if phases == 1 else target
    prediction = torch.full_like(target, 1 / target.shape[1]) if phases > 1 else torch.full_like(target, 0.5)
    for cutoff in (None, 2):
        statistics = ss.two_point_stats(target, periodic=periodic, cutoff=cutoff)
        by_statistics = F.cess(prediction, target_statistics=statistics, periodic=periodic, cutoff=cutoff)
        torch.testing.assert_close(by_statistics, F.cess(prediction, target, periodic=periodic, cutoff=cutoff))


def test_non_periodic_statistics_given_as_periodic_are_refused_with_the_reason():
    target = _one_hot(2)
    statistics = ss.two_point_stats(target, periodic=False, cutoff=2)
    with pytest.raises(ValueError, match="target_statistics look non-periodic"):
        F.msess(target, target_statistics=statistics, cutoff=2)
    assert torch.isfinite(F.msess(target, target_statistics=statistics, cutoff=2, check_values=False))


# --- item 4: options checked in __init__, kept as attributes; NumPy scalars are numbers -----------------------------


def test_module_options_are_attributes_after_checking():
    loss = ss.CESSLoss(cutoff=np.int64(3), eps=np.float32(1e-6), kl=np.bool_(True))
    assert loss.cutoff == 3 and type(loss.cutoff) is int
    assert loss.eps == pytest.approx(1e-6) and type(loss.eps) is float
    assert loss.kl is True and loss.options["kl"] is True
    assert ss.CenterCropCESSLoss().cutoff == F.CENTER_CROP_CUTOFF
    assert ss.ClampLoss(width=0.2).width == 0.2 and ss.MSECESSLoss(alpha=2).alpha == 2.0
    assert "cutoff=3" in repr(loss)


def test_numpy_scalars_give_the_python_scalars_results():
    prediction = torch.full((2, 1, 8, 9), 0.4, dtype=torch.float64)
    target = _one_hot(3)[:, 1:]
    python = F.mse_cess(prediction, target, cutoff=2, eps=1e-6, alpha=0.5, periodic=True)
    numpy = F.mse_cess(prediction, target, cutoff=np.int64(2), eps=np.float32(1e-6), alpha=np.float64(0.5), periodic=np.bool_(True))
    torch.testing.assert_close(numpy, python, rtol=1e-12, atol=0)  # float32(1e-6) differs from 1e-6 in its 8th digit
    pairs = ss.two_point_stats(target, pairs=[(np.int64(1), np.int32(1))], cutoff=(np.int16(1), 2))
    torch.testing.assert_close(pairs[:, 0], ss.two_point_stats(target, cutoff=(1, 2))[:, 1, 1])
    assert ss.one_hot_from_labels(torch.tensor([[0, 1]]), num_phases=np.int64(3)).shape == (1, 3, 2)
    torch.testing.assert_close(F.clamp_loss(prediction, width=np.float32(0.25)), F.clamp_loss(prediction, width=float(np.float32(0.25))))
    circles = ss.synthetic.circles(np.int64(2), np.int64(32), radius=np.float32(5.0), count=np.int32(2), seed=np.int64(4))
    assert torch.equal(circles, ss.synthetic.circles(2, 32, radius=5.0, count=2, seed=4))


# --- item 5: numerical edges ----------------------------------------------------------------------------------------


def test_eps_is_refused_only_where_it_underflows():
    target = _one_hot(4)
    with pytest.raises(ValueError, match=r"eps=1e-46 underflows in torch\.float32"):
        F.cess(target.float(), target.float(), eps=1e-46)
    value = F.cess(target, target, eps=1e-46)  # a normal number in float64
    assert torch.isfinite(value)


@pytest.mark.parametrize("large", [2e18, 3e18, -3e18, 1e30])
def test_clamp_loss_finite_with_finite_gradients_for_large_finite_inputs(large):
    prediction = torch.tensor([[[0.0, 1.0, 0.3, large, large]]], dtype=torch.float32, requires_grad=True)
    value = F.clamp_loss(prediction, width=0.1, reduction="sum")
    value.backward()
    assert torch.isfinite(prediction.grad).all()
    exact = F.clamp_loss(prediction.detach().double(), width=0.1, reduction="sum")
    if float(exact) < torch.finfo(torch.float32).max:
        assert torch.isfinite(value)
        torch.testing.assert_close(value.double(), exact, rtol=1e-6, atol=0)
    # The gradient of the far pixel is d / (sigma^2 N) with d its distance to the nearer of 0 and 1.
    far = abs(large) - (1 if large > 0 else 0)
    assert float(prediction.grad[0, 0, 3]) == pytest.approx(math.copysign(far / (0.01 * 5), large), rel=1e-6)


def test_clamp_loss_mean_does_not_overflow_where_the_value_is_representable():
    prediction = torch.full((2, 1, 10, 20), 2e18, requires_grad=True)  # per sample 2e38 < 3.4e38 = float32 max
    value = F.clamp_loss(prediction, reduction="none")
    value.sum().backward()
    torch.testing.assert_close(value.double(), torch.full((2,), (2e18 - 1) ** 2 * 50 + math.log(0.2 * math.sqrt(2 * math.pi)), dtype=torch.float64), rtol=1e-6, atol=0)
    assert torch.isfinite(prediction.grad).all()


def test_clamp_loss_matches_the_mixture_formula_and_refuses_a_vanishing_width():
    values = torch.linspace(-1.0, 2.0, 31, dtype=torch.float64).reshape(1, 1, -1)
    for width in (0.05, 0.1, 0.7):
        density = 0.5 * torch.exp(-values**2 / (2 * width**2)) + 0.5 * torch.exp(-((values - 1) ** 2) / (2 * width**2))
        expected = -torch.log(density / (width * math.sqrt(2 * math.pi))).mean()
        torch.testing.assert_close(F.clamp_loss(values, width=width), expected, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="width must be >= 1e-150"):
        F.clamp_loss(values, width=1e-200)


# --- item 6: messages name the caller's argument and show the violation ---------------------------------------------


def test_range_message_shows_enough_digits():
    fields = torch.full((1, 1, 4, 4), 0.5, dtype=torch.float64)
    fields[0, 0, 0, 0] = 1 + 1e-6
    with pytest.raises(ValueError, match=re.escape("[0.5, 1.000001]")):
        ss.two_point_stats(fields)


def test_from_target_and_reconstruct_name_the_target():
    bad = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"^target must sum to one"):
        ss.CESSLoss.from_target(bad)
    with pytest.raises(ValueError, match=r"^target must sum to one"):
        reconstruct(bad, steps=1, progress=False)
    with pytest.raises(ValueError, match=r"^target must hold probabilities"):
        reconstruct(torch.full((1, 1, 8, 8), 1.5), steps=1, progress=False)


# --- item 7: integer masks, as in PyMKS -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8, torch.bool])
@pytest.mark.parametrize("periodic", [True, False])
def test_integer_mask_equals_the_float_mask(dtype, periodic):
    fields = _one_hot(5, phases=3)
    mask = torch.rand(2, 8, 9, generator=torch.Generator().manual_seed(1)) > 0.3
    expected = ss.two_point_stats(fields, mask=mask.double(), periodic=periodic, cutoff=2)
    torch.testing.assert_close(ss.two_point_stats(fields, mask=mask.to(dtype), periodic=periodic, cutoff=2), expected, rtol=0, atol=0)


# --- item 8: state_dict round trip of fixed-target modules ----------------------------------------------------------


@pytest.mark.parametrize("loss_class", [ss.MSESSLoss, ss.CESSLoss, ss.CenterCropCESSLoss])
def test_from_target_state_loads_into_a_fresh_module(loss_class):
    target = _one_hot(6, size=(12, 12))[:, 1:]
    options = {"cutoff": 3, "periodic": False}
    fixed = loss_class.from_target(target, **options)
    fresh = loss_class(**options)
    assert fresh.target_statistics is None
    fresh.load_state_dict(fixed.state_dict())
    torch.testing.assert_close(fresh.target_statistics, fixed.target_statistics, rtol=0, atol=0)
    prediction = torch.full_like(target, 0.4)
    torch.testing.assert_close(fresh(prediction), fixed(prediction), rtol=0, atol=0)
    with pytest.raises(ValueError, match="built with fixed target_statistics"):
        fresh(prediction, target)
    other = loss_class.from_target(_one_hot(7, size=(12, 12))[:, 1:], **options)
    other.load_state_dict(fixed.state_dict())  # a fixed target is replaced by the loaded one
    torch.testing.assert_close(other(prediction), fixed(prediction), rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="target_statistics"):  # a fixed module still needs its buffer
        loss_class.from_target(target, **options).load_state_dict(fresh.__class__(**options).state_dict())


# --- item 10, last sentence: Gaussian random fields at long correlation lengths -------------------------------------


@pytest.mark.parametrize("length", [32.0, 64.0, 1e4])
def test_gaussian_random_field_keeps_its_fractions_at_long_correlation_lengths(length):
    labels = ss.synthetic.gaussian_random_field(4, 64, correlation_length=length, volume_fractions=[0.3, 0.2], seed=0)
    for phase, fraction in ((1, 0.3), (2, 0.2)):
        counts = (labels == phase).flatten(1).sum(dim=1)
        assert counts.tolist() == [round(fraction * 64 * 64)] * 4
