"""Bad input raises TypeError/ValueError naming the argument; check_values=False skips value checks only."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F


@pytest.fixture
def fields():
    return torch.full((2, 2, 5, 6), 0.5)


@pytest.fixture
def probability():
    return torch.full((2, 1, 5, 6), 0.25)


# --- two_point_stats ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (2, 5), (1, 2, 3, 3, 3, 3)], ids=["1d", "no-spatial", "four-spatial"])
def test_wrong_number_of_dimensions(shape):
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(torch.full(shape, 0.5))


def test_empty_fields():
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(torch.zeros(2, 2, 0, 4))


@pytest.mark.parametrize("value", [np.full((1, 2, 4, 4), 0.5), [[[0.5, 0.5]]], 0.5], ids=["numpy", "list", "float"])
def test_non_tensor_fields(value):
    with pytest.raises(TypeError, match="fields"):
        ss.two_point_stats(value)


@pytest.mark.parametrize("dtype", [torch.int64, torch.uint8, torch.bool])
def test_integer_fields(dtype):
    with pytest.raises(TypeError, match="fields"):
        ss.two_point_stats(torch.ones(1, 2, 4, 4, dtype=dtype))


@pytest.mark.parametrize(
    ("periodic", "cutoff"),
    [(True, 3), (True, (2, 3)), (False, 5), (False, (4, 6)), (True, -1), (False, (0, -2))],
    ids=["periodic-int", "periodic-tuple", "nonperiodic-int", "nonperiodic-tuple", "negative", "negative-tuple"],
)
def test_cutoff_out_of_range(fields, periodic, cutoff):
    """5 x 6 fields allow periodic cutoffs up to (2, 2) and non-periodic ones up to (4, 5)."""
    with pytest.raises(ValueError, match="cutoff"):
        ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)


@pytest.mark.parametrize(("periodic", "cutoff"), [(True, (2, 2)), (False, (4, 5))])
def test_largest_cutoff_is_accepted(fields, periodic, cutoff):
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    assert stats.shape[3:] == tuple(2 * c + 1 for c in cutoff)


@pytest.mark.parametrize("cutoff", [(1,), (1, 1, 1)])
def test_cutoff_tuple_of_wrong_length(fields, cutoff):
    with pytest.raises(ValueError, match="cutoff"):
        ss.two_point_stats(fields, cutoff=cutoff)


@pytest.mark.parametrize("cutoff", [1.5, "2", True])
def test_cutoff_of_wrong_type(fields, cutoff):
    with pytest.raises(TypeError, match="cutoff"):
        ss.two_point_stats(fields, cutoff=cutoff)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")], ids=["nan", "inf", "-inf"])
def test_non_finite_fields(fields, bad):
    fields[0, 1, 2, 3] = bad
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(fields)


@pytest.mark.parametrize("bad", [-0.01, 1.5])
def test_probabilities_outside_unit_interval(fields, probability, bad):
    fields[1, 0, 0, 0] = bad
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(fields)
    probability[0, 0, 4, 5] = bad
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(probability)


@pytest.mark.parametrize("bad", [-0.5, 1.01, float("nan")])
def test_mask_values_outside_unit_interval(fields, bad):
    mask = torch.ones(5, 6)
    mask[2, 2] = bad
    with pytest.raises(ValueError, match="mask"):
        ss.two_point_stats(fields, mask=mask)


@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 6), (5, 6, 1), (2, 1, 5, 6)], ids=str)
def test_mask_of_wrong_shape(fields, shape):
    with pytest.raises(ValueError, match="mask"):
        ss.two_point_stats(fields, mask=torch.ones(shape))


def test_mask_not_a_tensor(fields):
    with pytest.raises(TypeError, match="mask"):
        ss.two_point_stats(fields, mask=np.ones((5, 6)))


@pytest.mark.parametrize("pairs", [[(0, 2)], [(-1, 0)], [(0, 1), (3, 3)]], ids=str)
def test_pairs_out_of_range(fields, probability, pairs):
    with pytest.raises(ValueError, match="pairs"):
        ss.two_point_stats(fields, pairs=pairs)
    with pytest.raises(ValueError, match="pairs"):  # a single channel is two phases: 0 and 1
        ss.two_point_stats(probability, pairs=pairs)


@pytest.mark.parametrize("pairs", [[], [(0, 1, 1)], [0, 1], "01"], ids=["empty", "triple", "flat", "string"])
def test_pairs_malformed(fields, pairs):
    with pytest.raises(TypeError, match="pairs"):
        ss.two_point_stats(fields, pairs=pairs)


def test_check_values_false_skips_value_checks_only(fields):
    outside = fields.clone()
    outside[0, 0, 0, 0] = 1.5
    stats = ss.two_point_stats(outside, check_values=False, cutoff=1)
    assert stats.shape == (2, 2, 2, 3, 3)
    # The unchecked values still enter the definition: at r = 0, f(0, 0) = mean of m0^2.
    expected = (outside[:, 0] ** 2).mean(dim=(1, 2))
    torch.testing.assert_close(stats[:, 0, 0, 1, 1], expected)
    mask = torch.full((5, 6), 2.0)
    ss.two_point_stats(fields, mask=mask, check_values=False)
    with pytest.raises(ValueError, match="cutoff"):
        ss.two_point_stats(outside, check_values=False, cutoff=3)
    with pytest.raises(ValueError, match="fields"):
        ss.two_point_stats(outside[0, 0], check_values=False)
    with pytest.raises(ValueError, match="mask"):
        ss.two_point_stats(fields, mask=torch.ones(4, 6), check_values=False)
    with pytest.raises(TypeError, match="fields"):
        ss.two_point_stats(outside.long(), check_values=False)


# --- field builders -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("labels", "num_phases"), [(torch.tensor([[0, 1, 3]]), 3), (torch.tensor([[0, -1, 1]]), None)])
def test_labels_out_of_range_or_negative(labels, num_phases):
    with pytest.raises(ValueError, match="labels"):
        ss.one_hot_from_labels(labels, num_phases=num_phases)


@pytest.mark.parametrize("labels", [torch.tensor([[0.0, 1.0]]), torch.tensor([[True, False]])], ids=["float", "bool"])
def test_labels_of_non_integer_dtype(labels):
    with pytest.raises(TypeError, match="labels"):
        ss.one_hot_from_labels(labels)


@pytest.mark.parametrize("shape", [(4,), (1, 2, 2, 2, 2)], ids=["no-batch", "four-spatial"])
def test_labels_of_wrong_ndim(shape):
    with pytest.raises(ValueError, match="labels"):
        ss.one_hot_from_labels(torch.zeros(shape, dtype=torch.int64))


@pytest.mark.parametrize("num_phases", [1, 0, 2.0])
def test_bad_num_phases(num_phases):
    with pytest.raises(ValueError, match="num_phases"):
        ss.one_hot_from_labels(torch.tensor([[0, 1]]), num_phases=num_phases)


def test_two_phase_from_probability_needs_one_channel(fields):
    with pytest.raises(ValueError, match="probability"):
        ss.two_phase_from_probability(fields)
    with pytest.raises(TypeError, match="probability"):
        ss.two_phase_from_probability(np.zeros((1, 1, 3)))


# --- losses ---------------------------------------------------------------------------------------------------------

STATISTICS_LOSSES = [F.msess, F.cess, F.center_crop_cess]
LOSS_IDS = ["msess", "cess", "center_crop_cess"]


@pytest.mark.parametrize("loss", STATISTICS_LOSSES + [F.mse_cess], ids=LOSS_IDS + ["mse_cess"])
def test_phase_count_mismatch(loss):
    prediction = torch.full((1, 3, 5, 6), 1 / 3)
    target = torch.full((1, 2, 5, 6), 0.5)
    options = {"cutoff": 1} if loss is F.center_crop_cess else {}
    with pytest.raises(ValueError, match="target"):
        loss(prediction, target, **options)
    with pytest.raises(ValueError, match="target"):  # one channel is two phases, not three
        loss(prediction, target[:, 1:], **options)


@pytest.mark.parametrize("loss", STATISTICS_LOSSES + [F.mse_cess], ids=LOSS_IDS + ["mse_cess"])
@pytest.mark.parametrize("target_shape", [(1, 2, 5, 7), (2, 2, 5, 6), (1, 2, 5, 6, 1)], ids=str)
def test_shape_mismatch(loss, target_shape):
    prediction = torch.full((1, 2, 5, 6), 0.5)
    options = {"cutoff": 1} if loss is F.center_crop_cess else {}
    with pytest.raises(ValueError, match="target"):
        loss(prediction, torch.full(target_shape, 0.5), **options)


@pytest.mark.parametrize("loss", STATISTICS_LOSSES, ids=LOSS_IDS)
def test_both_or_neither_target(loss):
    prediction = torch.full((1, 2, 5, 6), 0.5)
    statistics = ss.two_point_stats(prediction, cutoff=1)
    with pytest.raises(ValueError, match="target_statistics"):
        loss(prediction, cutoff=1)
    with pytest.raises(ValueError, match="target_statistics"):
        loss(prediction, prediction, target_statistics=statistics, cutoff=1)


@pytest.mark.parametrize("loss", STATISTICS_LOSSES, ids=LOSS_IDS)
@pytest.mark.parametrize(
    "statistics_shape",
    [(1, 2, 2, 5, 5), (1, 2, 2, 3), (3, 2, 2, 3, 3), (1, 3, 3, 3, 3), (1, 4, 3, 3)],
    ids=["other-cutoff", "missing-axis", "batch", "phases", "pairs-layout"],
)
def test_target_statistics_of_wrong_shape(loss, statistics_shape):
    prediction = torch.full((2, 2, 5, 6), 0.5)
    with pytest.raises(ValueError, match="target_statistics"):
        loss(prediction, target_statistics=torch.full(statistics_shape, 0.25), cutoff=1)


@pytest.mark.parametrize("loss", STATISTICS_LOSSES + [F.mse_cess, F.clamp_loss], ids=LOSS_IDS + ["mse_cess", "clamp"])
def test_bad_reduction(loss):
    prediction = torch.full((1, 2, 5, 6), 0.5)
    args = (prediction,) if loss is F.clamp_loss else (prediction, prediction)
    with pytest.raises(ValueError, match="reduction"):
        loss(*args, reduction="average")


@pytest.mark.parametrize("loss", STATISTICS_LOSSES + [F.mse_cess], ids=LOSS_IDS + ["mse_cess"])
@pytest.mark.parametrize("bad", [1.2, float("nan")])
def test_loss_values_checked_and_named(loss, bad):
    valid = torch.full((1, 2, 5, 6), 0.5)
    broken = valid.clone()
    broken[0, 0, 1, 1] = bad
    options = {"cutoff": 1} if loss is F.center_crop_cess else {}
    with pytest.raises(ValueError, match="prediction"):
        loss(broken, valid, **options)
    with pytest.raises(ValueError, match="target"):
        loss(valid, broken, **options)
    if not np.isnan(bad):  # unchecked, an out-of-range value still gives a number
        assert torch.isfinite(loss(broken, valid, check_values=False, **options))


def test_loss_non_tensor_and_integer_inputs():
    valid = torch.full((1, 2, 5, 6), 0.5)
    with pytest.raises(TypeError, match="prediction"):
        F.msess(valid.numpy(), valid)
    with pytest.raises(TypeError, match="target"):
        F.cess(valid, valid.long())
    with pytest.raises(TypeError, match="prediction"):
        F.clamp_loss(valid.long())


def test_clamp_loss_checks():
    with pytest.raises(ValueError, match="prediction"):
        F.clamp_loss(torch.tensor([[[0.0, float("inf")]]]))
    for width in (0, -0.1):
        with pytest.raises(ValueError, match="width"):
            F.clamp_loss(torch.zeros(1, 1, 3), width=width)


def test_bad_eps_and_alpha():
    valid = torch.full((1, 2, 5, 6), 0.5)
    with pytest.raises(ValueError, match="eps"):
        F.cess(valid, valid, eps=0.0)
    with pytest.raises(ValueError, match="alpha"):
        F.mse_cess(valid, valid, alpha=-1.0)


def test_module_reduction_checked_at_construction():
    with pytest.raises(ValueError, match="reduction"):
        ss.MSESSLoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction"):
        ss.ClampLoss(reduction="avg")


def test_loss_scalar_options_are_checked():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="eps must be a positive number"):
        F.cess(x, x, eps=0)
    with pytest.raises(ValueError, match="width must be a positive number"):
        F.clamp_loss(x, width=-1)
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        F.mse_cess(x, x, alpha=-1)
    with pytest.raises(ValueError, match="target must have the shape of prediction"):
        F.mse_cess(x, ss.two_phase_from_probability(x))
    with pytest.raises(ValueError, match=r"cutoff 25 is too large for spatial axis 0 of size 8"):
        F.center_crop_cess(x, x)
    with pytest.raises(ValueError, match="reduction must be one of"):
        ss.CESSLoss(reduction="batchmean")


def test_loss_modules_need_exactly_one_target():
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="MSESSLoss needs a target"):
        ss.MSESSLoss()(x)
    with pytest.raises(ValueError, match="built with fixed target_statistics"):
        ss.MSESSLoss.from_target(x)(x, x)


def test_bool_mask_is_a_zero_one_mask():
    fields = ss.two_phase_from_probability(torch.rand(2, 1, 8, 8))
    mask = torch.rand(8, 8) > 0.3
    torch.testing.assert_close(ss.two_point_stats(fields, mask=mask), ss.two_point_stats(fields, mask=mask.float()))


# --- one table of bad inputs across the library (issue 8): error type and the argument named in the message -------

_X = torch.full((2, 1, 8, 8), 0.25)  # a valid single-channel prediction
_ONE_HOT = ss.one_hot_from_labels(torch.arange(128).reshape(2, 8, 8) % 2)
_STATS = ss.two_point_stats(_ONE_HOT, cutoff=2)


def _stats_with(change):
    statistics = _STATS.clone()
    change(statistics)
    return statistics


def _loss_with_statistics(statistics, **options):
    return lambda: F.cess(_ONE_HOT, target_statistics=statistics, **{"cutoff": 2, **options})


def _set(index, value):
    def change(statistics):
        statistics[index] = value

    return change


BAD_INPUTS = {
    # two_point_stats
    "fields-rand-three-phases": (lambda: ss.two_point_stats(torch.rand(2, 3, 16, 16)), ValueError, "fields"),
    "fields-image-without-channel": (lambda: ss.two_point_stats((torch.rand(8, 64, 64) > 0.5).float()), ValueError, "fields"),
    "fields-ones-two-channels": (lambda: ss.two_point_stats(torch.ones(1, 2, 4, 4)), ValueError, "fields"),
    "fields-half-sum": (lambda: ss.two_point_stats(torch.full((1, 2, 4, 4), 0.25)), ValueError, "fields"),
    "fields-complex": (lambda: ss.two_point_stats(torch.ones(1, 1, 4, 4, dtype=torch.complex64)), TypeError, "fields"),
    "periodic-int": (lambda: ss.two_point_stats(_X, periodic=1), TypeError, "periodic"),
    "periodic-string": (lambda: ss.two_point_stats(_X, periodic="no"), TypeError, "periodic"),
    "check_values-none": (lambda: ss.two_point_stats(_X, check_values=None), TypeError, "check_values"),
    "check_values-string": (lambda: ss.two_point_stats(_X, check_values="yes"), TypeError, "check_values"),
    "cutoff-numpy-float": (lambda: ss.two_point_stats(_X, cutoff=np.float64(2.0)), TypeError, "cutoff"),
    "cutoff-empty-tuple": (lambda: ss.two_point_stats(_X, cutoff=()), TypeError, "cutoff"),
    "cutoff-numpy-negative": (lambda: ss.two_point_stats(_X, cutoff=np.int64(-1)), ValueError, "cutoff"),
    "mask-complex": (lambda: ss.two_point_stats(_X, mask=torch.ones(8, 8, dtype=torch.complex64)), TypeError, "mask"),
    "mask-integer-two": (lambda: ss.two_point_stats(_X, mask=torch.full((8, 8), 2)), ValueError, "mask"),
    "mask-integer-negative": (lambda: ss.two_point_stats(_X, mask=-torch.ones(8, 8, dtype=torch.int64)), ValueError, "mask"),
    "pairs-numpy-out-of-range": (lambda: ss.two_point_stats(_X, pairs=[(np.int64(0), np.int64(2))]), ValueError, "pairs"),
    "pairs-float": (lambda: ss.two_point_stats(_X, pairs=[(0.0, 1.0)]), TypeError, "pairs"),
    # field builders
    "num_phases-numpy-one": (lambda: ss.one_hot_from_labels(torch.tensor([[0, 1]]), num_phases=np.int64(1)), ValueError, "num_phases"),
    "num_phases-bool": (lambda: ss.one_hot_from_labels(torch.tensor([[0, 1]]), num_phases=True), TypeError, "num_phases"),
    "labels-list": (lambda: ss.one_hot_from_labels([[0, 1]]), TypeError, "labels"),
    # losses: the prediction and target as fields
    "prediction-ones-like-one-hot": (lambda: F.cess(torch.ones_like(_ONE_HOT), _ONE_HOT), ValueError, "prediction"),
    "prediction-rand-two-channels": (lambda: F.msess(torch.rand(2, 2, 8, 8), _ONE_HOT), ValueError, "prediction"),
    "target-ones-two-channels": (lambda: F.cess(_ONE_HOT, torch.ones_like(_ONE_HOT)), ValueError, "target"),
    "target-scaled-mse-cess": (lambda: F.mse_cess(_ONE_HOT, 0.5 * _ONE_HOT), ValueError, "target"),
    "target-scaled-mse-cess-statistics": (
        lambda: F.mse_cess(_ONE_HOT, 0.5 * _ONE_HOT, target_statistics=ss.two_point_stats(_ONE_HOT)), ValueError, "target"
    ),
    # losses: target_statistics
    "target_statistics-nan": (_loss_with_statistics(_stats_with(_set((0, 0, 0, 1, 1), float("nan")))), ValueError, "target_statistics"),
    "target_statistics-negative": (_loss_with_statistics(_stats_with(_set((0, 0, 1, 1, 1), -0.2))), ValueError, "target_statistics"),
    "target_statistics-above-one": (_loss_with_statistics(_stats_with(_set((0, 1, 1, 2, 2), 1.5))), ValueError, "target_statistics"),
    "target_statistics-scaled": (_loss_with_statistics(_STATS * 5), ValueError, "target_statistics"),
    "target_statistics-halved": (_loss_with_statistics(_STATS / 2), ValueError, "target_statistics"),
    "target_statistics-integer": (_loss_with_statistics(_STATS.round().long()), TypeError, "target_statistics"),
    "target_statistics-non-periodic": (
        _loss_with_statistics(ss.two_point_stats(_ONE_HOT, periodic=False, cutoff=2)), ValueError, "target_statistics"
    ),
    "target_statistics-full-non-periodic": (
        lambda: F.msess(_ONE_HOT, target_statistics=ss.two_point_stats(_ONE_HOT, periodic=False)), ValueError, "target_statistics"
    ),
    "target_statistics-list": (lambda: F.msess(_ONE_HOT, target_statistics=_STATS.tolist(), cutoff=2), TypeError, "target_statistics"),
    # losses: options
    "kl-string": (lambda: F.cess(_X, _X, kl="yes"), TypeError, "kl"),
    "kl-none": (lambda: F.cess(_X, _X, kl=None), TypeError, "kl"),
    "loss-periodic-string": (lambda: F.msess(_X, _X, periodic="false"), TypeError, "periodic"),
    "loss-check_values-none": (lambda: F.msess(_X, _X, check_values=None), TypeError, "check_values"),
    "eps-negative": (lambda: F.cess(_X, _X, eps=-1e-6), ValueError, "eps"),
    "eps-inf": (lambda: F.cess(_X, _X, eps=float("inf")), ValueError, "eps"),
    "eps-string": (lambda: F.cess(_X, _X, eps="1e-6"), TypeError, "eps"),
    "eps-underflows-float32": (lambda: F.cess(_X, _X, eps=1e-46), ValueError, "eps"),
    "eps-underflows-crop": (lambda: F.center_crop_cess(_X, _X, cutoff=2, eps=1e-40), ValueError, "eps"),
    "alpha-nan": (lambda: F.mse_cess(_X, _X, alpha=float("nan")), ValueError, "alpha"),
    "alpha-bool": (lambda: F.mse_cess(_X, _X, alpha=True), TypeError, "alpha"),
    "width-tiny": (lambda: F.clamp_loss(_X, width=1e-200), ValueError, "width"),
    "width-inf": (lambda: F.clamp_loss(_X, width=float("inf")), ValueError, "width"),
    "clamp-check_values-string": (lambda: F.clamp_loss(_X, check_values="no"), TypeError, "check_values"),
    "reduction-none-object": (lambda: F.msess(_X, _X, reduction=None), ValueError, "reduction"),
    # modules: options checked in __init__
    "module-cutoff-negative": (lambda: ss.CESSLoss(cutoff=-1), ValueError, "cutoff"),
    "module-cutoff-float": (lambda: ss.MSESSLoss(cutoff=2.5), TypeError, "cutoff"),
    "module-eps-zero": (lambda: ss.CESSLoss(eps=0), ValueError, "eps"),
    "module-crop-eps-zero": (lambda: ss.CenterCropCESSLoss(eps=0.0), ValueError, "eps"),
    "module-crop-cutoff-negative": (lambda: ss.CenterCropCESSLoss(cutoff=(2, -1)), ValueError, "cutoff"),
    "module-width-zero": (lambda: ss.ClampLoss(width=0), ValueError, "width"),
    "module-alpha-negative": (lambda: ss.MSECESSLoss(alpha=-1), ValueError, "alpha"),
    "module-kl-string": (lambda: ss.CESSLoss(kl="yes"), TypeError, "kl"),
    "module-check_values-none": (lambda: ss.MSESSLoss(check_values=None), TypeError, "check_values"),
    "module-periodic-int": (lambda: ss.MSECESSLoss(periodic=0), TypeError, "periodic"),
    "module-from-target-bad-target": (lambda: ss.CESSLoss.from_target(torch.rand(2, 3, 8, 8)), ValueError, "target"),
    "module-from-target-integer-target": (lambda: ss.MSESSLoss.from_target(torch.ones(2, 1, 8, 8, dtype=torch.int64)), TypeError, "target"),
    "module-from-target-nan": (lambda: ss.CESSLoss.from_target(torch.full((2, 1, 8, 8), float("nan"))), ValueError, "target"),
    # synthetic and reconstruction: the shared validators
    "synthetic-seed-numpy-float": (lambda: ss.synthetic.circles(1, 16, seed=np.float64(1.0)), TypeError, "seed"),
    "synthetic-radius-bool": (lambda: ss.synthetic.circles(1, 16, radius=True), TypeError, "radius"),
    "synthetic-batch-numpy-zero": (lambda: ss.synthetic.circles(np.int64(0), 16), ValueError, "batch"),
    "synthetic-fractions-bool": (lambda: ss.synthetic.gaussian_random_field(1, 16, volume_fractions=True), TypeError, "volume_fractions"),
}


@pytest.mark.parametrize("name", list(BAD_INPUTS))
def test_bad_input_table(name):
    call, error, argument = BAD_INPUTS[name]
    with pytest.raises(error, match=rf"\b{argument}\b"):
        call()


def test_bad_input_table_is_large():
    assert len(BAD_INPUTS) >= 60
