"""Gradient-descent reconstruction: convergence on a small circles target, batching, seeds and argument errors."""

import math

import pytest
import torch

import spatialstats as ss
from spatialstats.reconstruction import reconstruct, statistics_error


def periodic_disks(size: int, centres: list[tuple[int, int]], radius: int) -> torch.Tensor:
    """Phase-1 indicator ``(1, 1, size, size)`` of periodic disks (a small stand-in for the circles generator)."""
    rows = torch.arange(size)
    result = torch.zeros(size, size)
    for row, column in centres:
        dy = (rows[:, None] - row + size // 2) % size - size // 2
        dx = (rows[None, :] - column + size // 2) % size - size // 2
        result[dy * dy + dx * dx <= radius * radius] = 1.0
    return result[None, None]


@pytest.fixture(scope="module")
def circles_target() -> torch.Tensor:
    return periodic_disks(64, [(10, 12), (40, 20), (25, 50), (55, 45), (8, 35)], 8)


def test_cess_reconstruction_matches_statistics(circles_target):
    result = reconstruct(circles_target, loss="cess", lr=0.1, steps=300, progress=False)
    # Measured 5.6e-3 (seed 0, 300 steps; 4.1e-3 after 600). Binarized uniform noise scores 0.19 and a random
    # field with the target's volume fraction 0.032, so 1e-2 means the morphology (not just the volume fraction)
    # was matched, with a margin for platform rounding.
    assert result.statistics_error.item() < 1e-2
    assert result.loss_history.shape == (300, 1)
    assert result.loss_history[-1, 0] < result.loss_history[0, 0]
    volume_fraction = circles_target.mean().item()
    assert abs(result.one_hot[:, 1].mean().item() - volume_fraction) < 0.01


def test_statistics_error_is_zero_for_the_target_and_matches_definition(circles_target):
    statistics = ss.two_point_stats(circles_target.double())
    labels = circles_target[:, 0].long()
    assert statistics_error(labels, statistics).item() < 1e-12
    shifted = torch.roll(labels, 3, dims=-1)  # periodic shift: same statistics
    assert statistics_error(shifted, statistics).item() < 1e-12
    empty = torch.zeros_like(labels)
    by_hand = (ss.two_point_stats(ss.one_hot_from_labels(empty, 2).double()) - statistics).square().mean().sqrt()
    assert statistics_error(empty, statistics).item() == pytest.approx(by_hand.item(), rel=1e-12)


def test_clamp_loss_binarizes_the_soft_field(circles_target):
    plain = reconstruct(circles_target, loss="cess", lr=0.1, steps=120, clamp_weight=0.0, progress=False)
    clamped = reconstruct(circles_target, loss="cess", lr=0.1, steps=120, clamp_weight=0.1, clamp_delay=0.5, progress=False)
    grey_plain = ((plain.field[:, 1] > 0.2) & (plain.field[:, 1] < 0.8)).float().mean().item()
    grey_clamped = ((clamped.field[:, 1] > 0.2) & (clamped.field[:, 1] < 0.8)).float().mean().item()
    assert grey_clamped < 0.01 < grey_plain


def test_batched_equals_per_target_calls(circles_target):
    second = torch.roll(circles_target.flip(-1), 7, dims=-2) * 0.0 + periodic_disks(64, [(30, 30)], 12)
    targets = torch.cat([circles_target, second])
    options = dict(loss="msess", lr=0.05, steps=25, num_samples=2, progress=False, seed=3)
    batched = reconstruct(targets, **options)
    assert batched.field.shape == (4, 2, 64, 64)
    for index in range(2):
        single = reconstruct(targets[index : index + 1], **options)
        torch.testing.assert_close(batched.field[2 * index : 2 * index + 2], single.field, atol=1e-5, rtol=0)
        torch.testing.assert_close(batched.loss_history[:, 2 * index : 2 * index + 2], single.loss_history, atol=1e-6, rtol=1e-4)


def test_seeds_are_reproducible_and_distinct(circles_target):
    options = dict(loss="cess", steps=5, progress=False, parameterization="logits", lr=0.1)
    first = reconstruct(circles_target, seed=4, **options)
    again = reconstruct(circles_target, seed=4, **options)
    other = reconstruct(circles_target, seed=5, **options)
    assert torch.equal(first.field, again.field)
    assert not torch.allclose(first.field, other.field)
    pair = reconstruct(circles_target, seed=4, num_samples=2, **options)
    torch.testing.assert_close(pair.field[:1], first.field)
    torch.testing.assert_close(pair.field[1:], other.field)


def test_target_statistics_and_shape_give_the_same_result(circles_target):
    statistics = ss.two_point_stats(circles_target, cutoff=10)
    options = dict(loss="center_crop_cess", cutoff=10, steps=10, progress=False)
    from_field = reconstruct(circles_target, **options)
    from_statistics = reconstruct(target_statistics=statistics, shape=(64, 64), **options)
    torch.testing.assert_close(from_field.field, from_statistics.field)
    assert from_statistics.target_statistics.shape == (1, 2, 2, 21, 21)


def test_three_phases_non_periodic_and_3d_run():
    labels = torch.zeros(1, 12, 12, dtype=torch.long)
    labels[:, :4] = 1
    labels[:, 8:, 6:] = 2
    three = reconstruct(ss.one_hot_from_labels(labels), loss="cess", steps=30, lr=0.05, periodic=False, progress=False)
    assert three.field.shape == (1, 3, 12, 12) and three.labels.max() <= 2
    torch.testing.assert_close(three.field.sum(dim=1), torch.ones(1, 12, 12))
    cube = torch.zeros(1, 1, 8, 8, 8)
    cube[..., 2:5, 2:5, 2:5] = 1
    volume = reconstruct(cube, loss="msess", steps=5, parameterization="logits", progress=False)
    assert volume.labels.shape == (1, 8, 8, 8)


def test_early_stopping_and_callback(circles_target):
    seen = []
    result = reconstruct(
        circles_target, loss="cess", steps=400, lr=0.1, tolerance=1e-3, patience=10, progress=False,
        callback=lambda step, losses, field: seen.append((step, field.shape)),
    )
    assert result.converged.all() and result.steps_run < 400
    assert len(seen) == result.steps_run and seen[0] == (0, (1, 2, 64, 64))
    stopped = reconstruct(circles_target, steps=50, progress=False, callback=lambda step, losses, field: step == 4)
    assert stopped.steps_run == 5


def test_optimizer_factory(circles_target):
    result = reconstruct(
        circles_target, steps=3, progress=False, optimizer=lambda params: torch.optim.SGD(params, lr=0.0)
    )
    start = reconstruct(circles_target, steps=1, lr=1e-30, progress=False)
    torch.testing.assert_close(result.field, start.field)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(loss="wasserstein"), ValueError, "loss must be one of"),
        (dict(steps=0), ValueError, "steps must be > 0"),
        (dict(steps=2.5), TypeError, "steps must be an int"),
        (dict(num_samples=0), ValueError, "num_samples"),
        (dict(parameterization="tanh"), ValueError, "parameterization"),
        (dict(cutoff=40), ValueError, "cutoff 40 is too large"),
        (dict(lr=-1.0), ValueError, "lr must be"),
        (dict(clamp_weight=-0.1), ValueError, "clamp_weight"),
        (dict(clamp_delay=1.0), ValueError, "clamp_delay"),
        (dict(optimizer="adam"), TypeError, "optimizer must be"),
        (dict(shape=(64, 64)), ValueError, "shape is only used"),
    ],
)
def test_bad_arguments_raise(circles_target, kwargs, error, message):
    with pytest.raises(error, match=message):
        reconstruct(circles_target, progress=False, **kwargs)


