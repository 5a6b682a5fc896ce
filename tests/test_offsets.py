"""The public offset grid: every output index's offset vector, checked against the direct-sum definition."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import spatialstats as ss
from spatialstats.offsets import offset_axes, offset_grid


@pytest.mark.parametrize(
    ("shape", "periodic", "cutoff"),
    [((7,), True, None), ((6,), False, None), ((5, 6), True, None), ((6, 5), False, 2), ((4, 5, 6), True, (1, 2, 2)),
     ((4, 3, 5), False, None)],
)
def test_grid_offsets_index_the_statistics(shape, periodic, cutoff, random_fields):
    """A single bright voxel at ``x0`` correlated with a field ``g``: f(0, 1 | r) at the grid's r must equal the
    placement-normalised ``g(x0 + r)``; this pins every index to its offset without using the library's layout."""
    fields = random_fields(1, 2, *shape)
    stats = ss.two_point_stats(fields, periodic=periodic, cutoff=cutoff)[0, 0, 1]
    grid = offset_grid(shape, periodic=periodic, cutoff=cutoff)
    assert grid.shape == (len(shape), *stats.shape)
    m0, m1 = fields[0, 0].numpy(), fields[0, 1].numpy()
    for index in np.ndindex(*stats.shape):
        r = grid[(slice(None), *index)].numpy()
        total, count = 0.0, 0
        for x in np.ndindex(*shape):
            end = np.array(x) + r
            if periodic:
                end %= shape
            elif np.any(end < 0) or np.any(end >= shape):
                continue
            total += m0[x] * m1[tuple(end)]
            count += 1
        assert stats[index].item() == pytest.approx(total / count, abs=1e-12)


def test_axes_layouts():
    assert [a.tolist() for a in offset_axes((4, 5))] == [[-2, -1, 0, 1], [-2, -1, 0, 1, 2]]
    assert [a.tolist() for a in offset_axes((3,), periodic=False)] == [[-2, -1, 0, 1, 2]]
    assert [a.tolist() for a in offset_axes((9, 9), cutoff=(1, 0))] == [[-1, 0, 1], [0]]


def test_accepts_numpy_and_torch_sizes():
    assert offset_grid(torch.Size([4, 4])).shape == (2, 4, 4)
    assert offset_grid((np.int64(5),), cutoff=np.int64(1) if False else 1).tolist() == [[-1, 0, 1]]


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        (dict(spatial_shape=(4, 0)), ValueError, "spatial_shape"),
        (dict(spatial_shape=(2, 2, 2, 2)), ValueError, "spatial_shape"),
        (dict(spatial_shape=4), TypeError, "spatial_shape"),
        (dict(spatial_shape=(4.0, 4)), ValueError, "spatial_shape"),
        (dict(spatial_shape=(4, 4), cutoff=2), ValueError, "cutoff"),
        (dict(spatial_shape=(4, 4), periodic="no"), TypeError, "periodic"),
    ],
)
def test_bad_arguments(kwargs, error, words):
    with pytest.raises(error, match=words):
        offset_grid(**kwargs)
