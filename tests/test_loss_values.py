"""Loss values against independent formulas, reductions, minima, input layouts and NaN safety."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spatialstats as ss
import spatialstats.functional as F


def binary(batch=3, size=(12, 10), seed=0, fraction=0.4):
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, 1, *size, generator=generator, dtype=torch.float64) < fraction).double()


def soft(batch=3, size=(12, 10), seed=1):
    return torch.rand(batch, 1, *size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def stats(x, **options):
    return ss.two_point_stats(x, **options)


def test_msess_is_mean_over_offsets_of_summed_squared_differences():
    prediction, target = soft(), binary()
    difference = (stats(prediction, cutoff=3) - stats(target, cutoff=3)) ** 2
    expected = difference.sum(dim=(1, 2)).flatten(1).mean(dim=1)
    torch.testing.assert_close(F.msess(prediction, target, cutoff=3, reduction="none"), expected)


def test_cess_is_the_cross_entropy_with_the_minus_sign():
    prediction, target = soft(), binary()
    f_p, f_t = stats(prediction, periodic=False, cutoff=4), stats(target, periodic=False, cutoff=4)
    eps = 1e-4
    expected = -(f_t * torch.log(f_p + eps)).sum(dim=(1, 2)).flatten(1).mean(dim=1)
    actual = F.cess(prediction, target, periodic=False, cutoff=4, eps=eps, reduction="none")
    torch.testing.assert_close(actual, expected)
    assert (actual > 0).all()


def test_kl_form_is_cess_minus_target_entropy():
    prediction, target = soft(), binary()
    f_t = stats(target)
    entropy = -(f_t * torch.log(f_t.clamp_min(0) + 1e-6)).sum(dim=(1, 2)).flatten(1).mean(dim=1)
    torch.testing.assert_close(
        F.cess(prediction, target, kl=True, reduction="none"), F.cess(prediction, target, reduction="none") - entropy
    )


def test_kl_form_has_the_same_gradient():
    target = binary()
    first = soft().requires_grad_()
    second = first.detach().clone().requires_grad_()
    F.cess(first, target).backward()
    F.cess(second, target, kl=True).backward()
    torch.testing.assert_close(first.grad, second.grad)


def test_center_crop_cess_is_cess_with_cutoff_25():
    prediction, target = soft(size=(60, 56)), binary(size=(60, 56))
    torch.testing.assert_close(F.center_crop_cess(prediction, target), F.cess(prediction, target, cutoff=25))
    assert F.CENTER_CROP_CUTOFF == 25


def test_clamp_loss_is_the_mixture_negative_log_likelihood():
    x = torch.linspace(-1.5, 2.5, 41, dtype=torch.float64).reshape(1, 1, 41)
    width = 0.3

    def normal(value, mean):
        return torch.exp(-((value - mean) ** 2) / (2 * width**2)) / (width * math.sqrt(2 * math.pi))

    expected = -torch.log(0.5 * normal(x, 0.0) + 0.5 * normal(x, 1.0)).mean()
    torch.testing.assert_close(F.clamp_loss(x, width=width), expected)


def test_clamp_loss_is_finite_with_finite_gradient_for_huge_inputs():
    x = torch.tensor([[[1e6, -1e6, 0.5, 1e30]]], dtype=torch.float64, requires_grad=True)
    value = F.clamp_loss(x)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(x.grad).all()


def test_clamp_loss_is_smallest_at_zero_and_one():
    width = 0.1
    minimum = math.log(2 * width * math.sqrt(2 * math.pi)) - math.log(1 + math.exp(-1 / (2 * width**2)))
    at_binary = F.clamp_loss(torch.tensor([[[0.0, 1.0]]], dtype=torch.float64), width=width)
    assert at_binary.item() == pytest.approx(minimum, abs=1e-12)
    for value in [0.05, 0.3, 0.5, 0.9, 1.2, -0.2]:
        assert F.clamp_loss(torch.tensor([[[value]]], dtype=torch.float64), width=width) > at_binary


def test_mse_cess_adds_weighted_pixel_mse():
    prediction, target = soft(), binary()
    expected = 0.7 * ((prediction - target) ** 2).flatten(1).mean(dim=1) + F.cess(prediction, target, reduction="none")
    torch.testing.assert_close(F.mse_cess(prediction, target, alpha=0.7, reduction="none"), expected)
    precomputed = F.mse_cess(prediction, target, target_statistics=stats(target), alpha=0.7, reduction="none")
    torch.testing.assert_close(precomputed, expected)


@pytest.mark.parametrize("loss", [F.msess, F.cess, F.center_crop_cess])
def test_reductions(loss):
    prediction, target = soft(size=(52, 52)), binary(size=(52, 52))
    per_sample = loss(prediction, target, reduction="none")
    assert per_sample.shape == (3,)
    torch.testing.assert_close(loss(prediction, target), per_sample.mean())
    torch.testing.assert_close(loss(prediction, target, reduction="sum"), per_sample.sum())


@pytest.mark.parametrize("loss", [F.msess, F.cess])
def test_target_statistics_path_equals_target_path(loss):
    prediction, target = soft(), binary()
    given = loss(prediction, target_statistics=stats(target, periodic=False, cutoff=3), periodic=False, cutoff=3)
    torch.testing.assert_close(given, loss(prediction, target, periodic=False, cutoff=3))
    shared = loss(prediction, target_statistics=stats(target[:1]), reduction="none")
    torch.testing.assert_close(shared, loss(prediction, target[:1].expand_as(target), reduction="none"))


@pytest.mark.parametrize("loss", [F.msess, F.cess, F.mse_cess])
def test_single_channel_equals_two_channel_input(loss):
    prediction, target = soft(), binary()
    two = loss(ss.two_phase_from_probability(prediction), ss.two_phase_from_probability(target), reduction="none")
    # mse_cess too: channel 0 repeats channel 1's squared errors, so the pixel mean is unchanged
    torch.testing.assert_close(loss(prediction, target, reduction="none"), two)


def test_n_phase_input():
    labels = torch.randint(0, 3, (2, 10, 10), generator=torch.Generator().manual_seed(2))
    target = ss.one_hot_from_labels(labels, dtype=torch.float64)
    prediction = torch.softmax(torch.randn(2, 3, 10, 10, dtype=torch.float64), dim=1)
    assert F.cess(prediction, target) > F.cess(target, target)
    assert F.cess(target, target, kl=True).abs() < 1e-9
    assert F.msess(target, target) == 0


def test_modules_equal_functional():
    prediction, target = soft(size=(52, 52)), binary(size=(52, 52))
    torch.testing.assert_close(ss.MSESSLoss(cutoff=5)(prediction, target), F.msess(prediction, target, cutoff=5))
    torch.testing.assert_close(ss.CESSLoss(kl=True)(prediction, target), F.cess(prediction, target, kl=True))
    torch.testing.assert_close(ss.CenterCropCESSLoss()(prediction, target), F.center_crop_cess(prediction, target))
    torch.testing.assert_close(ss.ClampLoss(width=0.2)(prediction), F.clamp_loss(prediction, width=0.2))
    torch.testing.assert_close(ss.MSECESSLoss(alpha=2.0)(prediction, target), F.mse_cess(prediction, target, alpha=2.0))
    fixed = ss.CESSLoss.from_target(target, periodic=False, cutoff=4)
    torch.testing.assert_close(fixed(prediction), F.cess(prediction, target, periodic=False, cutoff=4))
    assert "target_statistics" in fixed.state_dict()
    cropped = ss.CenterCropCESSLoss.from_target(target)
    torch.testing.assert_close(cropped(prediction), F.center_crop_cess(prediction, target))


@pytest.mark.parametrize("loss", [F.msess, F.cess, F.center_crop_cess, F.mse_cess, F.clamp_loss])
@pytest.mark.parametrize("periodic", [True, False])
def test_no_nan_for_exact_binary_input_and_gradients(loss, periodic):
    prediction = binary(size=(56, 54), seed=3).requires_grad_()
    target = binary(size=(56, 54), seed=4)
    value = loss(prediction) if loss is F.clamp_loss else loss(prediction, target, periodic=periodic)
    value.backward()
    assert torch.isfinite(value)
    assert torch.isfinite(prediction.grad).all()


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_input_computes_in_float32(dtype):
    prediction, target = soft().to(dtype), binary().to(dtype)
    assert ss.two_point_stats(prediction).dtype == dtype
    value = F.cess(prediction, target)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, F.cess(prediction.float(), target.float()))


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), periodic=st.booleans(), fraction=st.floats(0.1, 0.9))
def test_losses_are_minimal_at_the_target(seed, periodic, fraction):
    target = binary(batch=2, size=(9, 8), seed=seed, fraction=fraction)
    other = soft(batch=2, size=(9, 8), seed=seed + 1)
    options = {"periodic": periodic, "reduction": "none"}
    assert torch.all(F.msess(target, target, **options) == 0)
    assert torch.all(F.msess(other, target, **options) >= 0)
    kl_at_target = F.cess(target, target, kl=True, **options)
    assert torch.all(kl_at_target.abs() < 1e-9)
    assert torch.all(F.cess(other, target, kl=True, **options) >= kl_at_target - 1e-9)
    assert torch.all(F.cess(target, target, **options) <= F.cess(other, target, **options) + 1e-9)
    assert torch.all(F.mse_cess(target, target, kl=True, **options).abs() < 1e-9)
