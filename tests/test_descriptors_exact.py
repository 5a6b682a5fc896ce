"""Chord length distributions, connected components and the cluster function C2 against brute-force counts
(Python scans of every line, breadth-first search, direct double sums) on random held-out fields."""

from __future__ import annotations

import itertools
from collections import deque

import numpy as np
import pytest
import torch

import spatialstats as ss
from spatialstats.descriptors import chord_length_distribution, cluster_function, connected_components


def random_one_hot(seed: int, batch: int, phases: int, shape: tuple[int, ...], fraction: float = 0.55) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if phases == 1:
        return (torch.rand(batch, 1, *shape, generator=generator) < fraction).double()
    return ss.one_hot_from_labels(torch.randint(0, phases, (batch, *shape), generator=generator)).double()


def as_labels(fields: torch.Tensor) -> np.ndarray:
    return (fields[:, 0] if fields.shape[1] == 1 else fields.argmax(dim=1)).long().numpy()


def per_axis(periodic: bool | tuple[bool, ...], ndim: int) -> tuple[bool, ...]:
    return (periodic,) * ndim if isinstance(periodic, bool) else periodic


def brute_chords(labels: np.ndarray, phases: int, periodic: bool | tuple[bool, ...], trim: bool) -> np.ndarray:
    """Scan every line; a periodic line's first and last runs merge when both touch the border."""
    spatial = labels.shape
    axes = per_axis(periodic, len(spatial))
    out = np.zeros((phases, len(spatial), max(spatial) + 1), dtype=np.int64)
    for axis, h in itertools.product(range(len(spatial)), range(phases)):
        moved = np.moveaxis(labels, axis, -1).reshape(-1, spatial[axis])
        for line in moved:
            runs, start = [], None
            for i, value in enumerate(list(line) + [-1]):
                if value == h and start is None:
                    start = i
                elif value != h and start is not None:
                    runs.append((start, i - 1))
                    start = None
            n, wraps = len(line), axes[axis]
            if wraps and len(runs) > 1 and runs[0][0] == 0 and runs[-1][1] == n - 1:
                runs = [(runs[-1][0], runs[0][1] + n)] + runs[1:-1]
            for first, last in runs:
                if trim and not wraps and (first == 0 or last == n - 1):
                    continue
                out[h, axis, last - first + 1] += 1
    return out


def brute_components(labels: np.ndarray, periodic: bool | tuple[bool, ...]) -> np.ndarray:
    """Breadth-first search; each cluster is named by the smallest flat index in it."""
    spatial = labels.shape
    axes = per_axis(periodic, len(spatial))
    names = -np.ones(spatial, dtype=np.int64)
    for seed in itertools.product(*(range(n) for n in spatial)):
        if names[seed] >= 0:
            continue
        names[seed] = np.ravel_multi_index(seed, spatial)
        queue = deque([seed])
        while queue:
            point = queue.popleft()
            for axis, step in itertools.product(range(len(spatial)), (1, -1)):
                neighbour = list(point)
                neighbour[axis] += step
                if axes[axis]:
                    neighbour[axis] %= spatial[axis]
                elif not 0 <= neighbour[axis] < spatial[axis]:
                    continue
                neighbour = tuple(neighbour)
                if names[neighbour] < 0 and labels[neighbour] == labels[seed]:
                    names[neighbour] = names[seed]
                    queue.append(neighbour)
    return names


def canonical(ids: np.ndarray) -> np.ndarray:
    """Rename clusters to the smallest flat index they hold."""
    flat = ids.ravel()
    smallest = {}
    for index, value in enumerate(flat):
        smallest.setdefault(value, index)
    return np.array([smallest[v] for v in flat]).reshape(ids.shape)


