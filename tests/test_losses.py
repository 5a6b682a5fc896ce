"""Loss values against independent formulas, reductions, input layouts, the nn.Module wrappers and finiteness.

The statistics themselves are checked against PyMKS and the direct sum elsewhere; here the losses' formulas are
rebuilt in numpy from ``ss.two_point_stats`` output and compared with the library's values.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

EPS = 1e-6
PERIODIC = pytest.mark.parametrize("periodic", [True, False], ids=["periodic", "nonperiodic"])


def _stats(fields: torch.Tensor, **options) -> np.ndarray:
    return ss.two_point_stats(fields, **options).numpy()


def _msess_formula(predicted: np.ndarray, expected: np.ndarray) -> np.ndarray:
    squared = (predicted - expected) ** 2
    return squared.sum(axis=(1, 2)).reshape(len(squared), -1).mean(axis=1)


def _cess_formula(predicted: np.ndarray, expected: np.ndarray, eps: float = EPS) -> np.ndarray:
    terms = -expected * np.log(predicted + eps)
    return terms.sum(axis=(1, 2)).reshape(len(terms), -1).mean(axis=1)


def _entropy_formula(expected: np.ndarray, eps: float = EPS) -> np.ndarray:
    return _cess_formula(expected, expected, eps)


def _clamp_formula(values: np.ndarray, width: float) -> np.ndarray:
    """-log(0.5 N(x; 0, w) + 0.5 N(x; 1, w)) per sample mean, in log space so that huge values stay finite."""
    log_density_0 = -0.5 * (values / width) ** 2 - math.log(width * math.sqrt(2 * math.pi))
    log_density_1 = -0.5 * ((values - 1) / width) ** 2 - math.log(width * math.sqrt(2 * math.pi))
    per_pixel = -(np.logaddexp(log_density_0, log_density_1) + math.log(0.5))
    return per_pixel.reshape(len(values), -1).mean(axis=1)


@pytest.fixture
def pair(random_fields, random_labels):
    """A blurry three-phase prediction and a one-hot target, 2 samples of 6 x 7."""
    prediction = random_fields(2, 3, 6, 7)
    target = ss.one_hot_from_labels(random_labels(2, 3, 6, 7), num_phases=3, dtype=torch.float64)
    return prediction, target


@PERIODIC
@pytest.mark.parametrize("cutoff", [None, 2], ids=["all-offsets", "cutoff2"])
def test_msess_equation_7(pair, periodic, cutoff):
    prediction, target = pair
    options = dict(periodic=periodic, cutoff=cutoff)
    expected = _msess_formula(_stats(prediction, **options), _stats(target, **options))
    actual = F.msess(prediction, target, reduction="none", **options)
    np.testing.assert_allclose(actual.numpy(), expected, rtol=1e-12, atol=0)
    assert np.all(expected > 1e-4)  # a real difference, not a trivially zero comparison


@PERIODIC
@pytest.mark.parametrize("cutoff", [None, 2], ids=["all-offsets", "cutoff2"])
@pytest.mark.parametrize("eps", [1e-6, 1e-3])
def test_cess_equation_8_and_kl(pair, periodic, cutoff, eps):
    prediction, target = pair
    options = dict(periodic=periodic, cutoff=cutoff, eps=eps, reduction="none")
    predicted, expected = _stats(prediction, periodic=periodic, cutoff=cutoff), _stats(target, periodic=periodic, cutoff=cutoff)
    cross_entropy = _cess_formula(predicted, expected, eps)
    np.testing.assert_allclose(F.cess(prediction, target, **options).numpy(), cross_entropy, rtol=1e-12)
    kl = cross_entropy - _entropy_formula(expected, eps)
    np.testing.assert_allclose(F.cess(prediction, target, kl=True, **options).numpy(), kl, rtol=1e-10)
    assert np.all(kl > 1e-3)


def test_cess_kl_has_the_same_gradient_as_cess(pair):
    prediction, target = pair
    gradients = []
    for kl in (False, True):
        leaf = prediction.clone().requires_grad_(True)
        F.cess(leaf, target, cutoff=2, kl=kl).backward()
        gradients.append(leaf.grad)
    torch.testing.assert_close(gradients[0], gradients[1], rtol=1e-10, atol=1e-14)
    assert float(gradients[0].abs().max()) > 0


@PERIODIC
def test_center_crop_cess_is_cess_with_cutoff_25(random_fields, periodic):
    # Narrow stripes against a wide band of phase 1: the statistics differ most at long offsets.
    stripes = (torch.arange(53) % 6 < 3).to(torch.float64)
    prediction = (0.1 + 0.8 * stripes).expand(2, 1, 51, 53) * 0.9 + 0.1 * random_fields(2, 1, 51, 53)
    # A band of phase 1 (long-range structure), so long offsets differ from short ones.
    target = torch.zeros(2, 1, 51, 53, dtype=torch.float64)
    target[0, :, :, 5:30] = 1
    target[1, :, 10:25, :] = 1
    crop = F.center_crop_cess(prediction, target, periodic=periodic, reduction="none")
    expected = _cess_formula(_stats(prediction, periodic=periodic, cutoff=25), _stats(target, periodic=periodic, cutoff=25))
    np.testing.assert_allclose(crop.numpy(), expected, rtol=1e-12)
    full = F.cess(prediction, target, periodic=periodic, reduction="none")
    assert float((crop - full).abs().min()) > 1e-3  # the crop really drops offsets
    smaller = F.center_crop_cess(prediction, target, periodic=periodic, cutoff=(3, 4), kl=True, reduction="none")
    expected_small = F.cess(prediction, target, periodic=periodic, cutoff=(3, 4), kl=True, reduction="none")
    torch.testing.assert_close(smaller, expected_small, rtol=0, atol=0)


@pytest.mark.parametrize("width", [0.05, 0.1, 0.5])
def test_clamp_loss_gaussian_mixture_formula(random_fields, generator, width):
    values = torch.cat(
        [random_fields(2, 2, 4, 5), (torch.randn(2, 1, 4, 5, generator=generator, dtype=torch.float64) * 2)], dim=1
    )
    actual = F.clamp_loss(values, width=width, reduction="none")
    np.testing.assert_allclose(actual.numpy(), _clamp_formula(values.numpy(), width), rtol=1e-12)


def test_clamp_loss_exact_density_at_half():
    """At x = 0.5 both Gaussians give the same density, so the loss is -log N(0.5; 0, w)."""
    width = 0.25
    density = math.exp(-0.5 * (0.5 / width) ** 2) / (width * math.sqrt(2 * math.pi))
    loss = F.clamp_loss(torch.full((1, 1, 3, 3), 0.5, dtype=torch.float64), width=width)
    assert float(loss) == pytest.approx(-math.log(density), rel=1e-12)


def test_clamp_loss_finite_for_huge_inputs():
    values = torch.tensor([[[1e6, -1e6, 0.5, 3e5]]], dtype=torch.float64, requires_grad=True)
    loss = F.clamp_loss(values, width=0.1)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(values.grad).all()
    np.testing.assert_allclose(float(loss.detach()), _clamp_formula(values.detach().numpy(), 0.1)[0], rtol=1e-12)
    assert float(values.grad[0, 0, 0]) > 0 > float(values.grad[0, 0, 1])  # pulled back towards [0, 1]
    single = torch.tensor([[[1e6]]], dtype=torch.float32)
    assert torch.isfinite(F.clamp_loss(single))


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.5])
def test_mse_cess_is_alpha_mse_plus_cess(pair, alpha):
    prediction, target = pair
    mse = ((prediction - target) ** 2).reshape(2, -1).mean(dim=1).numpy()
    cross = _cess_formula(_stats(prediction), _stats(target))
    actual = F.mse_cess(prediction, target, alpha=alpha, reduction="none")
    np.testing.assert_allclose(actual.numpy(), alpha * mse + cross, rtol=1e-12)


@pytest.mark.parametrize(
    "loss",
    [
        lambda p, t, **kw: F.msess(p, t, **kw),
        lambda p, t, **kw: F.cess(p, t, **kw),
        lambda p, t, **kw: F.cess(p, t, kl=True, **kw),
        lambda p, t, **kw: F.center_crop_cess(p, t, cutoff=2, **kw),
        lambda p, t, **kw: F.clamp_loss(p, **kw),
        lambda p, t, **kw: F.mse_cess(p, t, **kw),
    ],
    ids=["msess", "cess", "kl", "crop", "clamp", "mse_cess"],
)
def test_reductions(pair, loss):
    prediction, target = pair
    per_sample = loss(prediction, target, reduction="none")
    assert per_sample.shape == (2,)
    assert per_sample[0] != per_sample[1]
    torch.testing.assert_close(loss(prediction, target, reduction="mean"), per_sample.mean(), rtol=1e-14, atol=0)
    torch.testing.assert_close(loss(prediction, target, reduction="sum"), per_sample.sum(), rtol=1e-14, atol=0)
    assert loss(prediction, target).shape == ()


@PERIODIC
@pytest.mark.parametrize("kind", ["msess", "cess", "crop"])
def test_target_statistics_path_equals_target_path(pair, periodic, kind):
    prediction, target = pair
    loss = {"msess": F.msess, "cess": F.cess, "crop": F.center_crop_cess}[kind]
    cutoff = 2
    statistics = ss.two_point_stats(target, periodic=periodic, cutoff=cutoff)
    from_target = loss(prediction, target, periodic=periodic, cutoff=cutoff, reduction="none")
    from_statistics = loss(prediction, target_statistics=statistics, periodic=periodic, cutoff=cutoff, reduction="none")
    torch.testing.assert_close(from_statistics, from_target, rtol=1e-14, atol=0)
    # A single set of statistics (batch 1) is shared by every sample.
    shared = loss(prediction, target_statistics=statistics[:1], periodic=periodic, cutoff=cutoff, reduction="none")
    each = loss(prediction, target[:1].expand_as(target), periodic=periodic, cutoff=cutoff, reduction="none")
    torch.testing.assert_close(shared, each, rtol=1e-14, atol=0)


@PERIODIC
def test_single_channel_equals_two_channel_input(random_fields, random_labels, periodic):
    prediction = random_fields(2, 1, 5, 6)
    target = ss.one_hot_from_labels(random_labels(2, 2, 5, 6), dtype=torch.float64)[:, 1:]
    explicit_prediction = ss.two_phase_from_probability(prediction)
    explicit_target = ss.two_phase_from_probability(target)
    options = dict(periodic=periodic, reduction="none")
    for loss in (F.msess, F.cess, F.mse_cess):
        torch.testing.assert_close(
            loss(prediction, target, **options), loss(explicit_prediction, explicit_target, **options), rtol=1e-12, atol=1e-14
        )
    torch.testing.assert_close(
        F.cess(prediction, target, kl=True, **options), F.cess(explicit_prediction, explicit_target, kl=True, **options),
        rtol=1e-10, atol=1e-14,
    )
    # The statistics of a single channel feed a two-channel prediction's loss, and the other way round.
    statistics = ss.two_point_stats(target, periodic=periodic)
    torch.testing.assert_close(
        F.msess(explicit_prediction, target_statistics=statistics, **options), F.msess(prediction, target, **options),
        rtol=1e-12, atol=1e-14,
    )


@pytest.mark.parametrize("phases", [3, 4])
def test_n_phase_losses(random_fields, random_labels, phases):
    prediction = random_fields(2, phases, 4, 5)
    target = ss.one_hot_from_labels(random_labels(2, phases, 4, 5), num_phases=phases, dtype=torch.float64)
    predicted, expected = _stats(prediction), _stats(target)
    assert predicted.shape[1:3] == (phases, phases)
    np.testing.assert_allclose(F.msess(prediction, target, reduction="none").numpy(), _msess_formula(predicted, expected), rtol=1e-12)
    np.testing.assert_allclose(F.cess(prediction, target, reduction="none").numpy(), _cess_formula(predicted, expected), rtol=1e-12)


def test_modules_equal_functional(pair):
    prediction, target = pair
    statistics = ss.two_point_stats(target, periodic=False, cutoff=2)
    checks = [
        (ss.MSESSLoss(periodic=False, cutoff=2), F.msess(prediction, target, periodic=False, cutoff=2)),
        (ss.CESSLoss(periodic=False, cutoff=2, eps=1e-4), F.cess(prediction, target, periodic=False, cutoff=2, eps=1e-4)),
        (ss.CESSLoss(kl=True, reduction="none"), F.cess(prediction, target, kl=True, reduction="none")),
        (ss.CenterCropCESSLoss(cutoff=2, reduction="sum"), F.center_crop_cess(prediction, target, cutoff=2, reduction="sum")),
        (ss.MSECESSLoss(alpha=0.5), F.mse_cess(prediction, target, alpha=0.5)),
    ]
    for module, expected in checks:
        torch.testing.assert_close(module(prediction, target), expected, rtol=0, atol=0)
    torch.testing.assert_close(ss.ClampLoss(width=0.2)(prediction), F.clamp_loss(prediction, width=0.2), rtol=0, atol=0)
    fixed = ss.MSESSLoss(target_statistics=statistics, periodic=False, cutoff=2)
    torch.testing.assert_close(fixed(prediction), F.msess(prediction, target, periodic=False, cutoff=2), rtol=1e-14, atol=0)
    fixed_cess = ss.CESSLoss(target_statistics=statistics, periodic=False, cutoff=2)
    torch.testing.assert_close(fixed_cess(prediction), F.cess(prediction, target, periodic=False, cutoff=2), rtol=1e-14, atol=0)


@PERIODIC
@pytest.mark.parametrize("single_channel", [False, True], ids=["two-channel", "single-channel"])
def test_losses_finite_with_exact_zeros_and_ones(random_labels, periodic, single_channel):
    """One-hot predictions have pair probabilities of exactly 0: values and gradients must stay finite."""
    target = ss.one_hot_from_labels(random_labels(2, 2, 6, 6), dtype=torch.float64)
    prediction = ss.one_hot_from_labels(random_labels(2, 2, 6, 6), dtype=torch.float64)
    if single_channel:
        target, prediction = target[:, 1:], prediction[:, 1:]
    losses = {
        "msess": lambda p: F.msess(p, target, periodic=periodic),
        "cess": lambda p: F.cess(p, target, periodic=periodic),
        "kl": lambda p: F.cess(p, target, periodic=periodic, kl=True),
        "crop": lambda p: F.center_crop_cess(p, target, periodic=periodic, cutoff=1),
        "clamp": lambda p: F.clamp_loss(p),
        "mse_cess": lambda p: F.mse_cess(p, target, periodic=periodic),
    }
    for name, loss in losses.items():
        # Constant fields: all of phase 0, all of phase 1 (in the two-channel layout, one-hot as well).
        all_zero = torch.zeros_like(prediction) if single_channel else ss.two_phase_from_probability(torch.zeros_like(prediction[:, 1:]))
        all_one = 1 - all_zero if single_channel else all_zero.flip(1)
        for candidate in (prediction, target, all_zero, all_one):
            leaf = candidate.clone().requires_grad_(True)
            value = loss(leaf)
            value.backward()
            assert torch.isfinite(value), name
            assert torch.isfinite(leaf.grad).all(), name
    # A pair that never occurs in the prediction costs -log(eps) per unit of target probability, not infinity.
    assert float(F.cess(prediction, target, periodic=periodic)) < 2 * 4 * -math.log(EPS)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["float16", "bfloat16"])
def test_half_precision_losses_are_computed_in_float32(pair, dtype):
    prediction, target = (x.to(dtype) for x in pair)
    for loss in (F.msess, F.cess, F.mse_cess):
        low = loss(prediction, target)
        # Rounded to half precision, the phases sum to one only within the half dtype's tolerance.
        reference = loss(prediction.float(), target.float(), check_values=False)
        assert torch.isfinite(low)
        torch.testing.assert_close(low.float(), reference, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(F.clamp_loss(prediction).float(), F.clamp_loss(prediction.float()), rtol=1e-6, atol=1e-7)


def test_kl_form_has_the_cess_gradient(generator):
    target = ss.one_hot_from_labels(torch.randint(0, 2, (2, 9, 8), generator=generator), dtype=torch.float64)
    first = ss.two_phase_from_probability(torch.rand(2, 1, 9, 8, generator=generator, dtype=torch.float64))
    first.requires_grad_(True)
    second = first.detach().clone().requires_grad_(True)
    F.cess(first, target).backward()
    F.cess(second, target, kl=True).backward()
    torch.testing.assert_close(first.grad, second.grad)


def test_clamp_loss_minimum_is_at_zero_and_one():
    width = 0.1
    minimum = math.log(2 * width * math.sqrt(2 * math.pi)) - math.log(1 + math.exp(-1 / (2 * width**2)))
    at_binary = F.clamp_loss(torch.tensor([[[0.0, 1.0]]], dtype=torch.float64), width=width)
    assert at_binary.item() == pytest.approx(minimum, abs=1e-12)
    for value in [0.05, 0.3, 0.5, 0.9, 1.2, -0.2]:
        assert F.clamp_loss(torch.tensor([[[value]]], dtype=torch.float64), width=width) > at_binary


def test_mse_cess_with_precomputed_target_statistics(generator):
    target = (torch.rand(2, 1, 9, 8, generator=generator, dtype=torch.float64) > 0.5).double()
    prediction = torch.rand(2, 1, 9, 8, generator=generator, dtype=torch.float64)
    statistics = ss.two_point_stats(target, periodic=False, cutoff=3)
    options = dict(alpha=0.3, periodic=False, cutoff=3, reduction="none")
    torch.testing.assert_close(
        F.mse_cess(prediction, target, target_statistics=statistics, **options), F.mse_cess(prediction, target, **options)
    )


@pytest.mark.parametrize("module", [ss.MSESSLoss, ss.CESSLoss, ss.CenterCropCESSLoss])
def test_fixed_target_is_a_buffer_and_matches_the_functional(module, generator):
    target = (torch.rand(2, 1, 60, 60, generator=generator, dtype=torch.float64) > 0.5).double()
    prediction = torch.rand(2, 1, 60, 60, generator=generator, dtype=torch.float64)
    fixed = module.from_target(target, periodic=False)
    assert "target_statistics" in fixed.state_dict()
    torch.testing.assert_close(fixed(prediction), module(periodic=False)(prediction, target))
