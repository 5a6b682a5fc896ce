"""3D reconstruction from 2D slices: slice statistics, exact batched gradients, targets, acceptance on disk images."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
from spatialstats.reconstruction import reconstruct_from_slices, slice_statistics

FAST = dict(steps=30, progress=False)


def disk_labels(size: int, count: int, radius: int, seed: int, stretch: int = 1) -> torch.Tensor:
    """``(1, size, size)``: ``count`` non-overlapping periodic disks (ellipses ``stretch`` times longer along the
    first axis) at random centres, by random sequential addition."""
    generator = torch.Generator().manual_seed(seed)
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    labels = torch.zeros(size, size, dtype=torch.long)
    placed = 0
    while placed < count:
        y, x = torch.randint(size, (2,), generator=generator).tolist()
        dy = ((rows - y + size // 2) % size - size // 2) / stretch
        dx = (cols - x + size // 2) % size - size // 2
        if labels[dy.square() + dx.square() <= (radius + 1) ** 2].any():
            continue
        placed += 1
        labels[dy.square() + dx.square() <= radius**2] = 1
    return labels.unsqueeze(0)


def rods_volume(size: int) -> torch.Tensor:
    """Label volume ``(size,) * 3`` of square rods along axis 0: disks normal to axis 0, stripes along the others."""
    volume = torch.zeros(size, size, size, dtype=torch.long)
    volume[:, 2:6, 3:6] = 1
    volume[:, 9:12, 8:11] = 1
    return volume


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_slice_statistics_is_the_mean_over_explicit_slices(axis: int, periodic: bool) -> None:
    volume = torch.rand(2, 3, 5, 6, 7, generator=torch.Generator().manual_seed(axis), dtype=torch.float64)
    volume = volume / volume.sum(dim=1, keepdim=True)
    slices = [volume.select(2 + axis, k) for k in range(volume.shape[2 + axis])]
    expected = torch.stack([ss.two_point_stats(s, periodic=periodic, cutoff=2) for s in slices]).mean(dim=0)
    for slice_batch in (None, 1, 2):
        got = slice_statistics(volume, axis, periodic=periodic, cutoff=2, slice_batch=slice_batch)
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)


def test_slice_statistics_of_rods_differ_by_axis() -> None:
    one_hot = ss.one_hot_from_labels(rods_volume(16).unsqueeze(0), dtype=torch.float64)
    along, across = slice_statistics(one_hot, 0, cutoff=3), slice_statistics(one_hot, 1, cutoff=3)
    # slices normal to the rods' axis are all the same image; slices along the rods are constant along axis 0
    torch.testing.assert_close(along, ss.two_point_stats(one_hot[:, :, 0], cutoff=3))
    torch.testing.assert_close(across[0, 1, 1, :, 3], across[0, 1, 1, 3, 3].expand(7))
    assert float((along - across).abs().max()) > 0.05


def test_slice_batches_give_the_same_reconstruction() -> None:
    target = ss.one_hot_from_labels(disk_labels(24, 3, 3, seed=1), dtype=torch.float64)
    whole = reconstruct_from_slices(target, (8, 9, 10), cutoff=3, **FAST)
    batched = reconstruct_from_slices(target, (8, 9, 10), cutoff=3, slice_batch=3, **FAST)
    torch.testing.assert_close(batched.field, whole.field, rtol=0, atol=1e-9)
    torch.testing.assert_close(batched.loss_history, whole.loss_history, rtol=0, atol=1e-9)


def test_one_target_equals_three_identical_targets_and_label_maps_equal_fields() -> None:
    labels = disk_labels(24, 3, 3, seed=2)
    one_hot = ss.one_hot_from_labels(labels)
    isotropic = reconstruct_from_slices(one_hot, (12, 12, 12), cutoff=4, **FAST)
    three = reconstruct_from_slices(one_hot.expand(3, -1, -1, -1), (12, 12, 12), cutoff=4, **FAST)
    from_labels = reconstruct_from_slices([labels, labels[0], one_hot[:, 1:]], (12, 12, 12), cutoff=4, **FAST)
    torch.testing.assert_close(three.field, isotropic.field)
    torch.testing.assert_close(from_labels.field, isotropic.field)
    assert isotropic.target_statistics.shape == (3, 2, 2, 9, 9)


def test_seeds_are_reproducible() -> None:
    target = ss.one_hot_from_labels(disk_labels(24, 3, 3, seed=3))
    first, again = (reconstruct_from_slices(target, (10, 10, 10), cutoff=4, seed=5, **FAST) for _ in range(2))
    other = reconstruct_from_slices(target, (10, 10, 10), cutoff=4, seed=6, **FAST)
    assert torch.equal(first.field, again.field)
    assert not torch.equal(first.field, other.field)


@pytest.mark.parametrize(("target_size", "shape", "expected"), [(32, (12, 16, 20), 3), (9, (40, 40, 40), 4), (128, (200,) * 3, 25)])
def test_default_cutoff_is_a_quarter_of_the_smallest_side(target_size: int, shape: tuple, expected: int) -> None:
    """A quarter of the volume's smallest side, at most 25 and at most what the target allows ((9 - 1) // 2 = 4)."""
    target = torch.zeros(1, 1, target_size, target_size)
    result = reconstruct_from_slices(target, shape, steps=1, progress=False)
    assert result.target_statistics.shape[-2:] == (2 * expected + 1,) * 2


