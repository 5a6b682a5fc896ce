"""The scikit-learn drop-in against live PyMKS 0.4.1: equal statistics, equal pipelines, NumPy and Dask."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
da = pytest.importorskip("dask.array")

from sklearn.base import clone  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from spatialstats.sklearn import FlattenTransformer, PrimitiveTransformer, TwoPointCorrelation  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    pymks = pytest.importorskip("pymks")


def _phase_last(labels: np.ndarray, states: int) -> np.ndarray:
    return np.stack([labels == state for state in range(states)], axis=-1).astype(float)


@pytest.fixture
def rng():
    return np.random.default_rng(20261125)


@pytest.mark.parametrize("periodic", [True, False])
@pytest.mark.parametrize(
    ("spatial", "states", "correlations", "cutoff"),
    [
        ((17,), 2, None, 5),
        ((12, 15), 3, None, None),  # PyMKS's default window: (min - 1) // 2 on every axis
        ((10, 11), 3, [(0, 1), (2, 2), (1, 0)], 3),
        ((6, 7, 8), 2, [(1, 1)], 2),
    ],
)
def test_equals_pymks_transformer(rng, periodic, spatial, states, correlations, cutoff):
    data = _phase_last(rng.integers(0, states, size=(6, *spatial)), states)
    ours = TwoPointCorrelation(correlations=correlations, periodic_boundary=periodic, cutoff=cutoff).fit(data)
    theirs = pymks.TwoPointCorrelation(correlations=correlations, periodic_boundary=periodic, cutoff=cutoff)
    expected = np.asarray(theirs.fit(data).transform(data))
    result = ours.transform(data)
    assert isinstance(result, np.ndarray) and result.dtype == np.float64
    assert result.shape == expected.shape
    np.testing.assert_allclose(result, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_continuous_states_and_single_state(rng, periodic):
    """PyMKS correlates any real channels (not only probabilities): so do we, including one lone state."""
    data = rng.normal(size=(4, 9, 10, 3))
    pairs = [(0, 1), (2, 2)]
    for channels, corr in ((data, pairs), (data[..., :1], [(0, 0)])):
        expected = pymks.TwoPointCorrelation(correlations=corr, periodic_boundary=periodic, cutoff=3).transform(channels)
        result = TwoPointCorrelation(correlations=corr, periodic_boundary=periodic, cutoff=3).transform(channels)
        np.testing.assert_allclose(result, np.asarray(expected), rtol=0, atol=1e-12)


@pytest.mark.parametrize("periodic", [True, False])
def test_mask_equals_pymks_function(rng, periodic):
    data = _phase_last(rng.integers(0, 2, size=(3, 9, 9)), 2)
    mask = rng.random((3, 9, 9))
    result = TwoPointCorrelation(correlations=[(0, 1)], periodic_boundary=periodic, cutoff=3, mask=mask).transform(data)
    expected = pymks.two_point_stats(data[..., 0], data[..., 1], periodic_boundary=periodic, cutoff=3, mask=mask)
    np.testing.assert_allclose(result[..., 0], np.asarray(expected), rtol=0, atol=1e-12)


def test_shared_mask_equals_per_sample_copies(rng):
    data = _phase_last(rng.integers(0, 2, size=(3, 8, 8)), 2)
    mask = rng.random((8, 8))
    shared = TwoPointCorrelation(cutoff=2, mask=mask).transform(data)
    copies = TwoPointCorrelation(cutoff=2, mask=np.broadcast_to(mask, (3, 8, 8))).transform(data)
    np.testing.assert_allclose(shared, copies, rtol=0, atol=1e-14)


@pytest.mark.parametrize("periodic", [True, False])
def test_dask_in_gives_lazy_dask_out(rng, periodic):
    data = _phase_last(rng.integers(0, 2, size=(7, 10, 10)), 2)
    mask = rng.random((7, 10, 10))
    lazy_data = da.from_array(data, chunks=(3, 5, 10, 2))  # spatial chunks too: rechunked internally
    transformer = TwoPointCorrelation(periodic_boundary=periodic, cutoff=3, mask=mask)
    lazy = transformer.transform(lazy_data)
    assert isinstance(lazy, da.Array)
    assert lazy.chunks[0] == (3, 3, 1) and lazy.shape == (7, 7, 7, 2)
    np.testing.assert_allclose(lazy.compute(), transformer.transform(data), rtol=0, atol=1e-14)


def test_pipeline_with_pca_and_regression_matches_pymks(rng):
    labels = rng.integers(0, 2, size=(24, 12, 12))
    data = _phase_last(labels, 2)
    target = data[..., 1].mean(axis=(1, 2)) + rng.normal(scale=0.01, size=24)

    def pipeline(correlation):
        return Pipeline(
            [("corr", correlation), ("flatten", FlattenTransformer()), ("pca", PCA(n_components=4)),
             ("regressor", LinearRegression())]
        )

    ours = pipeline(TwoPointCorrelation(correlations=[(1, 1), (0, 1)], cutoff=4)).fit(data, target)
    theirs = pipeline(pymks.TwoPointCorrelation(correlations=[(1, 1), (0, 1)], cutoff=4)).fit(data, target)
    np.testing.assert_allclose(ours.predict(data), theirs.predict(data), rtol=0, atol=1e-9)
    lazy = ours.predict(da.from_array(data, chunks=(8, 12, 12, 2)))
    np.testing.assert_allclose(np.asarray(lazy), ours.predict(data), rtol=0, atol=1e-9)


def test_primitive_equals_pymks(rng):
    values = rng.random((3, 5, 6)) * 1.4 - 0.2  # some values outside [min_, max_]: clipped
    ours = PrimitiveTransformer(n_state=4, min_=0.0, max_=1.0).fit_transform(values)
    theirs = pymks.PrimitiveTransformer(n_state=4, min_=0.0, max_=1.0).fit_transform(values)
    np.testing.assert_allclose(ours, np.asarray(theirs), rtol=0, atol=1e-14)
    lazy = PrimitiveTransformer(n_state=4).transform(da.from_array(values, chunks=(1, 5, 6)))
    assert isinstance(lazy, da.Array)
    np.testing.assert_allclose(lazy.compute(), ours, rtol=0, atol=0)


def test_estimator_protocol():
    transformer = TwoPointCorrelation(correlations=[(0, 1)], periodic_boundary=False, cutoff=2)
    assert clone(transformer).get_params() == transformer.get_params()
    assert transformer.set_params(cutoff=1).cutoff == 1


@pytest.mark.parametrize(
    ("options", "data", "error", "words"),
    [
        (dict(cutoff=5), np.zeros((2, 9, 9, 2)), ValueError, "cutoff"),
        (dict(cutoff=-1), np.zeros((2, 9, 9, 2)), ValueError, "cutoff"),
        (dict(cutoff=2.0), np.zeros((2, 9, 9, 2)), TypeError, "cutoff"),
        (dict(correlations=[(0, 2)]), np.zeros((2, 9, 9, 2)), ValueError, "correlations"),
        (dict(correlations=[(0, 1, 1)]), np.zeros((2, 9, 9, 2)), TypeError, "correlations"),
        (dict(correlations=[(0.0, 1)]), np.zeros((2, 9, 9, 2)), TypeError, "correlations"),
        (dict(periodic_boundary="yes"), np.zeros((2, 9, 9, 2)), TypeError, "periodic_boundary"),
        (dict(mask=np.ones((8, 9))), np.zeros((2, 9, 9, 2)), ValueError, "mask"),
        (dict(mask=np.full((9, 9), 2.0)), np.zeros((2, 9, 9, 2)), ValueError, "mask"),
        (dict(), np.zeros((9, 9)), ValueError, "X \\(the data\\)"),
        (dict(), np.zeros((1, 2, 2, 2, 2, 2)), ValueError, "X \\(the data\\)"),
        (dict(), np.zeros((2, 9, 9, 2), dtype=complex), TypeError, "X \\(the data\\)"),
        (dict(), np.full((2, 9, 9, 2), np.nan), ValueError, "X \\(the data\\)"),
    ],
)
def test_bad_input_names_the_argument(options, data, error, words):
    with pytest.raises(error, match=words):
        TwoPointCorrelation(**options).transform(data)


def test_primitive_bad_options():
    with pytest.raises(ValueError, match="n_state"):
        PrimitiveTransformer(n_state=1).transform(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="min_"):
        PrimitiveTransformer(min_=1.0, max_=0.0).transform(np.zeros((1, 3)))
