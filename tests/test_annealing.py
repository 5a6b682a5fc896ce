"""Simulated-annealing baseline: exact volume fraction, exact incremental statistics, progress and errors."""

import numpy as np
import pytest
import torch

import spatialstats as ss
from spatialstats.reconstruction import anneal, statistics_error
from spatialstats.reconstruction.annealing import _SwapState


def square_target(size: int = 20) -> torch.Tensor:
    target = torch.zeros(1, 1, size, size)
    target[..., 3:9, 4:10] = 1.0
    target[..., 12:16, 11:18] = 1.0
    return target


@pytest.mark.parametrize("cutoff", [None, 3])
def test_volume_fraction_is_preserved_and_error_decreases(cutoff):
    target = square_target()
    result = anneal(target, cutoff=cutoff, max_swaps=4000, swaps_per_temperature=200, record_every=500, progress=False, seed=1)
    assert int(result.labels.sum()) == int(target.sum())
    assert result.labels.dtype == torch.long and set(result.labels.unique().tolist()) <= {0, 1}
    # the error on record equals a full recomputation with the library's definition
    full = statistics_error(result.labels[None], result.target_statistics, cutoff=cutoff).item()
    assert result.statistics_error == pytest.approx(full, abs=1e-12)
    assert result.statistics_error < 0.7 * result.history[0, 2]
    assert result.history.shape[1] == 3 and result.history[-1, 0] == 4000
    assert 0 < result.swaps_accepted < result.swaps_tried == 4000


@pytest.mark.parametrize("cutoff", [None, 4])
def test_incremental_statistics_equal_full_recomputation(cutoff):
    rng = np.random.default_rng(0)
    height, width = 12, 10
    field = (rng.random((height, width)) < 0.3).astype(np.float64)
    window = None if cutoff is None else (cutoff, cutoff)
    offsets_y, offsets_x = ss.offset_grid((height, width), cutoff=window).numpy()
    target = ss.two_point_stats(torch.from_numpy(field)[None, None], cutoff=window)[0].numpy()
    state = _SwapState(field, offsets_y, offsets_x, target)
    for _ in range(500):
        i, j = rng.integers(state.ones.size), rng.integers(state.zeros.size)
        a, b = int(state.ones[i]), int(state.zeros[j])
        state.correlation = state.correlation + state.delta(a, b)
        state.flat[a], state.flat[b] = 0.0, 1.0
        state.ones[i], state.zeros[j] = b, a
    current = torch.from_numpy(state.flat.reshape(height, width))[None, None]
    recomputed = ss.two_point_stats(current, cutoff=window)[0, 1, 1].numpy() * state.count
    np.testing.assert_allclose(state.correlation.reshape(recomputed.shape), recomputed, rtol=0, atol=1e-10)
    assert state.flat.sum() == field.sum()
    assert not np.array_equal(state.flat.reshape(height, width), field)


def test_reproducible_and_stops_at_target_error():
    target = square_target()
    first = anneal(target, max_swaps=1500, progress=False, seed=3)
    again = anneal(target, max_swaps=1500, progress=False, seed=3)
    assert torch.equal(first.labels, again.labels) and first.statistics_error == again.statistics_error
    goal = first.history[0, 2] * 0.9
    early = anneal(target, max_swaps=100_000, target_error=goal, progress=False, seed=3)
    assert early.statistics_error <= goal and early.swaps_tried < 100_000


def test_callback_can_stop():
    calls = []
    result = anneal(square_target(), max_swaps=5000, record_every=100, progress=False,
                    callback=lambda swaps, error, labels: calls.append(swaps) or swaps >= 300)
    assert calls == [100, 200, 300] and result.swaps_tried == 300


@pytest.mark.parametrize(
    ("target", "kwargs", "error", "message"),
    [
        (torch.zeros(1, 1, 8, 8, 8), {}, ValueError, "2D two-phase"),
        (torch.full((1, 1, 8, 8), 0.5), {}, ValueError, "binary"),
        (torch.zeros(1, 1, 8, 8), {}, ValueError, "both phases"),
        (square_target(), {"cutoff": 10}, ValueError, "too large"),
        (square_target(), {"cooling": 1.5}, ValueError, "cooling"),
        (square_target(), {"max_swaps": 0}, ValueError, "max_swaps"),
        (square_target().numpy(), {}, TypeError, "torch.Tensor"),
    ],
)
def test_bad_arguments_raise(target, kwargs, error, message):
    with pytest.raises(error, match=message):
        anneal(target, progress=False, **kwargs)
