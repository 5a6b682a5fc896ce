"""Per-axis boundaries (``periodic=(True, False, ...)``): the statistics, the offset grid, every loss and module,
the descriptors and the scikit-learn transformer against explicit loops over offsets and placements (the direct
sum of ``conftest.py``), uniform tuples against the bool, gradients by finite differences, and the errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import spatialstats as ss
import spatialstats.functional as F
from spatialstats.descriptors import (
    DescriptorLoss,
    directional_two_point_stats,
    radial_two_point_stats,
    surface_correlations,
)

MIXED = [
    ((5, 6), (True, False), None),
    ((6, 5), (False, True), None),
    ((6, 7), (True, False), (2, 3)),
    ((4, 3, 5), (True, False, True), None),
    ((4, 5, 3), (False, True, False), 1),
]


def two_phase(fields: torch.Tensor) -> np.ndarray:
    """The phases the library reads from a field: one channel ``p`` is ``(1 - p, p)``."""
    array = fields.numpy()
    return np.concatenate([1 - array, array], axis=1) if array.shape[1] == 1 else array


def axis_offsets(shape, periodic, cutoff) -> list[np.ndarray]:
    """Per axis, the offsets of the output layout written out from the rules: ``-c..c``; without a cutoff
    ``fftshift`` order on a periodic axis, ``-(n-1)..n-1`` on a non-periodic one."""
    cutoffs = [cutoff] * len(shape) if cutoff is None or isinstance(cutoff, int) else list(cutoff)
    return [
        np.arange(-c, c + 1) if c is not None else (np.arange(n) - n // 2 if p else np.arange(-(n - 1), n))
        for n, p, c in zip(shape, periodic, cutoffs)
    ]


# --- the statistics -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("phases", [1, 2, 3])
@pytest.mark.parametrize("shape, periodic, cutoff", MIXED)
def test_statistics_equal_the_direct_sum(direct_stats, random_fields, shape, periodic, cutoff, phases):
    fields = random_fields(2, phases, *shape)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)
    expected = direct_stats(two_phase(fields), periodic=periodic, cutoff=cutoff)
    assert stats.shape == expected.shape
    np.testing.assert_allclose(stats.numpy(), expected, atol=1e-13, rtol=0)


@pytest.mark.parametrize("phases", [1, 3])
@pytest.mark.parametrize("shared", [True, False], ids=["shared-mask", "mask-per-sample"])
@pytest.mark.parametrize("shape, periodic, cutoff", [MIXED[0], MIXED[2], MIXED[3]])
def test_masked_statistics_equal_the_direct_sum(direct_stats, random_fields, generator, shape, periodic, cutoff,
                                                phases, shared):
    fields = random_fields(2, phases, *shape)
    mask = torch.rand(*(() if shared else (2,)), *shape, generator=generator, dtype=torch.float64)
    mask[(slice(None),) * (mask.ndim - len(shape)) + (0,)] = 0  # a zero row: weights, not counts, normalise
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff, mask=mask)
    expected = direct_stats(two_phase(fields), periodic=periodic, cutoff=cutoff, mask=mask.numpy())
    np.testing.assert_allclose(stats.numpy(), expected, atol=1e-13, rtol=0)


@pytest.mark.parametrize("phases", [1, 3])
@pytest.mark.parametrize("periodic", [(True, False), (False, True)])
def test_swapped_pairs_on_an_even_full_periodic_axis(direct_stats, random_fields, periodic, phases):
    """The full layout of an even periodic axis is not symmetric: f(h', h | r) = f(h, h' | -r) is not a flip there."""
    fields = random_fields(2, phases, 6, 4)
    pairs = [(1, 0), (0, 1), (1, 1), (0, 0)]
    stats = ss.two_point_stats(fields, periodic=periodic, pairs=pairs)
    expected = direct_stats(two_phase(fields), periodic=periodic)
    np.testing.assert_allclose(stats.numpy(), np.stack([expected[:, h, k] for h, k in pairs], axis=1), atol=1e-13)


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("phases", [1, 2, 3])
@pytest.mark.parametrize("shape, cutoff", [((7,), None), ((6, 5), None), ((6, 5), 2), ((4, 3, 4), (1, 1, 0))])
def test_uniform_tuples_are_exactly_the_bool(random_fields, generator, shape, cutoff, phases, flag):
    fields = random_fields(2, phases, *shape)
    as_tuple = (flag,) * len(shape)
    assert torch.equal(
        ss.two_point_stats(fields, periodic=as_tuple, cutoff=cutoff),
        ss.two_point_stats(fields, periodic=flag, cutoff=cutoff),
    )
    mask = torch.rand(*shape, generator=generator, dtype=torch.float64)
    assert torch.equal(
        ss.two_point_stats(fields, periodic=as_tuple, cutoff=cutoff, mask=mask),
        ss.two_point_stats(fields, periodic=flag, cutoff=cutoff, mask=mask),
    )
    assert [a.tolist() for a in ss.offset_axes(shape, periodic=as_tuple, cutoff=cutoff)] == [
        a.tolist() for a in ss.offset_axes(shape, periodic=flag, cutoff=cutoff)
    ]


def test_float32_and_numpy_bools(random_fields):
    fields = random_fields(2, 1, 8, 6, dtype=torch.float32)
    mixed = ss.two_point_stats(fields, periodic=(np.bool_(True), np.bool_(False)), cutoff=2)
    reference = ss.two_point_stats(fields.double(), periodic=[True, False], cutoff=2)
    assert mixed.dtype == torch.float32
    torch.testing.assert_close(mixed.double(), reference, atol=1e-6, rtol=0)


def test_cutoff_limits_follow_each_axis(random_fields):
    fields = random_fields(1, 1, 7, 7)
    assert ss.two_point_stats(fields, periodic=(True, False), cutoff=(3, 6)).shape[-2:] == (7, 13)
    with pytest.raises(ValueError, match=r"cutoff 4 is too large for spatial axis 0 of size 7: a periodic axis"):
        ss.two_point_stats(fields, periodic=(True, False), cutoff=4)
    with pytest.raises(ValueError, match=r"cutoff 7 is too large for spatial axis 1 of size 7: a non-periodic axis"):
        ss.two_point_stats(fields, periodic=(True, False), cutoff=(3, 7))


# --- the offset grid ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, periodic, cutoff", MIXED)
def test_offset_grid_indexes_the_statistics(random_fields, shape, periodic, cutoff):
    """At every index, the grid's r with explicit loops over placements (wrapping only the periodic axes) gives the
    statistic stored there: pins the layout without the library's own bookkeeping."""
    fields = random_fields(1, 2, *shape)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)[0, 0, 1].numpy()
    grid = ss.offset_grid(shape, periodic=periodic, cutoff=cutoff)
    assert grid.shape == (len(shape), *stats.shape)
    expected_axes = axis_offsets(shape, periodic, cutoff)
    assert [a.tolist() for a in ss.offset_axes(shape, periodic=periodic, cutoff=cutoff)] == [
        a.tolist() for a in expected_axes
    ]
    m0, m1 = fields[0, 0].numpy(), fields[0, 1].numpy()
    for index in np.ndindex(*stats.shape):
        r = grid[(slice(None), *index)].numpy()
        total, count = 0.0, 0
        for x in np.ndindex(*shape):
            end = [(a + b) % n if p else a + b for a, b, n, p in zip(x, r, shape, periodic)]
            if all(0 <= e < n for e, n in zip(end, shape)):
                total += m0[x] * m1[tuple(end)]
                count += 1
        assert stats[index] == pytest.approx(total / count, abs=1e-12)