def brute_lags(spatial: tuple[int, ...], axes: tuple[bool, ...], cutoff: int | None) -> list[list[int]]:
    """two_point_stats' layout: -c..c; for cutoff None, fftshift order if periodic, -(n - 1)..(n - 1) if not."""
    if cutoff is not None:
        return [list(range(-cutoff, cutoff + 1))] * len(spatial)
    return [list(range(-(n // 2), n - n // 2)) if wraps else list(range(1 - n, n)) for n, wraps in zip(spatial, axes)]


def brute_cluster_function(
    labels: np.ndarray, phases: int, periodic: bool | tuple[bool, ...], cutoff: int | None
) -> np.ndarray:
    names = brute_components(labels, periodic)
    spatial = labels.shape
    axes = per_axis(periodic, len(spatial))
    lags = brute_lags(spatial, axes, cutoff)
    out = np.zeros((phases, *map(len, lags)))
    for index in itertools.product(*(range(len(axis_lags)) for axis_lags in lags)):
        offset = [axis_lags[i] for axis_lags, i in zip(lags, index)]
        hits, count = np.zeros(phases), 0
        for start in itertools.product(*(range(n) for n in spatial)):
            end = [s + r for s, r in zip(start, offset)]
            end = tuple(e % n if wraps else e for e, n, wraps in zip(end, spatial, axes))
            if not all(0 <= e < n for e, n in zip(end, spatial)):
                continue
            count += 1
            if names[start] == names[end]:
                hits[labels[start]] += 1
        out[(slice(None), *index)] = hits / count
    return out


CASES = [(1, (13,)), (1, (7, 9)), (3, (6, 7)), (1, (4, 5, 4)), (2, (3, 4, 5))]


@pytest.mark.parametrize("trim", [False, True])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("channels, shape", CASES)
def test_chords_match_line_scans(channels, shape, periodic, trim):
    fields = random_one_hot(100 + len(shape), 3, channels, shape)
    counts = chord_length_distribution(fields, periodic=periodic, trim_edges=trim)
    phases = max(2, channels)
    assert counts.shape == (3, phases, len(shape), max(shape) + 1) and counts.dtype == torch.long
    for b, labels in enumerate(as_labels(fields)):
        np.testing.assert_array_equal(counts[b].numpy(), brute_chords(labels, phases, periodic, trim))


def test_chords_cover_every_voxel_and_lamellae():
    fields = random_one_hot(7, 2, 3, (8, 6))
    counts = chord_length_distribution(fields)
    lengths = torch.arange(counts.shape[-1])
    # every voxel lies in exactly one chord per axis
    torch.testing.assert_close((counts * lengths).sum(dim=-1), fields.sum(dim=(2, 3)).long()[:, :, None].expand(2, 3, 2))
    layers = (torch.arange(12) % 6 < 2).double()[None, :].expand(5, 12).reshape(1, 1, 5, 12)
    counts = chord_length_distribution(layers)[0]
    assert counts[1, 1, 2] == 10 and counts[0, 1, 4] == 10 and counts[1, 0, 5] == 4 and counts[0, 0, 5] == 8


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("channels, shape", CASES)
def test_components_match_breadth_first_search(channels, shape, periodic):
    fields = random_one_hot(200 + len(shape), 3, channels, shape, fraction=0.6)
    ids = connected_components(fields, periodic=periodic)
    for b, labels in enumerate(as_labels(fields)):
        np.testing.assert_array_equal(canonical(ids[b].numpy()), brute_components(labels, periodic))


def test_components_of_a_long_spiral_converge():
    """A one-voxel-wide serpentine is one cluster whose geodesic length is most of the field."""
    snake = torch.zeros(21, 21)
    snake[::2] = 1
    for row in range(1, 21, 2):
        snake[row, 20 if row % 4 == 1 else 0] = 1
    ids = connected_components(snake[None, None], periodic=False)
    assert len(torch.unique(ids[0][snake == 1])) == 1


@pytest.mark.parametrize("method", ["fft", "direct"])
@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize("channels, shape", [(1, (11,)), (1, (7, 8)), (3, (6, 7)), (1, (5, 5, 6))])
def test_cluster_function_matches_direct_count(channels, shape, periodic, method):
    fields = random_one_hot(300 + len(shape), 2, channels, shape, fraction=0.6)
    cutoff = 2
    result = cluster_function(fields, periodic=periodic, cutoff=cutoff, method=method)
    phases = max(2, channels)
    for b, labels in enumerate(as_labels(fields)):
        np.testing.assert_allclose(result[b].numpy(), brute_cluster_function(labels, phases, periodic, cutoff), atol=1e-15, rtol=0)


@pytest.mark.parametrize("periodic", [True, False])
def test_cluster_function_methods_agree_on_the_full_window(periodic):
    fields = random_one_hot(11, 2, 1, (9, 8))
    fft = cluster_function(fields, periodic=periodic, method="fft")
    assert fft.shape == ((2, 2, 9, 8) if periodic else (2, 2, 17, 15))
    torch.testing.assert_close(cluster_function(fields, periodic=periodic, method="direct"), fft, atol=0, rtol=0)
    torch.testing.assert_close(cluster_function(fields, periodic=periodic), fft, atol=0, rtol=0)


def test_cluster_function_bounds_and_lamellae():
    fields = random_one_hot(9, 2, 1, (16, 16))
    c2 = cluster_function(fields)
    s2 = ss.two_point_stats(fields)
    assert bool((c2[:, 1] <= s2[:, 1, 1] + 1e-12).all())
    torch.testing.assert_close(c2[:, :, 8, 8], torch.stack([1 - fields.mean((1, 2, 3)), fields.mean((1, 2, 3))], 1))
    # layers of period 8: a pair one period apart is in phase 1 at both ends but never in one cluster
    layers = (torch.arange(24) % 8 < 3).double()[:, None].expand(24, 10).reshape(1, 1, 24, 10)
    c2 = cluster_function(layers, cutoff=(8, 2))[0, 1]
    s2 = ss.two_point_stats(layers, cutoff=(8, 2))[0, 1, 1]
    assert float(s2[16, 2]) == pytest.approx(3 / 8) and float(c2[16, 2]) == 0.0
    torch.testing.assert_close(c2[6:11], s2[6:11])  # within a layer's thickness, C2 = S2


def test_exact_descriptors_reject_soft_fields():
    soft = torch.full((1, 1, 4, 4), 0.5)
    for function in (chord_length_distribution, connected_components, cluster_function):
        with pytest.raises(ValueError, match="fields must be binary"):
            function(soft)
    with pytest.raises(ValueError, match="must be one-hot"):
        cluster_function(torch.ones(1, 2, 4, 4))
    with pytest.raises(TypeError, match="trim_edges must be a bool"):
        chord_length_distribution(torch.ones(1, 1, 4), trim_edges=None)
    with pytest.raises(ValueError, match="cutoff 2 is too large"):
        cluster_function(torch.ones(1, 1, 4, 4), cutoff=2)
    with pytest.raises(ValueError, match="method must be one of"):
        cluster_function(torch.ones(1, 1, 4, 4), method="bfs")


# --- per-axis boundaries: held-out fields (seeds not used above), mixed tuples against the same brute force -----

MIXED = [(1, (7, 9), (True, False)), (3, (6, 7), (False, True)), (1, (4, 5, 4), (True, False, True)),
         (2, (3, 4, 5), (False, False, True))]


def _two_point_stats_takes_tuples() -> bool:
    try:
        ss.two_point_stats(torch.ones(1, 1, 3, 3), periodic=(True, False))
    except (TypeError, ValueError):
        return False
    return True


needs_per_axis_two_point_stats = pytest.mark.skipif(
    not _two_point_stats_takes_tuples(),
    reason="two_point_stats does not take a per-axis periodic tuple on this branch yet (helper axes11 adds it)",
)


@pytest.mark.parametrize("trim", [False, True])
@pytest.mark.parametrize("channels, shape, periodic", MIXED)
def test_chords_per_axis_match_line_scans(channels, shape, periodic, trim):
    fields = random_one_hot(1100 + len(shape), 3, channels, shape)
    counts = chord_length_distribution(fields, periodic=periodic, trim_edges=trim)
    for b, labels in enumerate(as_labels(fields)):
        np.testing.assert_array_equal(counts[b].numpy(), brute_chords(labels, max(2, channels), periodic, trim))


@pytest.mark.parametrize("channels, shape, periodic", MIXED)
def test_components_per_axis_match_breadth_first_search(channels, shape, periodic):
    fields = random_one_hot(1200 + len(shape), 3, channels, shape, fraction=0.6)
    ids = connected_components(fields, periodic=periodic)
    for b, labels in enumerate(as_labels(fields)):
        np.testing.assert_array_equal(ids[b].numpy(), brute_components(labels, periodic))


def test_components_wrap_only_along_periodic_axes():
    """A ring around axis 1 of a (4, 6) field: one cluster when axis 1 wraps, two halves when it does not."""
    ring = torch.zeros(1, 1, 4, 6)
    ring[0, 0, 1, :2] = ring[0, 0, 1, 4:] = 1
    ids = connected_components(ring, periodic=(False, True))[0]
    assert ids[1].tolist() == [6, 6, 0, 0, 6, 6]  # the background (0) surrounds the ring
    assert connected_components(ring, periodic=(True, False))[0, 1].tolist() == [6, 6, 0, 0, 10, 10]


@pytest.mark.parametrize("cutoff", [1, None])
@pytest.mark.parametrize("channels, shape, periodic", MIXED)
def test_cluster_function_per_axis_direct_matches_count(channels, shape, periodic, cutoff):
    fields = random_one_hot(1300 + len(shape), 2, channels, shape, fraction=0.6)
    result = cluster_function(fields, periodic=periodic, cutoff=cutoff, method="direct")
    for b, labels in enumerate(as_labels(fields)):
        expected = brute_cluster_function(labels, max(2, channels), periodic, cutoff)
        np.testing.assert_allclose(result[b].numpy(), expected, atol=1e-15, rtol=0)


@needs_per_axis_two_point_stats
@pytest.mark.parametrize("cutoff", [1, None])
@pytest.mark.parametrize("channels, shape, periodic", MIXED)
def test_cluster_function_per_axis_fft_matches_direct(channels, shape, periodic, cutoff):
    fields = random_one_hot(1400 + len(shape), 2, channels, shape, fraction=0.6)
    fft = cluster_function(fields, periodic=periodic, cutoff=cutoff, method="fft")
    torch.testing.assert_close(fft, cluster_function(fields, periodic=periodic, cutoff=cutoff, method="direct"), atol=0, rtol=0)


def test_cluster_function_per_axis_cutoff_limits():
    """The cutoff limit is per axis: (n - 1) // 2 = 1 on the periodic axis 0, n - 1 = 3 on the open axis 1."""
    fields = random_one_hot(1500, 1, 1, (4, 4))
    assert cluster_function(fields, periodic=(True, False), cutoff=(1, 3), method="direct").shape == (1, 2, 3, 7)
    assert cluster_function(fields, periodic=(True, False), method="direct").shape == (1, 2, 4, 7)
    with pytest.raises(ValueError, match="cutoff 2 is too large for spatial axis 0 of size 4: a periodic"):
        cluster_function(fields, periodic=(True, False), cutoff=(2, 3))
    with pytest.raises(ValueError, match="cutoff 4 is too large for spatial axis 1 of size 4: a non-periodic"):
        cluster_function(fields, periodic=(True, False), cutoff=(1, 4))


@pytest.mark.parametrize("wraps", [True, False])
@pytest.mark.parametrize("shape", [(9,), (5, 6), (3, 4, 4)])
def test_uniform_tuple_equals_bool(shape, wraps):
    fields = random_one_hot(1600 + len(shape), 2, 3, shape)
    uniform = (wraps,) * len(shape)
    for function in (chord_length_distribution, connected_components):
        torch.testing.assert_close(function(fields, periodic=uniform), function(fields, periodic=wraps), atol=0, rtol=0)
    for method in ("fft", "direct"):
        expected = cluster_function(fields, periodic=wraps, cutoff=1, method=method)
        torch.testing.assert_close(cluster_function(fields, periodic=uniform, cutoff=1, method=method), expected, atol=0, rtol=0)
    torch.testing.assert_close(
        cluster_function(fields, periodic=uniform, method="direct"), cluster_function(fields, periodic=wraps), atol=0, rtol=0
    )


@pytest.mark.parametrize(
    "periodic, error, match",
    [
        ((True, False, True), ValueError, r"periodic must give one bool per spatial axis \(2\), got 3 values"),
        ((True,), ValueError, r"periodic must give one bool per spatial axis \(2\), got 1 values"),
        ((1, 0), TypeError, "periodic must be a bool or a sequence of bools"),
        ("xy", TypeError, "periodic must be a bool or a sequence of bools"),
        (None, TypeError, "periodic must be a bool or a sequence of bools"),
    ],
)
def test_bad_periodic(periodic, error, match):
    fields = random_one_hot(1700, 1, 1, (4, 4))
    for function in (chord_length_distribution, connected_components, cluster_function):
        with pytest.raises(error, match=match):
            function(fields, periodic=periodic)
