"""scikit-learn transformers that replace PyMKS's in a pipeline, on NumPy or Dask arrays.

PyMKS pipelines read ``discretize -> 2-point statistics -> flatten -> PCA -> regression``. The transformers here
take PyMKS's parameters and its phase-last layout ``(n_samples, *spatial, n_state)``; NumPy in gives NumPy out, a
Dask array in gives a lazy Dask array out (computed chunk by chunk along the samples, so the work spreads over a
Dask cluster). The statistics come from :func:`spatialstats.two_point_stats` (float64; on ``device`` if given),
so a PyMKS pipeline moves over by changing one import. Needs the ``sklearn`` extra (scikit-learn) and, for lazy
arrays, the ``dask`` extra.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

try:
    from sklearn.base import BaseEstimator, TransformerMixin
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "spatialstats.sklearn needs scikit-learn: pip install 'spatialstats[sklearn]'"
    ) from error

from spatialstats._validation import MAX_SPATIAL_DIMS, check_periodic, resolve_periodic
from spatialstats.statistics import two_point_stats

__all__ = ["TwoPointCorrelation", "PrimitiveTransformer", "FlattenTransformer"]


class TwoPointCorrelation(BaseEstimator, TransformerMixin):
    r"""2-point statistics as a scikit-learn transformer, a drop-in for ``pymks.TwoPointCorrelation``.

    For each requested pair :math:`(l, l')` of states and each sample,

    .. math::

        f[r \mid l, l'] = \frac{1}{|\Omega_r|} \sum_{s \in \Omega_r} w(s)\, m[s, l]\, w(s + r)\, m[s + r, l'],

    with :math:`w = 1` without a mask and :math:`|\Omega_r|` the (mask-weighted) number of placements of
    :math:`r`, exactly as in :func:`spatialstats.two_point_stats` and PyMKS.

    Args:
        correlations: pairs ``[(l, l'), ...]`` to compute; ``None`` gives PyMKS's default
            ``[(0, 0), (0, 1), ..., (0, n_state - 1)]``.
        periodic_boundary: periodic (default) or zero-padded, non-periodic boundaries; a bool, or one bool per
            spatial axis (PyMKS's former ``periodic_axes``: ``(True, True, False)`` for a film periodic in-plane).
        cutoff: keep offsets with :math:`|r_d| \le c` on every axis (``2c + 1`` per axis). ``None`` gives PyMKS's
            default ``(min(spatial) - 1) // 2``. PyMKS silently clamps a larger cutoff; here it is an error.
        mask: optional confidence in [0, 1], shape ``(*spatial)`` (shared by every sample) or
            ``(n_samples, *spatial)`` (one per sample of the data passed to :meth:`transform`). PyMKS's transformer
            has no mask; its function ``two_point_stats`` uses the same definition.
        device: torch device to compute on (``"cuda"`` for a GPU); default CPU. Results come back as NumPy.

    Example:
        >>> import numpy as np
        >>> from spatialstats.sklearn import TwoPointCorrelation
        >>> labels = np.random.default_rng(0).integers(0, 2, size=(4, 9, 9))
        >>> data = np.stack([labels == 0, labels == 1], axis=-1).astype(float)  # (n, x, y, n_state)
        >>> stats = TwoPointCorrelation(correlations=[(1, 1), (0, 1)], cutoff=2).fit(data).transform(data)
        >>> stats.shape  # (n, 2c + 1, 2c + 1, n_correlations)
        (4, 5, 5, 2)
        >>> bool(np.allclose(stats[:, 2, 2, 0], data[..., 1].mean(axis=(1, 2))))  # r = 0: volume fraction
        True

    References:
        Brough, Wheeler and Kalidindi, *Materials Knowledge Systems in Python*, IMMI 6 (2017),
        https://doi.org/10.1007/s40192-017-0089-0
    """

    def __init__(
        self,
        correlations: Sequence[tuple[int, int]] | None = None,
        periodic_boundary: bool | Sequence[bool] = True,
        cutoff: int | None = None,
        mask: np.ndarray | None = None,
        device: str | torch.device | None = None,
    ) -> None:
        self.correlations = correlations
        self.periodic_boundary = periodic_boundary
        self.cutoff = cutoff
        self.mask = mask
        self.device = device

    def fit(self, X: object = None, y: object = None) -> TwoPointCorrelation:
        """Nothing to learn: checks the options and returns ``self`` (so that pipelines work)."""
        _check_options(self)
        return self

    def transform(self, X: object) -> object:  # noqa: N803 - scikit-learn's name for the data
        """2-point statistics of phase-last data ``X`` ``(n_samples, *spatial, n_state)``.

        Returns:
            ``(n_samples, *window, n_correlations)`` float64, a NumPy array for NumPy (or array-like) input and a
            lazy Dask array, chunked like ``data`` along the samples, for Dask input.
        """
        _check_options(self)
        data = X
        lazy = _is_dask(data)
        if not lazy:
            data = np.asarray(data)
        spatial, n_state = _check_data(data)
        cutoff = _resolve_cutoff(self.cutoff, spatial)
        pairs = _resolve_correlations(self.correlations, n_state)
        mask = _check_mask(self.mask, spatial, data.shape[0])
        window = (2 * cutoff + 1,) * len(spatial)
        periodic = resolve_periodic(self.periodic_boundary, len(spatial), "periodic_boundary")
        options = dict(pairs=pairs, periodic=periodic, cutoff=cutoff, device=self.device)
        if not lazy:
            return _correlate(data, mask, **options)
        return _correlate_lazy(data, mask, window, options)


class PrimitiveTransformer(BaseEstimator, TransformerMixin):
    r"""Primitive (hat-function) discretisation into ``n_state`` local states, as ``pymks.PrimitiveTransformer``.

    With states :math:`s_k = \mathrm{min} + k \Delta`, :math:`\Delta = (\mathrm{max} - \mathrm{min}) / (n - 1)`,
    a value :math:`x` (clipped to [min, max]) becomes :math:`m_k = \max(0, 1 - |x - s_k| / \Delta)`: the
    membership of the two nearest states, summing to one.

    Args:
        n_state: number of local states, at least 2.
        min\_: the smallest value of the data's range (smaller values are clipped to it).
        max\_: the largest value of the data's range, ``max_ > min_``.

    Example:
        >>> import numpy as np
        >>> from spatialstats.sklearn import PrimitiveTransformer
        >>> PrimitiveTransformer(n_state=3).fit_transform(np.array([[0.0, 0.25, 1.0]])).tolist()
        [[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]]
    """

    def __init__(self, n_state: int = 2, min_: float = 0.0, max_: float = 1.0) -> None:
        self.n_state = n_state
        self.min_ = min_
        self.max_ = max_

    def fit(self, X: object = None, y: object = None) -> PrimitiveTransformer:
        """Nothing to learn: returns ``self``."""
        return self

    def transform(self, X: object) -> object:  # noqa: N803
        """Discretise ``X`` ``(n_samples, *spatial)`` to ``(n_samples, *spatial, n_state)`` (NumPy or Dask)."""
        data = X
        n_state = self.n_state
        if isinstance(n_state, bool) or not isinstance(n_state, (int, np.integer)) or n_state < 2:
            raise ValueError(f"n_state must be an int >= 2, got {n_state!r}")
        if not (np.isfinite(self.min_) and np.isfinite(self.max_) and self.min_ < self.max_):
            raise ValueError(f"min_ and max_ must be finite with min_ < max_, got {self.min_!r} and {self.max_!r}")
        if not _is_dask(data):
            data = np.asarray(data, dtype=float)
        states = np.linspace(self.min_, self.max_, int(n_state))
        spacing = states[1] - states[0]
        return np.maximum(1 - np.abs(data.clip(self.min_, self.max_)[..., None] - states) / spacing, 0)


class FlattenTransformer(BaseEstimator, TransformerMixin):
    """Flatten every axis but the first, ``(n_samples, ...) -> (n_samples, features)``, ready for PCA (NumPy or
    Dask), as ``pymks.FlattenTransformer``.

    Example:
        >>> import numpy as np
        >>> from spatialstats.sklearn import FlattenTransformer
        >>> FlattenTransformer().fit_transform(np.zeros((2, 5, 5, 3))).shape
        (2, 75)
    """

    def fit(self, X: object = None, y: object = None) -> FlattenTransformer:
        """Nothing to learn: returns ``self``."""
        return self

    def transform(self, X: object) -> object:  # noqa: N803
        """``X.reshape(n_samples, -1)``."""
        data = X
        if not _is_dask(data):
            data = np.asarray(data)
        if data.ndim < 1:
            raise ValueError(f"X (the data) must have a samples axis, got shape {data.shape}")
        return data.reshape(data.shape[0], -1)


def _is_dask(data: object) -> bool:
    return type(data).__module__.startswith("dask.") and hasattr(data, "map_blocks")


def _check_options(transformer: TwoPointCorrelation) -> None:
    check_periodic(transformer.periodic_boundary, "periodic_boundary")


def _check_data(data: object) -> tuple[tuple[int, ...], int]:
    if not 3 <= data.ndim <= 2 + MAX_SPATIAL_DIMS:
        raise ValueError(
            f"X (the data) must have PyMKS's phase-last shape (n_samples, *spatial, n_state) with 1 to {MAX_SPATIAL_DIMS} "
            f"spatial axes, got shape {tuple(data.shape)}"
        )
    if any(size == 0 for size in data.shape):
        raise ValueError(f"X (the data) must not be empty, got shape {tuple(data.shape)}")
    if not (np.issubdtype(data.dtype, np.number) or data.dtype == bool) or np.issubdtype(data.dtype, np.complexfloating):
        raise TypeError(f"X (the data) must hold real numbers, got dtype {data.dtype}")
    return tuple(int(n) for n in data.shape[1:-1]), int(data.shape[-1])


def _resolve_cutoff(cutoff: object, spatial: tuple[int, ...]) -> int:
    largest = (min(spatial) - 1) // 2
    if cutoff is None:
        return largest
    if isinstance(cutoff, (bool, np.bool_)) or not isinstance(cutoff, (int, np.integer)):
        raise TypeError(f"cutoff must be an int or None, got {cutoff!r}")
    if not 0 <= cutoff <= largest:
        raise ValueError(
            f"cutoff must be in 0..(min(spatial) - 1) // 2 = {largest} for spatial shape {spatial}, got {cutoff} "
            "(PyMKS would clamp it silently)"
        )
    return int(cutoff)


def _resolve_correlations(correlations: object, n_state: int) -> list[tuple[int, int]]:
    if correlations is None or (isinstance(correlations, Sequence) and len(correlations) == 0):
        return [(0, state) for state in range(n_state)]
    pairs = []
    for pair in correlations if isinstance(correlations, Sequence) else [correlations]:
        if not (isinstance(pair, (Sequence, np.ndarray)) and len(pair) == 2):
            raise TypeError(f"correlations must be a list of (l, l') pairs of ints, got {correlations!r}")
        first, second = pair
        if not all(isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_)) for p in (first, second)):
            raise TypeError(f"correlations must be a list of (l, l') pairs of ints, got {correlations!r}")
        if not (0 <= first < n_state and 0 <= second < n_state):
            raise ValueError(f"correlations entry {(int(first), int(second))} is out of range for {n_state} states")
        pairs.append((int(first), int(second)))
    return pairs


def _check_mask(mask: object, spatial: tuple[int, ...], n_samples: int) -> np.ndarray | None:
    if mask is None:
        return None
    lazy = _is_dask(mask)
    mask = mask if lazy else np.asarray(mask)
    if mask.dtype == bool:
        mask = mask.astype(float)
    if tuple(mask.shape) not in (spatial, (n_samples, *spatial)):
        raise ValueError(
            f"mask must have shape (*spatial)={spatial} or (n_samples, *spatial)={(n_samples, *spatial)}, "
            f"got shape {tuple(mask.shape)}"
        )
    if not lazy and not (np.isfinite(mask).all() and mask.min() >= 0 and mask.max() <= 1):
        raise ValueError(f"mask must hold confidences in [0, 1], got values in [{mask.min()!r}, {mask.max()!r}]")
    return mask


def _correlate(
    data: np.ndarray,
    mask: np.ndarray | None,
    *,
    pairs: list[tuple[int, int]],
    periodic: tuple[bool, ...],
    cutoff: int,
    device: object,
) -> np.ndarray:
    """The statistics of one NumPy block, phase-last in and out, float64."""
    values = np.array(data, dtype=np.float64)  # a writable copy torch can own
    if not np.isfinite(values).all():
        raise ValueError("X (the data) contains non-finite values (NaN or inf)")
    fields = torch.from_numpy(values).to(device or "cpu").movedim(-1, 1)
    if fields.shape[1] == 1:  # spatialstats reads one channel as phase 1 of a two-phase field: its (1, 1) pair
        pairs = [(1, 1)] * len(pairs)
    weights = None if mask is None else torch.from_numpy(np.array(mask, dtype=np.float64)).to(fields.device)
    with torch.no_grad():
        stats = two_point_stats(
            fields, periodic=periodic, cutoff=cutoff, mask=weights, pairs=pairs, check_values=False
        )
    return stats.movedim(1, -1).cpu().numpy()


def _correlate_lazy(data: object, mask: object, window: tuple[int, ...], options: dict) -> object:
    """Map :func:`_correlate` over Dask chunks of samples (each chunk holds whole images and all states)."""
    import dask.array as da

    data = data.rechunk({axis: -1 for axis in range(1, data.ndim)})
    chunks = (data.chunks[0], *((size,) for size in window), (len(options["pairs"]),))
    if mask is not None and mask.ndim == data.ndim - 1:  # one mask per sample: chunked like the samples
        mask = da.asarray(mask).rechunk((data.chunks[0],) + tuple((n,) for n in mask.shape[1:]))
        return da.map_blocks(lambda block, weights: _correlate(block, weights[..., 0], **options), data, mask[..., None],
                             chunks=chunks, dtype=np.float64)
    return data.map_blocks(lambda block: _correlate(block, mask, **options), chunks=chunks, dtype=np.float64)