# --- the losses -----------------------------------------------------------------------------------------------------


def cumulative_l1(difference: np.ndarray) -> np.ndarray:
    """TSS's transport term of ``(batch, P, P, a, b)`` by hand: both orthant orders of a 2-D window."""
    window = difference.shape[3] * difference.shape[4]
    total = 0.0
    for flipped in (difference, difference[..., ::-1]):
        cumulative = flipped.cumsum(axis=3).cumsum(axis=4)
        total = total + np.abs(cumulative).sum(axis=(1, 2)).reshape(len(difference), -1).mean(axis=1)
    return total / (2 * window)


def hand_losses(predicted: np.ndarray, target: np.ndarray, prediction: np.ndarray, target_fields: np.ndarray,
                eps: float, alpha: float) -> dict[str, np.ndarray]:
    """Per-sample losses written out from their definitions on direct-sum statistics."""
    def mean(values):
        return values.sum(axis=(1, 2)).reshape(len(values), -1).mean(axis=1)

    cess = -mean(target * np.log(np.maximum(predicted, 0) + eps))
    pair_mass = target.reshape(*target.shape[:3], -1).mean(axis=3)[..., None, None]
    return {
        "msess": mean((predicted - target) ** 2),
        "cess": cess,
        "kl": cess + mean(target * np.log(target + eps)),
        "mse_cess": alpha * ((prediction - target_fields) ** 2).reshape(len(prediction), -1).mean(axis=1) + cess,
        "transport": cumulative_l1((predicted - target) / (pair_mass + eps)),
    }


