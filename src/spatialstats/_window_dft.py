r"""Window-only DFTs by matrix multiplies: the inverse transform on a small window of offsets, and its adjoint.

When only the first ``w`` samples of an inverse transform of length ``L`` are kept (a centred crop whose spectrum
was shifted by :func:`spatialstats._offsets.shift_factors`), an axis can be inverted by one matrix product with the
``(w, L)`` matrix :math:`M_{jk} = e^{2\pi i jk/L} / L` instead of a length-``L`` FFT and a crop: ``w L`` complex
multiply-adds per line against ``~ L log2 L`` for the FFT. The last (real) axis holds the half spectrum of an
``irfft``: with the Hermitian weights :math:`h_0 = h_{L/2} = 1`, :math:`h_k = 2` otherwise, sample ``j`` is

.. math::

    x_j = \frac{1}{L} \sum_{k=0}^{\lfloor L/2 \rfloor} h_k \left(\operatorname{Re} X_k \cos\frac{2\pi jk}{L}
          - \operatorname{Im} X_k \sin\frac{2\pi jk}{L}\right),

one real matrix product over the interleaved real and imaginary parts (the imaginary parts at ``k = 0`` and
``L/2`` are ignored, as ``irfft`` ignores them). The forward transform of a window zero-padded to ``L`` (the
backward of a windowed loss) is the same with :math:`e^{-2\pi i jk/L}` and no weights. The matrices depend on
``(L, w, dtype, device)`` only; they are cached in eager mode and built in the graph under ``torch.compile`` (like
:func:`spatialstats._offsets.shift_factors`).

Choosing the method per axis (``"auto"``): the matrix product along an axis costs ``~ w L`` multiply-adds per
line, the FFT ``~ L log2 L`` flops, so the product wins when

.. math::  w < \alpha \log_2 L,

with :math:`\alpha` measured per device type and kind of spectrum (:data:`ALPHA`); the full window (``w = L``)
always takes the FFT in ``"auto"``, and :func:`set_window_method` forces either method. The fused losses take the
"real" products (:func:`real_window_inverse`, :func:`real_window_adjoint`: the power spectrum is real, the centring
is folded into the matrices and the output is even, so only half the lags of the first axis are computed), when
every axis passes the rule; complex spectra (cross-correlations) take the generic per-axis products of
:func:`spatialstats._offsets.window_irfftn` and ``padded_rfftn``.

Measured on the 2-core AMD EPYC of the project (AVX2, MKL), torch 2.13 CPU, one thread, float32, a batch of
64 x 224 x 224 pixels, minimum of 5 interleaved runs with the machine shared (load average 9 on 2 cores), by
``PYTHONPATH=src python benchmarks/window_dft.py --threads 1 [--fused]``; ratio matmul / fft:

=====================  =========  =========  =========  =========  =========
w / log2 L             0.8-1.8    3.4-5.2    5.6-8.5    9.3-10.1   12.4-14.6
=====================  =========  =========  =========  =========  =========
fused CESS f+b         0.76-0.89  0.77-0.96  0.82-0.99  0.91-0.98  0.96-1.08
generic inverse        0.45-0.60  0.82-1.49  1.24-2.11  -          -
=====================  =========  =========  =========  =========  =========

(fused: n = 64, 224, 512, periodic and not, cutoff ``(w - 1) / 2``, forward + backward of the whole loss; generic:
the cropped inverse of a complex spectrum alone, its adjoint alike.) Hence :math:`\alpha = 10` for the real products
and 2 for the complex ones on CPU: with cutoff 25 (``w = 51``) a fused CESS of 224 x 224 fields takes the products.

On CUDA the rule is argued, not measured (no GPU was at hand): a length-``L`` FFT pass is memory bound, about
16 L bytes read and written per complex64 line at ~3 TB/s (H100), while the real products cost 4 w L flops per
line at ~50 TFLOP/s (float32 without TF32): break-even near w = 16 * 50e12 / (4 * 3e12) ~ 67 for any L, that is
:math:`\alpha \approx 8` at L = 256-512; the same 8 (real) and 2 (complex) are used until measured.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from spatialstats._tracing import tracing
from spatialstats._validation import check_choice

__all__ = ["set_window_method", "get_window_method"]

METHODS = ("auto", "fft", "matmul")
_METHOD = ["auto"]

#: ``w < ALPHA[device type][spectrum] * log2(L)``: the matrix product is used along an axis (see the module
#: docstring); "real" for a real spectrum with folded centring (:func:`real_window_inverse`), "complex" otherwise.
ALPHA = {"cpu": {"complex": 2.0, "real": 10.0}, "cuda": {"complex": 2.0, "real": 8.0}}


def set_window_method(method: str) -> None:
    r"""Choose how the losses and statistics compute a cropped window of offsets.

    ``"fft"``: a (pruned) FFT along every axis, then the crop. ``"matmul"``: a matrix product with the window's DFT
    matrix along every axis (the window-only DFT; exact to round-off, :math:`O(w L)` per line). ``"auto"`` (the
    default) takes the product along an axis when the window ``w`` is small against the FFT length ``L``,
    :math:`w < \alpha \log_2 L` with :math:`\alpha` measured per device type, else the FFT.

    Example:
        >>> import spatialstats
        >>> spatialstats.set_window_method("matmul"); spatialstats.get_window_method()
        'matmul'
        >>> spatialstats.set_window_method("auto")
    """
    _METHOD[0] = check_choice(method, "method", METHODS)


def get_window_method() -> str:
    """The method the statistics losses use to compute a cropped window of offsets: "auto", "fft" or "matmul" (see
    :func:`spatialstats.set_window_method`, whose rule it names).

    Example:
        >>> import spatialstats
        >>> spatialstats.get_window_method() in ("auto", "fft", "matmul")
        True
    """
    return _METHOD[0]


def use_matmul(length: int, window: int, device: torch.device, *, real: bool = False) -> bool:
    """Whether the axis of FFT length ``length`` cropped to ``window`` samples takes the matrix product; ``real``
    for the real-spectrum products of :func:`real_window_inverse` and :func:`real_window_adjoint`."""
    method = _METHOD[0]
    if method != "auto":
        return method == "matmul"
    alpha = ALPHA.get(device.type, ALPHA["cpu"])["real" if real else "complex"]
    return window < length and window < alpha * math.log2(max(length, 2))


def _phases(length: int, window: int, shift: int, size: int, device: torch.device) -> torch.Tensor:
    """``2 pi ((j - shift) k mod L) / L`` for ``j < window`` and ``k < size`` in float64 (reduced exactly)."""
    j = torch.arange(window, device=device, dtype=torch.int64).unsqueeze(1) - shift
    k = torch.arange(size, device=device, dtype=torch.int64).unsqueeze(0)
    return (j * k % length).to(torch.float64) * (2 * math.pi / length)


def _hermitian_weights(length: int, device: torch.device) -> torch.Tensor:
    """``(m, 1)``: ``h_k / L`` of the half spectrum, ``h_0 = h_{L/2} = 1`` and 2 otherwise."""
    weights = torch.full((length // 2 + 1, 1), 2.0 / length, dtype=torch.float64, device=device)
    weights[0] = 1 / length
    if length % 2 == 0:
        weights[-1] = 1 / length
    return weights


def _interleave(first: torch.Tensor, second: torch.Tensor, dim: int) -> torch.Tensor:
    """Alternate the slices of ``first`` and ``second`` along ``dim`` (the layout of ``view_as_real``)."""
    return torch.stack([first, second], dim=dim + 1).flatten(dim, dim + 1)


def _build(length: int, window: int, shift: int, kind: str, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """The matrices of :func:`dft_matrix`, in float64 / complex128 before the cast."""
    angle = _phases(length, window, shift, length // 2 + 1 if kind.endswith(("real", "cos")) else length, device)
    if kind == "inverse_complex":  # (w, L)
        matrix = torch.polar(torch.full_like(angle, 1 / length), angle)
    elif kind == "inverse_split":  # (2w, L): real and imaginary parts of the inverse_complex matrix
        matrix = torch.cat([torch.cos(angle), torch.sin(angle)]) / length
    elif kind == "forward_complex":  # (L, w)
        matrix = torch.polar(torch.ones_like(angle), -angle).T
    elif kind == "forward_split":  # (L, 2w): [cos | sin], the real part of forward_complex applied to (re; im)
        matrix = torch.cat([torch.cos(angle), torch.sin(angle)]).T
    elif kind == "inverse_real":  # (2m, w) over interleaved (re, im)
        weights = _hermitian_weights(length, device)
        matrix = _interleave(weights * torch.cos(angle.T), -weights * torch.sin(angle.T), 0)
    elif kind == "inverse_cos":  # (m, w): inverse_real for a real half spectrum
        matrix = _hermitian_weights(length, device) * torch.cos(angle.T)
    elif kind == "forward_real":  # (w, 2m) to interleaved (re, im)
        matrix = _interleave(torch.cos(angle), -torch.sin(angle), 1)
    elif kind == "forward_cos":  # (w, m): the real part of forward_real
        matrix = torch.cos(angle)
    else:
        raise ValueError(f"unknown DFT matrix kind {kind!r}")
    return matrix.to(dtype)


_cached_build = lru_cache(maxsize=256)(_build)


def dft_matrix(
    length: int, window: int, kind: str, dtype: torch.dtype, device: torch.device, shift: int = 0
) -> torch.Tensor:
    r"""The DFT matrix ``kind`` of an axis of FFT length ``length`` and window ``window`` whose sample ``j`` sits at
    index ``j - shift`` of the transform (a centred window when ``shift`` is the cutoff):

    - ``inverse_complex`` ``(w, L)`` :math:`e^{2\pi i (j - s) k / L} / L` (the ``ifft`` rows kept) and
      ``inverse_split`` ``(2w, L)`` its real and imaginary parts stacked;
    - ``forward_complex`` ``(L, w)`` :math:`e^{-2\pi i k (j - s) / L}` (the ``fft`` of a zero-padded window) and
      ``forward_split`` ``(L, 2w)`` ``[cos | sin]``, whose product with (real; imaginary) parts is the real part;
    - ``inverse_real`` ``(2m, w)``: the half spectrum's ``irfft`` over interleaved (real, imaginary) parts with the
      Hermitian weights, and ``inverse_cos`` ``(m, w)`` its real rows; ``forward_real`` ``(w, 2m)``: ``rfft`` to
      interleaved parts, ``forward_cos`` ``(w, m)`` its real part.

    ``dtype`` is complex for the complex kinds, real for the others. Cached in eager mode; built per call under
    ``torch.compile`` and inside ``torch.func`` transforms (:func:`~spatialstats._tracing.tracing`)."""
    build = _build if tracing() else _cached_build
    return build(int(length), int(window), int(shift), kind, dtype, torch.device(device))


def _real_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype in (torch.float64, torch.complex128) else torch.float32


def _complex_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype in (torch.float64, torch.complex128) else torch.complex64


def _along(values: torch.Tensor, matrix: torch.Tensor, dim: int) -> torch.Tensor:
    """Contract axis ``dim`` (negative) of ``values`` with the second axis of ``matrix`` ``(out, in)``."""
    if dim == -2:
        return matrix @ values
    return (values.movedim(dim, -1) @ matrix.T).movedim(-1, dim)


def inverse_axis(spectrum: torch.Tensor, length: int, window: int, dim: int) -> torch.Tensor:
    """First ``window`` samples of ``ifft(spectrum, n=length, dim=dim)`` by one matrix product."""
    matrix = dft_matrix(length, window, "inverse_complex", _complex_dtype(spectrum.dtype), spectrum.device)
    return _along(spectrum, matrix, dim)


def inverse_last_axis(spectrum: torch.Tensor, length: int, window: int) -> torch.Tensor:
    """First ``window`` samples of ``irfft(spectrum, n=length, dim=-1)`` by one real matrix product."""
    matrix = dft_matrix(length, window, "inverse_real", _real_dtype(spectrum.dtype), spectrum.device)
    return torch.view_as_real(spectrum.contiguous()).flatten(-2) @ matrix


def forward_axis(values: torch.Tensor, length: int, dim: int) -> torch.Tensor:
    """``fft(values, n=length, dim=dim)`` of values zero-padded at the end, by one matrix product."""
    window = values.shape[dim]
    matrix = dft_matrix(length, window, "forward_complex", _complex_dtype(values.dtype), values.device)
    return _along(values, matrix, dim)


def forward_last_axis(values: torch.Tensor, length: int) -> torch.Tensor:
    """``rfft(values, n=length, dim=-1)`` of real values zero-padded at the end, by one real matrix product."""
    matrix = dft_matrix(length, values.shape[-1], "forward_real", _real_dtype(values.dtype), values.device)
    product = values @ matrix
    return torch.view_as_complex(product.reshape(*product.shape[:-1], -1, 2))


def _symmetric(windows: tuple[int, ...], shifts: tuple[int, ...]) -> bool:
    """Every axis holds the lags ``-c .. c`` (``w = 2 c + 1`` and the shift ``c``)."""
    return all(w == 2 * s + 1 for w, s in zip(windows, shifts))


def real_window_inverse(
    power: torch.Tensor, lengths: tuple[int, ...], windows: tuple[int, ...], shifts: tuple[int, ...]
) -> torch.Tensor:
    """``irfftn(power * f, s=lengths)`` on the first ``windows[d]`` samples per axis, for a real half spectrum
    ``power`` (such as :math:`|F|^2`) and the centring factors ``f`` of
    :func:`spatialstats._offsets.shift_factors` with ``shifts``, folded into the matrices. The first axis takes the
    real spectrum at half the cost of a complex one; the last returns the real part only.

    The inverse of a real half spectrum is even, :math:`x(-r) = x(r)` (``irfftn`` keeps the even part), so on a
    window of lags ``-c .. c`` only the lags ``0 .. c`` of the first axis are computed and the rest mirrored."""
    ndim = len(lengths)
    if ndim == 1 or not _symmetric(windows, shifts):
        return _real_window_inverse(power, lengths, windows, shifts)
    cutoff = shifts[0]
    half = _real_window_inverse(power, lengths, (cutoff + 1, *windows[1:]), (0, *shifts[1:]))
    mirrored = half.flip(tuple(range(-ndim, 0))).narrow(-ndim, 0, cutoff)
    return torch.cat([mirrored, half], dim=-ndim)


def _real_window_inverse(
    power: torch.Tensor, lengths: tuple[int, ...], windows: tuple[int, ...], shifts: tuple[int, ...]
) -> torch.Tensor:
    ndim, device, dtype = len(lengths), power.device, power.dtype
    if ndim == 1:
        return power @ dft_matrix(lengths[0], windows[0], "inverse_cos", dtype, device, shifts[0])
    split = _along(power, dft_matrix(lengths[0], windows[0], "inverse_split", dtype, device, shifts[0]), -ndim)
    values = torch.complex(split.narrow(-ndim, 0, windows[0]), split.narrow(-ndim, windows[0], windows[0]))
    for axis in range(1, ndim - 1):
        matrix = dft_matrix(lengths[axis], windows[axis], "inverse_complex", values.dtype, device, shifts[axis])
        values = _along(values, matrix, axis - ndim)
    last = dft_matrix(lengths[-1], windows[-1], "inverse_real", dtype, device, shifts[-1])
    return torch.view_as_real(values).flatten(-2) @ last


def real_window_adjoint(values: torch.Tensor, lengths: tuple[int, ...], shifts: tuple[int, ...]) -> torch.Tensor:
    r"""``2 Re(rfftn(values, s=lengths) * conj(f))`` for real ``values`` on a window at the start of each axis (the
    adjoint of :func:`real_window_inverse`, the backward's spectrum of ``dL/dA``): the last axis maps the window to
    the half spectrum, the first returns the real part only.

    With ``r`` the lag of a window sample, this is :math:`2 \sum_r v(r) \cos(2\pi k \cdot r / L)`, even in ``r``: on a
    window of lags ``-c .. c`` the values at ``r`` and ``-r`` are summed first and only the lags ``0 .. c`` of the
    first axis transformed (lag 0 halved, as it is counted from both sides)."""
    ndim = len(lengths)
    windows = tuple(values.shape[-ndim:])
    if ndim == 1 or not _symmetric(windows, shifts):
        return _real_window_adjoint(values, lengths, shifts)
    cutoff = shifts[0]
    flipped = values.flip(tuple(range(-ndim, 0)))
    folded = values.narrow(-ndim, cutoff, cutoff + 1) + flipped.narrow(-ndim, cutoff, cutoff + 1)
    folded.narrow(-ndim, 0, 1).mul_(0.5)
    return _real_window_adjoint(folded, lengths, (0, *shifts[1:]))


def _real_window_adjoint(values: torch.Tensor, lengths: tuple[int, ...], shifts: tuple[int, ...]) -> torch.Tensor:
    ndim, device, dtype = len(lengths), values.device, values.dtype
    windows = tuple(values.shape[-ndim:])
    values = values * 2
    if ndim == 1:
        return values @ dft_matrix(lengths[0], windows[0], "forward_cos", dtype, device, shifts[0])
    product = values @ dft_matrix(lengths[-1], windows[-1], "forward_real", dtype, device, shifts[-1])
    spectrum = torch.view_as_complex(product.reshape(*product.shape[:-1], -1, 2))
    for axis in range(ndim - 2, 0, -1):
        matrix = dft_matrix(lengths[axis], windows[axis], "forward_complex", spectrum.dtype, device, shifts[axis])
        spectrum = _along(spectrum, matrix, axis - ndim)
    stacked = torch.cat([spectrum.real, spectrum.imag], dim=-ndim)
    return _along(stacked, dft_matrix(lengths[0], windows[0], "forward_split", dtype, device, shifts[0]), -ndim)