def test_bad_targets_raise(circles_target):
    with pytest.raises(ValueError, match="exactly one of target"):
        reconstruct(progress=False)
    with pytest.raises(ValueError, match="shape .* is required"):
        reconstruct(target_statistics=ss.two_point_stats(circles_target), progress=False)
    with pytest.raises(ValueError, match="target_statistics must have shape"):
        reconstruct(target_statistics=ss.two_point_stats(circles_target), shape=(32, 32), progress=False)
    with pytest.raises(TypeError, match="floating-point"):
        reconstruct(circles_target.long(), progress=False)
    with pytest.raises(ValueError, match="target must have shape"):
        reconstruct(circles_target[0, 0], progress=False)


def test_custom_loss_matches_the_named_loss(circles_target):
    statistics = ss.two_point_stats(circles_target.double(), cutoff=8)
    seen = []

    def custom(fields):
        seen.append(fields.shape)
        return ss.functional.msess(fields, target_statistics=statistics, cutoff=8, reduction="none")

    options = dict(steps=15, lr=0.05, cutoff=8, progress=False, clamp_weight=0.1, clamp_delay=0.5)
    named = reconstruct(circles_target.double(), loss="msess", **options)
    own = reconstruct(circles_target.double(), loss=custom, **options)
    assert seen[0] == (1, 2, 64, 64)  # all phase channels
    torch.testing.assert_close(own.field, named.field)
    torch.testing.assert_close(own.loss_history, named.loss_history)