def test_callback_sees_every_step_and_can_stop() -> None:
    target = ss.one_hot_from_labels(disk_labels(24, 3, 3, seed=3))
    seen = []

    def callback(step: int, loss: torch.Tensor, field: torch.Tensor) -> bool:
        seen.append((step, loss.shape, field.shape))
        return step == 4

    result = reconstruct_from_slices(target, (10, 10, 10), cutoff=4, callback=callback, **FAST)
    assert seen == [(step, (1,), (1, 2, 10, 10, 10)) for step in range(5)]
    assert result.steps_run == 5 and result.loss_history.shape == (5, 1)


def test_anisotropic_targets_are_matched_per_axis() -> None:
    """Spheroids elongated along axis 0: disks normal to it, ellipses along it; each axis matches its own target."""
    disks, ellipses = disk_labels(32, 8, 3, seed=7), disk_labels(32, 4, 3, seed=8, stretch=2)
    result = reconstruct_from_slices([disks, ellipses, ellipses], (16, 16, 16), cutoff=5, steps=200, progress=False)
    for axis, own, other in ((0, disks, ellipses), (1, ellipses, disks), (2, ellipses, disks)):
        got = slice_statistics(result.one_hot, axis, cutoff=5)
        own_error, other_error = (
            float((got - ss.two_point_stats(ss.one_hot_from_labels(t), cutoff=5)).square().mean().sqrt())
            for t in (own, other)
        )
        assert own_error < 0.5 * other_error


@pytest.mark.parametrize("periodic", [True, False])
def test_three_phases_and_both_boundaries(periodic: bool) -> None:
    labels = disk_labels(32, 4, 4, seed=4)
    labels[0, ::8, ::8] = 2  # a sparse third phase
    random = ss.one_hot_from_labels(torch.randint(3, (1, 12, 12, 12), generator=torch.Generator().manual_seed(0)))
    result = reconstruct_from_slices(labels, (12, 12, 12), periodic=periodic, cutoff=4, steps=120, progress=False)
    expected = ss.two_point_stats(ss.one_hot_from_labels(labels), periodic=periodic, cutoff=4)
    baseline = max(
        float((slice_statistics(random, axis, periodic=periodic, cutoff=4) - expected).square().mean().sqrt())
        for axis in range(3)
    )
    assert result.field.shape == (1, 3, 12, 12, 12)
    assert torch.allclose(result.field.sum(dim=1), torch.ones(1, 12, 12, 12, dtype=result.field.dtype))
    assert float(result.statistics_error) < 0.2 * baseline


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11])  # one held-out seed in CI (~1 min); seed 12 passed too when measured
def test_disk_target_small_acceptance(seed: int) -> None:
    """Held-out disk images: per-axis mean slice statistics within 5e-3 RMS, volume fraction within 0.02."""
    labels = disk_labels(64, 12, 4, seed=seed)
    target = ss.one_hot_from_labels(labels)
    result = reconstruct_from_slices(target, (24, 24, 24), cutoff=8, progress=False)
    expected = ss.two_point_stats(target, cutoff=8)
    for axis in range(3):
        error = (slice_statistics(result.one_hot, axis, cutoff=8) - expected).square().mean().sqrt()
        assert float(error) < 5e-3
    assert abs(float(result.labels.float().mean()) - float(labels.float().mean())) < 0.02
    report, target_report = result.morphology, result.target_morphology
    assert report.volume_fractions.shape == (1, 2) and target_report.volume_fractions.shape == (1, 2)
    torch.testing.assert_close(report.volume_fractions[0, 1], result.labels.double().mean())
    # faces along three axes in 3D, two in 2D: an isotropic match has ~1.5x the target's interface density
    ratio = float(report.total_interface_density / target_report.total_interface_density)
    assert 1.5 * 0.85 < ratio < 1.5 * 1.15


