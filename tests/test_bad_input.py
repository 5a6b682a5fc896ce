"""Every documented bad input raises a clear error naming the argument."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F

FIELD = torch.rand(2, 2, 8, 8)
TARGET = torch.rand(2, 2, 8, 8)


@pytest.mark.parametrize(
    "fields,error,match",
    [
        ([[0.5]], TypeError, "fields must be a torch.Tensor"),
        (torch.ones(2, 2, 4, 4, dtype=torch.long), TypeError, "floating-point"),
        (torch.rand(2, 4), ValueError, r"shape \(batch, phases, \*spatial\)"),
        (torch.rand(1, 2, 3, 3, 3, 3), ValueError, "1 to 3 spatial dimensions"),
        (torch.rand(2, 2, 0, 4), ValueError, "must not be empty"),
    ],
)
def test_bad_fields(fields, error, match):
    with pytest.raises(error, match=match):
        ss.two_point_stats(fields)


@pytest.mark.parametrize(
    "values,match",
    [(float("nan"), "non-finite"), (float("inf"), "non-finite"), (1.5, r"in \[0, 1\]"), (-0.1, r"in \[0, 1\]")],
)
def test_bad_values_and_the_switch_that_skips_them(values, match):
    fields = FIELD.clone()
    fields[0, 0, 0, 0] = values
    with pytest.raises(ValueError, match=f"fields.*{match}|{match}"):
        ss.two_point_stats(fields)
    ss.two_point_stats(fields, check_values=False)  # value checks off: no error
    with pytest.raises(ValueError, match="prediction"):
        F.cess(fields, TARGET)
    F.cess(fields, TARGET, check_values=False)


@pytest.mark.parametrize(
    "cutoff,periodic,error,match",
    [
        (4, True, ValueError, r"cutoff 4 is too large .* at most \(n - 1\) // 2 = 3"),
        (8, False, ValueError, r"cutoff 8 is too large .* at most n - 1 = 7"),
        (-1, True, ValueError, "cutoff must be >= 0"),
        ((1, 2, 3), True, ValueError, "one value per spatial axis"),
        (1.5, True, TypeError, "cutoff must be an int"),
        (True, True, TypeError, "cutoff must be an int"),
    ],
)
def test_bad_cutoff(cutoff, periodic, error, match):
    with pytest.raises(error, match=match):
        ss.two_point_stats(FIELD, cutoff=cutoff, periodic=periodic)


def test_bad_periodic_flag():
    with pytest.raises(TypeError, match="periodic must be a bool"):
        ss.two_point_stats(FIELD, periodic="yes")


@pytest.mark.parametrize(
    "pairs,error,match",
    [
        ([(0, 2)], ValueError, r"pairs entry \(0, 2\) is out of range for 2 phases"),
        ([(0,)], TypeError, "two ints"),
        ([], TypeError, "non-empty list"),
        ([(0.0, 1)], TypeError, "two ints"),
    ],
)
def test_bad_pairs(pairs, error, match):
    with pytest.raises(error, match=match):
        ss.two_point_stats(FIELD, pairs=pairs)


@pytest.mark.parametrize(
    "mask,error,match",
    [
        (torch.rand(3, 8, 8), ValueError, r"mask must have shape"),
        (torch.rand(8, 7), ValueError, r"mask must have shape"),
        (torch.full((8, 8), 1.5), ValueError, r"mask must hold probabilities in \[0, 1\]"),
        (torch.full((8, 8), -0.5), ValueError, r"mask must hold probabilities"),
        (torch.ones(8, 8, dtype=torch.long), TypeError, "mask must be a floating-point or bool"),
        (torch.ones(8, 8).numpy(), TypeError, "mask must be a torch.Tensor"),
    ],
)
def test_bad_mask(mask, error, match):
    with pytest.raises(error, match=match):
        ss.two_point_stats(FIELD, mask=mask)


def test_bool_mask_is_accepted():
    mask = torch.ones(8, 8, dtype=torch.bool)
    torch.testing.assert_close(ss.two_point_stats(FIELD, mask=mask), ss.two_point_stats(FIELD))


@pytest.mark.parametrize(
    "labels,num_phases,error,match",
    [
        (torch.tensor([[0, 3, 1]]), 3, ValueError, r"labels must be < num_phases=3, got a maximum label of 3"),
        (torch.tensor([[0, -1, 1]]), None, ValueError, r"labels must be >= 0"),
        (torch.tensor([[0.0, 1.0]]), None, TypeError, "labels must be an integer tensor"),
        (torch.tensor([0, 1]), None, ValueError, r"labels must have shape \(batch, \*spatial\)"),
        (torch.tensor([[0, 1]]), 1, ValueError, "num_phases must be an int >= 2"),
    ],
)
def test_bad_labels(labels, num_phases, error, match):
    with pytest.raises(error, match=match):
        ss.one_hot_from_labels(labels, num_phases)


def test_two_phase_from_probability_needs_one_channel():
    with pytest.raises(ValueError, match="probability must have exactly one channel"):
        ss.two_phase_from_probability(FIELD)


@pytest.mark.parametrize("loss", [F.msess, F.cess, F.center_crop_cess])
def test_loss_target_arguments(loss):
    prediction = torch.rand(2, 1, 60, 60)
    with pytest.raises(ValueError, match="exactly one of target"):
        loss(prediction)
    with pytest.raises(ValueError, match="exactly one of target"):
        loss(prediction, prediction, target_statistics=ss.two_point_stats(prediction))
    with pytest.raises(ValueError, match="target must have the batch size and spatial shape"):
        loss(prediction, torch.rand(2, 1, 60, 59))
    with pytest.raises(ValueError, match="target has 3 phases but prediction has 2"):
        loss(prediction, torch.rand(2, 3, 60, 60))
    with pytest.raises(ValueError, match=r"target_statistics must have shape \(batch or 1, 2, 2,"):
        loss(prediction, target_statistics=torch.rand(2, 2, 2, 5, 5))
    with pytest.raises(ValueError, match="reduction must be one of"):
        loss(prediction, prediction, reduction="average")


def test_loss_scalar_arguments():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="eps must be a positive number"):
        F.cess(x, x, eps=0)
    with pytest.raises(ValueError, match="width must be a positive number"):
        F.clamp_loss(x, width=-1)
    with pytest.raises(ValueError, match="alpha must be a number >= 0"):
        F.mse_cess(x, x, alpha=-1)
    with pytest.raises(ValueError, match="target must have the shape of prediction"):
        F.mse_cess(x, ss.two_phase_from_probability(x))
    with pytest.raises(ValueError, match="cutoff 25 is too large"):
        F.center_crop_cess(x, x)
    with pytest.raises(ValueError, match="non-finite"):
        F.clamp_loss(torch.full((1, 1, 2), float("nan")))
    with pytest.raises(ValueError, match="reduction must be one of"):
        ss.CESSLoss(reduction="batchmean")


def test_module_target_rules():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="needs a target"):
        ss.MSESSLoss()(x)
    fixed = ss.MSESSLoss.from_target(x)
    with pytest.raises(ValueError, match="fixed target_statistics"):
        fixed(x, x)