@pytest.mark.parametrize("returned", [lambda f: f.sum(), lambda f: f.flatten(1).mean(1)[:, None], lambda f: 1.0])
def test_custom_loss_must_return_one_value_per_sample(circles_target, returned):
    with pytest.raises(ValueError, match=r"loss must return one value per reconstruction, shape \(1,\)"):
        reconstruct(circles_target, loss=returned, steps=2, progress=False)


def test_lbfgs_batched_equals_per_target_and_is_seeded(circles_target):
    second = periodic_disks(64, [(30, 30)], 12)
    targets = torch.cat([circles_target, second]).double()
    options = dict(loss="msess", cutoff=10, optimizer=torch.optim.LBFGS, lr=1.0, parameterization="logits",
                   clamp_weight=0.0, steps=15, num_samples=2, progress=False, seed=1)
    batched = reconstruct(targets, **options)
    for index in range(2):
        single = reconstruct(targets[index : index + 1], **options)
        torch.testing.assert_close(batched.field[2 * index : 2 * index + 2], single.field)
    again = reconstruct(targets[:1], **{**options, "num_samples": 1})
    torch.testing.assert_close(again.field, batched.field[:1])
    history = batched.loss_history
    assert history.shape == (15, 4) and bool((history[-1] < 0.2 * history[0]).all())


def test_lbfgs_with_tolerance_stops_and_custom_loss_per_reconstruction(circles_target):
    statistics = ss.two_point_stats(circles_target.double(), cutoff=8)

    def custom(fields):
        return ss.functional.msess(fields, target_statistics=statistics, cutoff=8, reduction="none")

    options = dict(optimizer=torch.optim.LBFGS, lr=1.0, parameterization="logits", clamp_weight=0.0, cutoff=8,
                   progress=False)
    target = circles_target.double()
    named = reconstruct(target, loss="msess", steps=8, num_samples=2, **options)
    own = reconstruct(target, loss=custom, steps=8, num_samples=2, **options)
    torch.testing.assert_close(own.field, named.field)
    stopped = reconstruct(target, loss="msess", steps=500, tolerance=1e-3, patience=5, **options)
    assert stopped.converged.all() and stopped.steps_run < 50


def test_result_carries_morphology_reports(circles_target):
    result = reconstruct(circles_target, steps=20, num_samples=2, progress=False)
    reference = ss.reconstruction.morphology(result.labels, 2)
    torch.testing.assert_close(result.morphology.interface_density, reference.interface_density)
    assert result.target_morphology.component_counts.tolist() == [[1, 5], [1, 5]]
    from_statistics = reconstruct(target_statistics=ss.two_point_stats(circles_target), shape=(64, 64), steps=2,
                                  progress=False)
    assert from_statistics.target_morphology is None and from_statistics.morphology is not None