@pytest.mark.parametrize(
    ("target", "options", "error", "match"),
    [
        (torch.zeros(2, 2, 8, 8), {}, ValueError, "1 target .* or 3"),
        (torch.zeros(1, 2, 8), {}, ValueError, r"target must be a 2D phase field"),
        (torch.zeros(2, 8, 8, dtype=torch.long), {}, ValueError, "1 target .* or 3"),
        (torch.zeros(2, 8, 8, 8, 8, dtype=torch.long), {}, ValueError, "integer label map"),
        ([torch.zeros(1, 2, 8, 8), torch.zeros(1, 3, 8, 8), torch.zeros(1, 2, 8, 8)], {}, ValueError, "same number of phases"),
        ([torch.zeros(1, 2, 8, 8)] * 2, {}, TypeError, "sequence of 3"),
        ("disks", {}, TypeError, "target must be"),
        (torch.zeros(1, 1, 8, 8), {"shape": (8, 8)}, ValueError, r"shape must be .*\(D, H, W\)"),
        (torch.zeros(1, 1, 8, 8), {"shape": (8, 0, 8)}, ValueError, "shape must be"),
        (torch.zeros(1, 1, 8, 8), {"cutoff": 4}, ValueError, "cutoff 4 is too large"),
        (torch.zeros(1, 1, 8, 8), {"cutoff": (2, 2)}, TypeError, "cutoff must be an int"),
        (torch.zeros(1, 1, 8, 8), {"loss": "center_crop"}, ValueError, "loss must be one of"),
        (torch.zeros(1, 1, 8, 8), {"slice_batch": 0}, ValueError, "slice_batch must be > 0"),
        (torch.zeros(1, 1, 8, 8), {"steps": 0}, ValueError, "steps must be > 0"),
        (torch.zeros(1, 1, 8, 8), {"lr": -1.0}, ValueError, "lr must be"),
        (torch.zeros(1, 1, 8, 8), {"clamp_delay": 1.0}, ValueError, "clamp_delay"),
        (torch.zeros(1, 1, 8, 8), {"parameterization": "tanh"}, ValueError, "parameterization"),
        (torch.zeros(1, 1, 8, 8), {"seed": 1.5}, TypeError, "seed must be an int"),
    ],
)
def test_bad_arguments_raise_naming_them(target: object, options: dict, error: type, match: str) -> None:
    options = {"shape": (8, 8, 8), "steps": 1, "progress": False, **options}
    with pytest.raises(error, match=match):
        reconstruct_from_slices(target, **options)


def test_slice_statistics_rejects_bad_axis_and_volume() -> None:
    with pytest.raises(ValueError, match="axis must be 0, 1 or 2"):
        slice_statistics(torch.zeros(1, 1, 4, 4, 4), 3)
    with pytest.raises(ValueError, match=r"volume must be a tensor \(batch, phases, D, H, W\)"):
        slice_statistics(torch.zeros(1, 1, 4, 4), 0)
