"""The morphology report against hand-made maps and brute force (scipy.ndimage.label plus explicit wrap merging)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from spatialstats.reconstruction import morphology


def _axes(periodic: bool | tuple[bool, ...], ndim: int) -> tuple[bool, ...]:
    return (periodic,) * ndim if isinstance(periodic, bool) else periodic


def _brute_components(labels: np.ndarray, num_phases: int, periodic: bool | tuple[bool, ...]) -> list[list[int]]:
    """Sizes of each phase's face-connected components; ones touching across a periodic axis's wrap merged by an
    explicit union-find."""
    axes = _axes(periodic, labels.ndim)
    result = []
    for phase in range(num_phases):
        mask = labels == phase
        components, count = ndimage.label(mask)
        parent = list(range(count + 1))

        def find(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for axis in range(labels.ndim):
            if axes[axis]:
                first = np.take(components, 0, axis=axis)
                last = np.take(components, -1, axis=axis)
                for a, b in zip(first.ravel(), last.ravel()):
                    if a and b:
                        parent[find(a)] = find(b)
        sizes: dict[int, int] = {}
        for value in components.ravel():
            if value:
                root = find(int(value))
                sizes[root] = sizes.get(root, 0) + 1
        result.append(sorted(sizes.values(), reverse=True))
    return result


def _brute_interfaces(labels: np.ndarray, num_phases: int, periodic: bool | tuple[bool, ...]) -> np.ndarray:
    axes = _axes(periodic, labels.ndim)
    counts = np.zeros((num_phases, num_phases))
    for position in itertools.product(*map(range, labels.shape)):
        for axis in range(labels.ndim):
            neighbour = list(position)
            neighbour[axis] += 1
            if neighbour[axis] == labels.shape[axis]:
                if not axes[axis] or labels.shape[axis] == 1:
                    continue
                neighbour[axis] = 0
            a, b = labels[position], labels[tuple(neighbour)]
            if a != b:
                counts[a, b] += 1
                counts[b, a] += 1
    return counts / labels.size


def test_rectangle_periodic_and_not() -> None:
    labels = torch.zeros(1, 10, 12, dtype=torch.long)
    labels[0, 0:4, 3:8] = 1  # touches the top edge: wraps when periodic
    periodic = morphology(labels)
    assert periodic.interface_density[0, 0, 1].item() * 120 == pytest.approx(2 * (4 + 5))
    open_ = morphology(labels, periodic=False)
    assert open_.interface_density[0, 0, 1].item() * 120 == pytest.approx(4 + 4 + 5)
    assert periodic.volume_fractions[0].tolist() == pytest.approx([100 / 120, 20 / 120])
    assert periodic.total_interface_density.tolist() == pytest.approx([18 / 120])


def test_periodic_merging_of_a_disk_cut_by_the_corner() -> None:
    labels = torch.zeros(1, 16, 16, dtype=torch.long)
    for y, x in itertools.product(range(16), range(16)):
        dy, dx = min(y, 16 - y), min(x, 16 - x)  # distance to the corner (0, 0) across the wrap
        labels[0, y, x] = int(dy * dy + dx * dx <= 9)
    assert morphology(labels).component_counts[0].tolist() == [1, 1]
    assert morphology(labels, periodic=False).component_counts[0].tolist() == [1, 4]
    assert morphology(labels).component_sizes[0][1].tolist() == [int(labels.sum())]


def test_background_split_into_two_bands_only_without_wrap() -> None:
    labels = torch.zeros(1, 8, 8, dtype=torch.long)
    labels[0, :, 3] = 1  # a full-height stripe splits the background unless x wraps
    assert morphology(labels).component_counts[0].tolist() == [1, 1]
    assert morphology(labels, periodic=False).component_counts[0].tolist() == [2, 1]
    assert morphology(labels, periodic=False).component_sizes[0][0].tolist() == [32, 24]


def test_diagonal_touch_is_not_a_connection_and_three_phases() -> None:
    labels = torch.tensor([[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 2, 2], [0, 0, 2, 0]]])
    report = morphology(labels, periodic=False)
    assert report.component_counts[0].tolist() == [3, 2, 1]  # the 0 at (3, 3) is walled in
    faces = report.interface_density[0] * 16
    assert faces.tolist() == [[0, 6, 6], [6, 0, 0], [6, 0, 0]]


def test_3d_ball_and_absent_phase() -> None:
    grid = torch.stack(torch.meshgrid(*(torch.arange(12),) * 3, indexing="ij"))
    ball = ((grid - 6).square().sum(0) <= 9).long()[None]
    report = morphology(ball, num_phases=3)
    assert report.component_counts[0].tolist() == [1, 1, 0]
    assert report.component_sizes[0][2].numel() == 0
    expected = _brute_interfaces(ball[0].numpy(), 3, True)
    torch.testing.assert_close(report.interface_density[0], torch.from_numpy(expected))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.sampled_from([(7,), (5, 6), (1, 9), (4, 3, 5), (9, 8)]),
    num_phases=st.integers(2, 3),
    density=st.floats(0.2, 0.8),
    periodic=st.one_of(st.booleans(), st.tuples(st.booleans(), st.booleans(), st.booleans())),
    seed=st.integers(0, 10_000),
)
def test_matches_brute_force(
    shape: tuple[int, ...], num_phases: int, density: float, periodic: bool | tuple[bool, ...], seed: int
) -> None:
    if isinstance(periodic, tuple):  # one bool per spatial axis (mixed or not)
        periodic = periodic[: len(shape)]
    rng = np.random.default_rng(seed)
    labels = np.where(rng.random((2, *shape)) < density, rng.integers(1, num_phases, (2, *shape)), 0)
    report = morphology(torch.from_numpy(labels), num_phases, periodic=periodic)
    for b in range(2):
        brute = _brute_components(labels[b], num_phases, periodic)
        assert [s.tolist() for s in report.component_sizes[b]] == brute
        assert report.component_counts[b].tolist() == [len(s) for s in brute]
        expected = _brute_interfaces(labels[b], num_phases, periodic)
        np.testing.assert_allclose(report.interface_density[b].numpy(), expected)
        np.testing.assert_allclose(report.volume_fractions[b].numpy(), np.bincount(labels[b].ravel(), minlength=num_phases) / labels[b].size)


@pytest.mark.parametrize("periodic", [(True, False), (False, True)])
def test_per_axis_boundaries_on_held_out_maps(periodic: tuple[bool, bool]) -> None:
    """Fixed held-out maps (not drawn by hypothesis) with mixed boundaries, against the brute force."""
    rng = np.random.default_rng(2024)
    labels = np.where(rng.random((3, 9, 11)) < 0.55, rng.integers(1, 3, (3, 9, 11)), 0)
    report = morphology(torch.from_numpy(labels), 3, periodic=periodic)
    assert report.periodic == periodic
    for b in range(3):
        assert [s.tolist() for s in report.component_sizes[b]] == _brute_components(labels[b], 3, periodic)
        np.testing.assert_allclose(report.interface_density[b].numpy(), _brute_interfaces(labels[b], 3, periodic))


def test_film_periodic_in_plane_only() -> None:
    """A 3D film: a slab touching the top and bottom faces is one component only if axis 0 wraps."""
    labels = torch.zeros(1, 6, 5, 5, dtype=torch.long)
    labels[0, :2] = labels[0, 4:] = 1
    assert morphology(labels, periodic=(False, True, True)).component_counts[0].tolist() == [1, 2]
    assert morphology(labels, periodic=(True, False, False)).component_counts[0].tolist() == [1, 1]
    uniform = morphology(labels, periodic=(True,) * 3)
    reference = morphology(labels, periodic=True)
    torch.testing.assert_close(uniform.interface_density, reference.interface_density, atol=0, rtol=0)
    assert uniform.component_counts.tolist() == reference.component_counts.tolist() == [[1, 1]]
    assert morphology(labels, periodic=(False,) * 3).component_counts.tolist() == [[1, 2]]


@pytest.mark.parametrize(
    ("periodic", "error", "match"),
    [
        ((True, False), ValueError, r"periodic must give one bool per spatial axis \(3\), got 2 values"),
        ((True, 1, False), TypeError, "periodic must be a bool or a sequence of bools"),
        ("yes", TypeError, "periodic must be a bool or a sequence of bools"),
    ],
)
def test_bad_periodic(periodic: object, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        morphology(torch.zeros(1, 3, 3, 3, dtype=torch.long), periodic=periodic)  # type: ignore[arg-type]


def test_batched_equals_single() -> None:
    rng = np.random.default_rng(3)
    labels = torch.from_numpy(rng.integers(0, 3, (3, 20, 20)))
    batched = morphology(labels)
    for b in range(3):
        single = morphology(labels[b : b + 1], 3)
        torch.testing.assert_close(batched.interface_density[b], single.interface_density[0])
        assert batched.component_counts[b].tolist() == single.component_counts[0].tolist()


def test_spiral_needs_many_merges() -> None:
    """A long one-pixel-wide serpentine is one component (the union-find must not stop early)."""
    labels = torch.zeros(1, 31, 31, dtype=torch.long)
    labels[0, ::2, :] = 1
    labels[0, 1::4, -1] = 1
    labels[0, 3::4, 0] = 1
    report = morphology(labels, periodic=False)
    assert report.component_counts[0, 1].item() == 1
    assert report.component_sizes[0][1].tolist() == [int(labels.sum())]


@pytest.mark.parametrize(
    ("labels", "num_phases", "error", "match"),
    [
        (torch.zeros(1, 4, 4), None, TypeError, "integer"),
        (torch.zeros(4, dtype=torch.long), None, ValueError, "batch"),
        (torch.zeros(1, 2, 2, 2, 2, dtype=torch.long), None, ValueError, "spatial"),
        (torch.full((1, 4), 3), 3, ValueError, "0..2"),
        (torch.full((1, 4), -1), None, ValueError, "values"),
        (torch.zeros(1, 4, dtype=torch.long), 1, ValueError, "num_phases"),
        ([[0, 1]], None, TypeError, "labels"),
    ],
)
def test_errors(labels: object, num_phases: int | None, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        morphology(labels, num_phases)  # type: ignore[arg-type]