LOSSES = {
    "msess": (F.msess, ss.MSESSLoss, {}),
    "cess": (F.cess, ss.CESSLoss, {}),
    "kl": (F.cess, ss.CESSLoss, {"kl": True}),
    "mse_cess": (F.mse_cess, ss.MSECESSLoss, {"alpha": 0.7}),
    "transport": (F.transport_ss, ss.TransportSSLoss, {}),
}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("phases", [1, 2])
@pytest.mark.parametrize("periodic, cutoff", [((True, False), None), ((False, True), (1, 2))])
def test_losses_and_modules_equal_the_loss_of_direct_statistics(direct_stats, random_fields, generator, name,
                                                                 phases, periodic, cutoff):
    function, module, options = LOSSES[name]
    prediction = random_fields(3, phases, 6, 5)
    target = random_fields(3, phases, 6, 5)
    predicted = direct_stats(two_phase(prediction), periodic=periodic, cutoff=cutoff)
    expected = direct_stats(two_phase(target), periodic=periodic, cutoff=cutoff)
    hand = hand_losses(predicted, expected, prediction.numpy(), target.numpy(), 1e-6, 0.7)[name]
    kwargs = dict(periodic=periodic, cutoff=cutoff, reduction="none", **options)
    np.testing.assert_allclose(function(prediction, target, **kwargs).numpy(), hand, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(module(**kwargs)(prediction, target).numpy(), hand, rtol=1e-10, atol=1e-13)
    if name != "mse_cess":  # the fixed-target forms; the marginal check must accept mixed-boundary statistics
        given = function(prediction, target_statistics=torch.from_numpy(expected), **kwargs)
        np.testing.assert_allclose(given.numpy(), hand, rtol=1e-10, atol=1e-13)
        fixed = module.from_target(target, **kwargs)
        assert fixed.periodic == periodic
        np.testing.assert_allclose(fixed(prediction).numpy(), hand, rtol=1e-10, atol=1e-13)


def test_center_crop_cess_with_mixed_boundaries(direct_stats, random_fields):
    prediction, target = random_fields(2, 1, 7, 6), random_fields(2, 1, 7, 6)
    periodic = (False, True)
    predicted = direct_stats(two_phase(prediction), periodic=periodic, cutoff=2)
    expected = direct_stats(two_phase(target), periodic=periodic, cutoff=2)
    hand = hand_losses(predicted, expected, prediction.numpy(), target.numpy(), 1e-6, 0.0)["cess"]
    kwargs = dict(periodic=periodic, cutoff=2, reduction="none")
    np.testing.assert_allclose(F.center_crop_cess(prediction, target, **kwargs).numpy(), hand, rtol=1e-10)
    np.testing.assert_allclose(ss.CenterCropCESSLoss(**kwargs)(prediction, target).numpy(), hand, rtol=1e-10)


@pytest.mark.parametrize("flag", [True, False])
@pytest.mark.parametrize("name", ["msess", "cess", "kl"])
def test_uniform_tuples_take_the_bool_path_of_the_losses(random_fields, name, flag):
    function, _, options = LOSSES[name]
    prediction, target = random_fields(2, 1, 8, 6), random_fields(2, 1, 8, 6)
    for cutoff in (None, 2):
        as_tuple = function(prediction, target, periodic=(flag, flag), cutoff=cutoff, **options)
        assert torch.equal(as_tuple, function(prediction, target, periodic=flag, cutoff=cutoff, **options))


def test_statistics_check_still_refuses_non_periodic_statistics_for_periodic_tuples(random_fields):
    prediction, target = random_fields(1, 1, 9, 9), random_fields(1, 1, 9, 9)
    non_periodic = ss.two_point_stats(target, periodic=False, cutoff=2)
    with pytest.raises(ValueError, match="target_statistics look non-periodic"):
        F.cess(prediction, target_statistics=non_periodic, periodic=(True, True), cutoff=2)
    mixed = ss.two_point_stats(target, periodic=(True, False), cutoff=2)  # accepted: its marginals may vary
    assert torch.isfinite(F.cess(prediction, target_statistics=mixed, periodic=(True, False), cutoff=2))


@pytest.mark.parametrize("phases", [1, 2])
def test_gradcheck_of_losses_with_mixed_boundaries(generator, phases):
    prediction = 0.1 + 0.8 * torch.rand(2, phases, 5, 4, generator=generator, dtype=torch.float64)
    target = 0.1 + 0.8 * torch.rand(2, phases, 5, 4, generator=generator, dtype=torch.float64)
    if phases > 1:
        prediction, target = prediction / prediction.sum(1, keepdim=True), target / target.sum(1, keepdim=True)
    options = dict(periodic=(True, False), reduction="none")
    assert torch.autograd.gradcheck(lambda p: F.cess(p, target, **options), (prediction.requires_grad_(),))
    assert torch.autograd.gradcheck(lambda p: F.msess(p, target, cutoff=(1, 2), **options), (prediction,))
    assert torch.autograd.gradcheck(
        lambda p: ss.two_point_stats(p, periodic=(False, True), cutoff=(3, 1)), (prediction,)
    )


# --- the descriptors ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, periodic, cutoff", [MIXED[0], MIXED[2], MIXED[3]])
def test_radial_equals_hand_binning_of_the_direct_sum(direct_stats, random_fields, shape, periodic, cutoff):
    fields = random_fields(2, 2, *shape)
    edges = [0.0, 0.5, 1.0, 1.5, 2.2, 3.0]
    values, radii = radial_two_point_stats(fields, bins=edges, periodic=periodic, cutoff=cutoff)
    direct = direct_stats(fields.numpy(), periodic=periodic, cutoff=cutoff)
    offsets = list(itertools.product(*axis_offsets(shape, periodic, cutoff)))
    flat = direct.reshape(*direct.shape[:3], -1)
    for k in range(len(edges) - 1):
        members = [j for j, r in enumerate(offsets) if edges[k] <= math.sqrt(sum(c * c for c in r)) < edges[k + 1]]
        expected = flat[..., members].mean(axis=-1) if members else np.zeros(direct.shape[:3])
        np.testing.assert_allclose(values[..., k].numpy(), expected, atol=1e-13, rtol=0)
    np.testing.assert_allclose(radii.numpy(), [0.25, 0.75, 1.25, 1.85, 2.6])


@pytest.mark.parametrize("shape, periodic", [((6, 7), (True, False)), ((5, 4, 6), (False, True, True))])
def test_directional_lines_take_their_axis_boundary(direct_stats, random_fields, shape, periodic):
    fields = random_fields(2, 3, *shape)
    profile = directional_two_point_stats(fields, periodic=periodic, cutoff=1)
    direct = direct_stats(fields.numpy(), periodic=periodic, cutoff=1)
    for axis in range(len(shape)):
        line = tuple(slice(None) if d == axis else 1 for d in range(len(shape)))
        np.testing.assert_allclose(profile[:, :, :, axis].numpy(), direct[(slice(None),) * 3 + line], atol=1e-13)
    # the default cutoff is the largest every axis allows: (6 - 1) // 2 on the periodic axis of 6
    assert directional_two_point_stats(fields, periodic=periodic).shape[-1] == 2 * min(
        (n - 1) // 2 if p else n - 1 for n, p in zip(shape, periodic)
    ) + 1


def test_descriptor_loss_with_mixed_boundaries(random_fields):
    target, fields = random_fields(1, 1, 8, 7), random_fields(2, 1, 8, 7)
    periodic = (True, False)
    loss = DescriptorLoss.from_target(target, weights={"two_point": 1.0, "radial": 2.0}, periodic=periodic, cutoff=2)
    s2 = ss.two_point_stats(fields, periodic=periodic, cutoff=2).flatten(1)
    s2_target = ss.two_point_stats(target, periodic=periodic, cutoff=2).flatten(1)
    radial = radial_two_point_stats(fields, periodic=periodic, cutoff=2)[0].flatten(1)
    radial_target = radial_two_point_stats(target, periodic=periodic, cutoff=2)[0].flatten(1)
    expected = (s2 - s2_target).square().mean(1) + 2 * (radial - radial_target).square().mean(1)
    torch.testing.assert_close(loss(fields), expected, rtol=1e-12, atol=0)


# --- scikit-learn ---------------------------------------------------------------------------------------------------


def test_sklearn_transformer_takes_periodic_axes(direct_stats, random_fields):
    pytest.importorskip("sklearn")
    from spatialstats.sklearn import TwoPointCorrelation

    fields = random_fields(3, 2, 7, 6)
    data = fields.movedim(1, -1).numpy()
    result = TwoPointCorrelation(correlations=[(0, 1), (1, 1)], periodic_boundary=(False, True), cutoff=2).transform(data)
    direct = direct_stats(fields.numpy(), periodic=(False, True), cutoff=2)
    np.testing.assert_allclose(result, np.stack([direct[:, 0, 1], direct[:, 1, 1]], axis=-1), atol=1e-13)
    with pytest.raises(ValueError, match="periodic_boundary must give one bool per spatial axis"):
        TwoPointCorrelation(periodic_boundary=(True,), cutoff=2).transform(data)


# --- errors ---------------------------------------------------------------------------------------------------------


BAD = [
    ((True, False, True), ValueError, r"periodic must give one bool per spatial axis \(2\), got 3 values"),
    ((True,), ValueError, r"periodic must give one bool per spatial axis \(2\), got 1 values"),
    ((1, 0), TypeError, r"periodic must be a bool or a sequence of bools .*got \(1, 0\)"),
    ((), TypeError, r"periodic must be a bool or a sequence of bools"),
    ("TF", TypeError, r"periodic must be a bool or a sequence of bools"),
    (None, TypeError, r"periodic must be a bool or a sequence of bools"),
]


@pytest.mark.parametrize("periodic, error, match", BAD)
def test_bad_periodic_is_named_everywhere(random_fields, periodic, error, match):
    fields = random_fields(1, 1, 6, 5)
    calls = [
        lambda: ss.two_point_stats(fields, periodic=periodic),
        lambda: ss.offset_grid((6, 5), periodic=periodic),
        lambda: F.cess(fields, fields, periodic=periodic),
        lambda: F.transport_ss(fields, fields, periodic=periodic),
        lambda: ss.CESSLoss.from_target(fields, periodic=periodic),
        lambda: radial_two_point_stats(fields, periodic=periodic),
        lambda: directional_two_point_stats(fields, periodic=periodic),
        lambda: surface_correlations(fields, periodic=periodic),
    ]
    for call in calls:
        with pytest.raises(error, match=match):
            call()


def test_modules_refuse_non_bools_at_construction():
    with pytest.raises(TypeError, match="periodic must be a bool or a sequence of bools"):
        ss.MSESSLoss(periodic=(True, "no"))
    with pytest.raises(TypeError, match="periodic must be a bool or a sequence of bools"):
        DescriptorLoss({"two_point": torch.zeros(1, 1)}, weights={"two_point": 1.0}, periodic=[0, 1])


def test_slice_reconstruction_keeps_one_boundary_flag():
    """Slices and volume share one boundary flag: a tuple is refused up front (``reconstruct`` takes per-axis
    tuples: tests/test_reconstruction.py)."""
    from spatialstats.reconstruction import reconstruct_from_slices

    target = torch.zeros(1, 1, 8, 8)
    target[..., 2:5, 2:5] = 1
    with pytest.raises(TypeError, match="periodic must be a bool"):
        reconstruct_from_slices(target, shape=(8, 8, 8), periodic=(True, False), steps=1, progress=False)


@pytest.mark.parametrize("phases", [1, pytest.param(3, marks=pytest.mark.slow)])  # each compile takes seconds
def test_compiled_graph_equals_eager_with_mixed_boundaries(random_fields, phases):
    """With check_values=False a mixed tuple traces into one graph (nothing read on the host), values and gradients
    equal to eager."""
    fields = random_fields(2, phases, 6, 5).requires_grad_(True)
    target = random_fields(2, phases, 6, 5)

    def function(f):
        stats = ss.two_point_stats(f, periodic=(True, False), check_values=False)
        return stats.sum() + F.cess(f, target, periodic=(False, True), cutoff=(2, 1), check_values=False)

    torch._dynamo.reset()
    compiled = torch.compile(function, fullgraph=True, backend="aot_eager")
    eager_value = function(fields)
    (eager_gradient,) = torch.autograd.grad(eager_value, fields)
    value = compiled(fields)
    (gradient,) = torch.autograd.grad(value, fields)
    torch.testing.assert_close((value, gradient), (eager_value, eager_gradient), rtol=1e-10, atol=1e-12)