def labelled_disks(size: int, disks: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Label map ``(1, size, size)`` of periodic disks given as ``(row, column, radius, phase)``."""
    rows = torch.arange(size)
    labels = torch.zeros(1, size, size, dtype=torch.long)
    for row, column, radius, phase in disks:
        dy = (rows[:, None] - row + size // 2) % size - size // 2
        dx = (rows[None, :] - column + size // 2) % size - size // 2
        labels[0][dy * dy + dx * dx <= radius * radius] = phase
    return labels


def assert_faithful(labels: torch.Tensor, max_error: float) -> None:
    result = reconstruct(ss.one_hot_from_labels(labels).double(), progress=False)
    mine, target = result.morphology, result.target_morphology
    ratio = (mine.total_interface_density / target.total_interface_density).item()
    assert abs(ratio - 1) <= 0.15, ratio
    assert bool((mine.component_counts <= 1.5 * target.component_counts).all()), (mine.component_counts, target.component_counts)
    assert result.statistics_error.item() <= max_error


@pytest.mark.slow
def test_defaults_are_faithful_on_two_phase_disks():
    # Four disks of radius 13 on 128 x 128 (the acceptance case of issue 10 has radius 14 at other places).
    labels = labelled_disks(128, [(20, 30, 13, 1), (70, 100, 13, 1), (100, 40, 13, 1), (45, 70, 13, 1)])
    assert_faithful(labels, 2e-3)


@pytest.mark.slow
def test_defaults_are_faithful_on_three_phase_disks():
    # Measured 1.7e-4, interface 0.97x, components [1, 4, 6] as the target's; without the fine level's smoothing
    # (smoothing=0, the previous default) 1.2e-3 but 11 components for 4 large disks (spurious specks).
    large = [(15, 20, 11, 1), (60, 75, 11, 1), (75, 25, 11, 1), (25, 65, 11, 1)]
    small = [(48, 8, 5, 2), (45, 45, 5, 2), (88, 55, 5, 2), (8, 88, 5, 2), (60, 40, 4, 2), (35, 90, 4, 2)]
    assert_faithful(labelled_disks(96, large + small), 7e-3)


@pytest.mark.slow
def test_defaults_are_faithful_on_three_phase_disks_of_an_unlucky_seed():
    # tune_defaults.py seed 22: a single coarse start (coarse_starts=1, the previous default) lands in a wrong
    # arrangement (error 4.1e-3, interface 1.66x, components [12, 18, 54] for [1, 4, 10]); the default's best of 4
    # coarse starts gives the target's components.
    large = [(53, 4, 12, 1), (4, 38, 12, 1), (20, 72, 12, 1), (95, 4, 12, 1)]
    small = [(78, 60, 4, 2), (39, 34, 4, 2), (69, 15, 4, 2), (66, 61, 4, 2), (70, 25, 4, 2), (39, 55, 4, 2),
             (78, 10, 4, 2), (87, 73, 4, 2), (13, 20, 4, 2), (29, 17, 4, 2)]
    assert_faithful(labelled_disks(96, large + small), 7e-3)


@pytest.mark.parametrize(
    ("levels", "parameterization", "phases", "has_target", "shape", "expected"),
    [
        (None, None, 2, True, (32, 32), (1, "clip", "clip")),
        (None, None, 3, True, (32, 32), (2, "logits", "clip")),
        (None, None, 3, True, (32, 33), (1, "clip", "clip")),
        (None, None, 3, False, (32, 32), (1, "clip", "clip")),
        (None, "clip", 3, True, (32, 32), (2, "clip", "clip")),
        (3, None, 4, True, (32, 32), (3, "logits", "clip")),
        (1, None, 3, True, (32, 32), (1, "clip", "clip")),
    ],
)
def test_default_schedule_rule(levels, parameterization, phases, has_target, shape, expected):
    from spatialstats.reconstruction.reconstruct import _default_schedule

    assert _default_schedule(levels, parameterization, phases, has_target, shape) == expected


def test_three_phase_default_is_coarse_clip_then_fine_logits():
    labels = labelled_disks(16, [(4, 4, 3, 1), (11, 10, 2, 2)])
    target = ss.one_hot_from_labels(labels).double()
    options = dict(steps=6, seed=3, progress=False)
    default = reconstruct(target, **options, coarse_starts=1)
    coarse = reconstruct(
        torch.nn.functional.avg_pool2d(target, 2), levels=1, parameterization="clip", **{**options, "steps": 3}
    )
    first_step = []
    # (smoothing=0: the callback's field is otherwise the blurred one the objective sees, see the smoothing tests)
    reconstruct(target, **options, smoothing=0.0, coarse_starts=1,
                callback=lambda step, losses, field: first_step.append(field) if step == 0 else None)
    assert default.field.shape == (1, 3, 16, 16)
    # The fine level starts from the clipped coarse field: after one logits step it is still close to it.
    upsampled = coarse.field.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    assert (first_step[0] - upsampled).abs().max().item() < 0.1
    for explicit in ("clip", "logits"):  # neither parameterization on both levels
        other = reconstruct(target, levels=2, parameterization=explicit, coarse_starts=1, **options)
        assert (other.field - default.field).abs().max().item() > 1e-3
    two_phase = periodic_disks(16, [(8, 8)], 5).double()
    torch.testing.assert_close(
        reconstruct(two_phase, **options).field, reconstruct(two_phase, levels=1, parameterization="clip", **options).field
    )


def test_multigrid_batched_equals_per_target_and_starts_from_the_coarse_field():
    targets = torch.cat([periodic_disks(32, [(8, 8), (20, 24)], 5), periodic_disks(32, [(16, 16)], 7)]).double()
    options = dict(levels=2, loss="msess", steps=20, lr=0.05, clamp_weight=0.0, num_samples=2, seed=2, progress=False)
    batched = reconstruct(targets, **options)
    for index in range(2):
        single = reconstruct(targets[index : index + 1], **options)
        torch.testing.assert_close(batched.field[2 * index : 2 * index + 2], single.field, atol=1e-5, rtol=0)
    coarse = reconstruct(torch.nn.functional.avg_pool2d(targets[:1], 2), steps=20, lr=0.1, seed=2, progress=False)
    first_step = []
    reconstruct(targets[:1], levels=2, steps=40, lr=0.1, seed=2, progress=False,
                callback=lambda step, losses, field: first_step.append(losses) if step == 0 else None)
    upsampled = coarse.field.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
    expected = ss.functional.cess(upsampled, target_statistics=ss.two_point_stats(targets[:1]))
    torch.testing.assert_close(first_step[0], expected[None], rtol=1e-6, atol=0)  # the fine level starts there
    start = reconstruct(targets[:1], steps=1, lr=1e-30, seed=2, progress=False)
    assert first_step[0].item() < start.loss_history[0].item()
    assert coarse.field.shape == (1, 2, 16, 16)


@pytest.mark.parametrize(
    ("phases", "parameterization", "given", "expected"),
    [(2, "clip", None, 0.0), (2, "logits", None, 0.0), (3, "clip", None, 0.0), (3, "logits", None, 1.0),
     (4, "logits", None, 1.0), (2, "clip", 2.5, 2.5), (3, "logits", 0.0, 0.0)],
)
def test_default_smoothing_rule(phases, parameterization, given, expected):
    from spatialstats.reconstruction.reconstruct import _default_smoothing

    assert _default_smoothing(given, phases, parameterization) == expected


def test_gaussian_blur_is_a_normalised_convolution():
    from spatialstats.reconstruction._engine import gaussian_blur

    values = torch.rand(2, 3, 10, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert gaussian_blur(values, 0.0, True) is values
    weights = torch.exp(-0.5 * torch.arange(-3.0, 4.0, dtype=torch.float64) ** 2)
    weights = weights / weights.sum()
    shifts = [(i, j) for i in range(-3, 4) for j in range(-3, 4)]
    brute = sum(weights[i + 3] * weights[j + 3] * values.roll((i, j), (2, 3)) for i, j in shifts)
    torch.testing.assert_close(gaussian_blur(values, 1.0, True), brute, rtol=0, atol=1e-14)
    # Not periodic: edges repeat (a constant field stays constant, a step stays monotone and inside its range).
    edge = torch.zeros(1, 1, 1, 9, dtype=torch.float64)
    edge[..., 5:] = 1.0
    blurred = gaussian_blur(edge, 1.0, False)[0, 0, 0]
    assert blurred[0] == 0.0 and blurred[-1].item() == pytest.approx(1.0, abs=1e-15)
    assert bool((blurred.diff() >= 0).all())
    torch.testing.assert_close(blurred[4], weights[4:].sum(), rtol=0, atol=1e-15)  # pixel 4: the weights of 5..7
    # Per axis in 3D; a 1-pixel axis is left alone.
    volume = torch.rand(1, 2, 5, 1, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    blurred = gaussian_blur(volume, 0.8, (True, True, False))
    along_last = gaussian_blur(volume.sum(dim=(2, 3), keepdim=True), 0.8, False)[:, :, 0, 0]
    torch.testing.assert_close(blurred.sum(dim=(2, 3)), along_last)  # periodic axes keep sums, the third blurs alone
    phases_summed = gaussian_blur(volume.sum(dim=1, keepdim=True), 0.8, (True, True, False))
    torch.testing.assert_close(blurred.sum(dim=1, keepdim=True), phases_summed)  # linear, per channel


def test_smoothing_schedule_decays_to_zero_where_the_clamp_starts():
    from spatialstats.reconstruction._engine import smoothing_schedule

    values = [smoothing_schedule(2.0, 0.5, step, 10) for step in range(10)]
    assert values[:6] == pytest.approx([2.0, 1.6, 1.2, 0.8, 0.4, 0.0]) and values[6:] == [0.0] * 4
    assert smoothing_schedule(0.0, 0.5, 0, 10) == 0.0 and smoothing_schedule(2.0, 0.0, 0, 10) == 0.0


def test_smoothing_blurs_the_logits_the_objective_sees():
    from spatialstats.reconstruction._engine import gaussian_blur

    labels = labelled_disks(16, [(4, 4, 3, 1), (11, 10, 2, 2)])
    target = ss.one_hot_from_labels(labels).double()
    seen = []

    def loss(fields):
        seen.append(fields.detach())
        return (fields[:, 1] - 0.3).square().flatten(1).mean(1)

    common = dict(loss=loss, levels=1, parameterization="logits", steps=10, seed=4, progress=False)
    reconstruct(target, smoothing=1.5, **common)
    noise = torch.randn((1, 3, 16, 16), generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    torch.testing.assert_close(seen[0], torch.softmax(gaussian_blur(noise, 1.5, True), dim=1), rtol=0, atol=1e-12)
    assert len(seen) == 10  # from step 7 (70% of 10) on the objective sees the plain softmax of the parameters
    seen.clear()
    reconstruct(target, smoothing=0.0, **common)
    torch.testing.assert_close(seen[0], torch.softmax(noise, dim=1), rtol=0, atol=1e-12)
    default = reconstruct(target, levels=1, parameterization="logits", steps=10, seed=4, progress=False)
    explicit = reconstruct(target, levels=1, parameterization="logits", steps=10, seed=4, smoothing=1.0, progress=False)
    torch.testing.assert_close(default.field, explicit.field)  # 1 pixel is the default on logits levels


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(smoothing=-1.0), ValueError, "smoothing"),
        (dict(smoothing="1"), TypeError, "smoothing"),
        (dict(smoothing=1.0, clamp_delay=0.0), ValueError, "smoothing=1.0 needs clamp_delay > 0"),
        (dict(levels=0), ValueError, "levels must be > 0"),
        (dict(levels=8), ValueError, "divisible by 128"),
        (dict(loss=lambda fields: fields.sum()), ValueError, "one value per reconstruction"),
    ],
)
def test_bad_new_arguments_raise(circles_target, kwargs, error, message):
    with pytest.raises(error, match=message):
        reconstruct(circles_target, steps=2, progress=False, **kwargs)


def test_multigrid_needs_a_target(circles_target):
    with pytest.raises(ValueError, match="levels > 1 needs target"):
        reconstruct(target_statistics=ss.two_point_stats(circles_target), shape=(64, 64), levels=2, progress=False)


def three_phase_target(size: int = 16) -> torch.Tensor:
    return ss.one_hot_from_labels(labelled_disks(size, [(4, 4, 3, 1), (11, 10, 2, 2), (12, 3, 2, 2)])).double()


@pytest.mark.parametrize(
    ("given", "phases", "levels", "expected"),
    [(None, 3, 2, 4), (None, 4, 3, 4), (None, 3, 1, 1), (None, 2, 1, 1), (None, 2, 2, 1), (1, 3, 2, 1), (3, 2, 2, 3)],
)
def test_default_coarse_starts_rule(given, phases, levels, expected):
    from spatialstats.reconstruction.reconstruct import _default_coarse_starts

    assert _default_coarse_starts(given, phases, levels) == expected


def test_start_scores_weigh_the_error_by_the_morphology():
    from types import SimpleNamespace

    from spatialstats.reconstruction import morphology
    from spatialstats.reconstruction.reconstruct import _start_scores

    labels = torch.zeros(3, 8, 8, dtype=torch.long)
    labels[:2, 2:4, 2:4] = 1  # the target: one 2x2 square (components [1, 1], 8 edges)
    labels[1, 5:7, 5:7] = 1  # two squares: components [1, 2], 16 edges; labels[2]: no phase 1 and no interface
    reports = morphology(labels, 2)
    target = morphology(labels[:1].expand(3, 8, 8), 2)
    errors = torch.tensor([0.1, 0.1, 0.2], dtype=torch.float64)
    scores = _start_scores(SimpleNamespace(statistics_error=errors, morphology=reports, target_morphology=target))
    expected = 0.1 * (1 + math.log(3 / 2) + math.log(2))
    torch.testing.assert_close(scores[:2], torch.tensor([0.1, expected], dtype=torch.float64), rtol=1e-12, atol=0)
    assert math.isfinite(scores[2].item()) and scores[2].item() > 100  # a lost phase scores far worse, not NaN


def test_coarse_starts_refine_the_best_coarse_start():
    from spatialstats.reconstruction.reconstruct import _start_scores

    target = three_phase_target()
    options = dict(steps=40, progress=False)
    starts = reconstruct(torch.nn.functional.avg_pool2d(target, 2), levels=1, parameterization="clip", num_samples=4,
                         **{**options, "steps": 20})
    scores = _start_scores(starts)
    best = int(scores.argmin())
    assert scores.unique().numel() > 1  # the starts differ, so the choice matters
    chosen = reconstruct(target, coarse_starts=4, **options)
    torch.testing.assert_close(chosen.field, reconstruct(target, coarse_starts=1, seed=best, **options).field)
    assert torch.equal(reconstruct(target, **options).field, chosen.field)  # 4 is the three-phase default
    assert chosen.loss_history.shape == (40, 1)  # only the fine level's steps are reported


def test_coarse_starts_batched_equals_per_target_and_seeds_are_reproducible():
    targets = torch.cat([three_phase_target(), three_phase_target().flip(-1).roll(5, -2)])
    options = dict(steps=20, coarse_starts=3, num_samples=2, seed=5, progress=False)
    batched = reconstruct(targets, **options)
    assert batched.field.shape == (4, 3, 16, 16)
    for index in range(2):
        single = reconstruct(targets[index : index + 1], **options)
        torch.testing.assert_close(batched.field[2 * index : 2 * index + 2], single.field, atol=1e-5, rtol=0)
    assert torch.equal(reconstruct(targets, **options).field, batched.field)
    other = reconstruct(targets, **{**options, "seed": 6})
    assert (other.field - batched.field).abs().max().item() > 1e-2


def test_coarse_starts_leave_two_phase_results_unchanged(circles_target):
    options = dict(steps=5, seed=1, progress=False)
    assert torch.equal(reconstruct(circles_target, **options).field,
                       reconstruct(circles_target, coarse_starts=1, **options).field)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(coarse_starts=0), ValueError, "coarse_starts must be > 0"),
        (dict(coarse_starts=2.0), TypeError, "coarse_starts must be an int"),
        (dict(coarse_starts=2), ValueError, "coarse_starts=2 needs levels > 1"),
        (dict(coarse_starts=2, levels=1, parameterization="logits"), ValueError, "coarse_starts=2 needs levels > 1"),
    ],
)
def test_bad_coarse_starts_raise(circles_target, kwargs, error, message):
    with pytest.raises(error, match=message):
        reconstruct(circles_target, steps=2, progress=False, **kwargs)


def test_per_axis_boundaries_reach_the_statistics_the_error_and_the_morphology():
    # a film: stripes along axis 1 (periodic in-plane), bounded along axis 0
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    labels[0, 4:7] = 1
    labels[0, 0:2, 3:9] = 1
    target = ss.one_hot_from_labels(labels).double()
    film = reconstruct(target, periodic=(False, True), steps=60, progress=False)
    assert film.morphology.periodic == (False, True)
    expected = ss.two_point_stats(target, periodic=(False, True))
    assert film.statistics_error.shape == (1,)
    rms = (ss.two_point_stats(ss.one_hot_from_labels(film.labels).double(), periodic=(False, True)) - expected)
    torch.testing.assert_close(film.statistics_error[0], rms.square().mean().sqrt().to(film.statistics_error.dtype))
    # an all-True tuple is the bool
    uniform, plain = (reconstruct(target, periodic=p, steps=20, progress=False) for p in ((True, True), True))
    assert torch.equal(uniform.field, plain.field)
    with pytest.raises(ValueError, match="periodic must give one bool per spatial axis"):
        reconstruct(target, periodic=(True, False, True), steps=2, progress=False)
    with pytest.raises(TypeError, match="periodic must be a bool or a sequence of bools"):
        reconstruct(target, periodic=(1, 0), steps=2, progress=False)
