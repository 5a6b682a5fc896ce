r"""Lazy reader of the MICRO2D HDF5 file, with deterministic class-stratified splits.

Layout (``MICRO2D_homogenized.h5``): one top-level group per class ``C``, with the binary images in dataset
``C/C`` of shape ``(N, H, W)`` and the homogenized properties ``C/homogenized_mechanical`` ``(N, 6, 5)`` and
``C/homogenized_thermal`` ``(N, 6, 2)``. Classes are discovered from the file.

Resizing (256 -> 224 by default, :func:`resize_binary`) keeps each image binary, keeps its volume fraction and
keeps thin features: area interpolation gives each output pixel the phase-1 fraction :math:`g` of the input region
it covers (exact overlaps, :func:`area_matrix`); the :math:`k = \operatorname{round}(\phi\, S^2)` pixels of largest :math:`g` become phase 1, where
:math:`\phi` is the input's phase-1 fraction and :math:`S` the output size (a threshold at the per-image quantile
that keeps the fraction, to within :math:`1/(2S^2)`). Ties (equal :math:`g`, e.g. a 1-pixel line at a 4x reduction,
whose pixels all read 0.25) are broken by an 8 x 8 Bayer ordered-dither matrix, so the kept pixels are spread evenly
over every tied feature: a line too thin for the output becomes a dotted line of the right density instead of
vanishing (a fixed threshold at 0.5 moved Bernoulli(0.5) images from 0.50 to 0.69 and erased 1-pixel lines at a 4x
reduction). Images are only ever reduced: a size larger than the file's is refused.

Each :class:`Micro2DDataset` opens its own HDF5 handle lazily, once per process, so DataLoader workers never share
a handle.

Example:
    >>> import tempfile, os
    >>> from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d
    >>> from vae_micro2d.data import build_splits, Micro2DDataset
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.h5")
    >>> _ = write_synthetic_micro2d(path, samples_per_class=5, size=32, seed=0)
    >>> splits = build_splits(path, fractions=(0.6, 0.2, 0.2), seed=0)
    >>> [len(splits[name]) for name in ("train", "val", "test")]
    [30, 10, 10]
    >>> image, label = Micro2DDataset(path, splits["train"], image_size=16)[0]
    >>> tuple(image.shape), image.unique().tolist() in ([0.0, 1.0], [0.0], [1.0])
    ((1, 16, 16), True)
"""

from __future__ import annotations

import os
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

__all__ = [
    "SampleRef", "Micro2DLayoutError", "MICRO2D_SIZE", "discover_classes", "image_side", "check_image_size", "build_splits",
    "Micro2DDataset", "resize_binary", "area_matrix",
]

#: Side of the MICRO2D images (256 x 256).
MICRO2D_SIZE = 256


class Micro2DLayoutError(ValueError):
    """The HDF5 file does not have the MICRO2D layout (or holds non-binary images)."""


@dataclass(frozen=True)
class SampleRef:
    """One image of the file: its class group, its row in ``C/C`` and the class label (index in sorted classes)."""

    class_name: str
    index: int
    label: int


def _check_path(path: str | os.PathLike) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    resolved = Path(path)
    if not resolved.is_file():
        raise FileNotFoundError(
            f"MICRO2D file not found: {resolved!s}. Download MICRO2D_homogenized.h5 or write a stand-in with "
            "`python examples/vae_micro2d/make_synthetic_dataset.py --out <file>`."
        )
    return resolved


def discover_classes(path: str | os.PathLike) -> dict[str, int]:
    """Class groups of the file and their image counts, sorted by name; checks the layout.

    Raises:
        FileNotFoundError: no file at ``path``.
        Micro2DLayoutError: not an HDF5 file, no class group, a group without its ``C/C`` image dataset, or image
            datasets that are not ``(N, H, W)`` with square ``H == W``.
    """
    resolved = _check_path(path)
    try:
        handle = h5py.File(resolved, "r")
    except OSError as error:
        raise Micro2DLayoutError(f"{resolved!s} is not a readable HDF5 file: {error}") from error
    counts: dict[str, int] = {}
    with handle:
        groups = sorted(name for name, item in handle.items() if isinstance(item, h5py.Group))
        if not groups:
            raise Micro2DLayoutError(f"{resolved!s} has no class groups; expected one top-level group per class")
        for name in groups:
            if name not in handle[name] or not isinstance(handle[name][name], h5py.Dataset):
                raise Micro2DLayoutError(
                    f"class group {name!r} of {resolved!s} has no image dataset {name}/{name}"
                )
            shape = handle[name][name].shape
            if len(shape) != 3 or shape[1] != shape[2] or shape[0] < 1:
                raise Micro2DLayoutError(
                    f"images {name}/{name} of {resolved!s} must have shape (N, H, H) with N >= 1, got {shape}"
                )
            counts[name] = int(shape[0])
    return counts


def image_side(path: str | os.PathLike) -> int:
    """The common side ``H`` of the ``(N, H, H)`` image datasets of the file.

    Raises:
        Micro2DLayoutError: the classes hold images of different sizes (besides the checks of
            :func:`discover_classes`).
    """
    discover_classes(path)
    with h5py.File(path, "r") as handle:
        sides = {name: int(handle[name][name].shape[1]) for name in handle if isinstance(handle[name], h5py.Group)}
    if len(set(sides.values())) != 1:
        raise Micro2DLayoutError(f"the classes of {os.fspath(path)} hold images of different sizes: {sides}")
    return next(iter(sides.values()))


def check_image_size(path: str | os.PathLike, image_size: int) -> str | None:
    """Refuse an ``image_size`` larger than the file's images (they are only ever reduced); return a note to print
    when the file's images are not MICRO2D's 256 x 256, else ``None``.

    Raises:
        ValueError: ``image_size`` exceeds the side of the file's images.
    """
    side = image_side(path)
    if image_size > side:
        raise ValueError(
            f"image_size must be <= the side of the images of {os.fspath(path)} ({side} x {side}): images are only "
            f"reduced, never upsampled; got {image_size}"
        )
    if side != MICRO2D_SIZE:
        return (f"note: the images of {os.fspath(path)} are {side} x {side} (MICRO2D's are {MICRO2D_SIZE} x "
                f"{MICRO2D_SIZE}); they are read resized to {image_size} x {image_size}")
    return None


def build_splits(
    path: str | os.PathLike,
    *,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    max_samples_per_class: int | None = None,
) -> dict[str, list[SampleRef]]:
    r"""Deterministic train/val/test split, stratified by class.

    Each class's indices are shuffled with ``seed`` (and the class name), cut to ``max_samples_per_class`` and split
    by ``fractions``: class :math:`c` with :math:`N_c` images gives :math:`\lfloor f_\mathrm{val} N_c \rceil` validation
    and :math:`\lfloor f_\mathrm{test} N_c \rceil` test images, the rest for training.
    """
    if len(fractions) != 3 or any(f < 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {tuple(fractions)}")
    if max_samples_per_class is not None and max_samples_per_class < 1:
        raise ValueError(f"max_samples_per_class must be >= 1 or None, got {max_samples_per_class}")
    splits: dict[str, list[SampleRef]] = {"train": [], "val": [], "test": []}
    for label, (name, count) in enumerate(discover_classes(path).items()):
        indices = list(range(count))
        random.Random(f"{seed}-{name}").shuffle(indices)
        if max_samples_per_class is not None:
            indices = indices[:max_samples_per_class]
        n_val = round(fractions[1] * len(indices))
        n_test = round(fractions[2] * len(indices))
        n_train = len(indices) - n_val - n_test
        parts = {"train": indices[:n_train], "val": indices[n_train : n_train + n_val], "test": indices[n_train + n_val :]}
        for split, part in parts.items():
            splits[split].extend(SampleRef(name, index, label) for index in sorted(part))
    return splits


def _bayer(size: int) -> torch.Tensor:
    """The ``size x size`` Bayer ordered-dither matrix (``size`` a power of two): a permutation of ``0 .. size^2-1``
    whose low values are spread evenly over the tile."""
    matrix = torch.zeros(1, 1, dtype=torch.long)
    while matrix.shape[0] < size:
        matrix = torch.cat([torch.cat([4 * matrix, 4 * matrix + 2], 1), torch.cat([4 * matrix + 3, 4 * matrix + 1], 1)], 0)
    return matrix


def area_matrix(length: int, size: int) -> torch.Tensor:
    """``(size, length)`` float64 weights of exact area resampling along one axis: row ``i`` holds the overlaps of
    output cell ``[i L/S, (i+1) L/S)`` with the input pixels, divided by its width (rows sum to one).

    Example:
        >>> area_matrix(3, 2).mul(4).tolist()
        [[2.6666666666666665, 1.3333333333333333, 0.0], [0.0, 1.3333333333333333, 2.6666666666666665]]
    """
    start = torch.arange(size, dtype=torch.float64)[:, None] * length  # in units of 1/size input pixels
    pixel = torch.arange(length, dtype=torch.float64)[None, :] * size
    overlap = (torch.minimum(start + length, pixel + size) - torch.maximum(start, pixel)).clamp_min(0)
    return overlap / length


def resize_binary(image: torch.Tensor, size: int) -> torch.Tensor:
    """Reduce binary ``(..., H, W)`` images to ``size x size``, keeping each image's phase-1 fraction and thin features.

    Area interpolation to grey levels, then the ``round(fraction * size**2)`` greyest pixels of each image become 1,
    ties broken by an 8 x 8 Bayer matrix (see the module docstring).

    Example:
        >>> lines = torch.zeros(256, 256)
        >>> lines[:, ::16] = 1.0                        # 1-pixel lines, 6.25 % phase 1
        >>> small = resize_binary(lines, 64)
        >>> small.mean().item(), int((small.sum(dim=0) > 0).sum())   # same fraction, all 16 lines still there
        (0.0625, 16)
    """
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    if size > min(image.shape[-2:]):
        raise ValueError(f"size must be <= the image size {tuple(image.shape[-2:])} (only reductions), got {size}")
    leading = image.shape[:-2]
    flat = image.reshape(-1, *image.shape[-2:]).to(torch.float64)
    grey = (area_matrix(image.shape[-2], size) @ flat @ area_matrix(image.shape[-1], size).T).flatten(1)
    keep = torch.round(flat.flatten(1).mean(dim=1) * size * size).long()
    tiles = -(-size // 8)
    dither = _bayer(8).repeat(tiles, tiles)[:size, :size].flatten()
    # order pixels by grey level (descending), ties by the dither rank (ascending): two stable sorts
    by_dither = torch.argsort(dither, stable=True)
    order = by_dither[torch.argsort(-grey[:, by_dither], dim=1, stable=True)]
    rank = torch.empty_like(order).scatter_(1, order, torch.arange(size * size).expand_as(order))
    resized = (rank < keep[:, None]).to(image.dtype)
    return resized.reshape(*leading, size, size)


class Micro2DDataset(torch.utils.data.Dataset):
    """Images ``(1, image_size, image_size)`` float32 in {0, 1} (phase-1 indicator) and integer class labels.

    Args:
        path: the HDF5 file.
        samples: which images (from :func:`build_splits`).
        image_size: output size (224 for the reference model; images are resized as described above).
    """

    def __init__(self, path: str | os.PathLike, samples: Sequence[SampleRef], *, image_size: int = 224) -> None:
        self.path = _check_path(path)
        if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
            raise ValueError(f"image_size must be a positive int, got {image_size!r}")
        self.samples = list(samples)
        self.image_size = image_size
        self._handle: h5py.File | None = None
        self._handle_pid: int | None = None

    def __len__(self) -> int:
        return len(self.samples)

    def _file(self) -> h5py.File:
        if self._handle is None or self._handle_pid != os.getpid():
            self._handle = h5py.File(self.path, "r")
            self._handle_pid = os.getpid()
        return self._handle

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_handle"] = None
        state["_handle_pid"] = None
        return state

    def __getitem__(self, item: int) -> tuple[torch.Tensor, int]:
        sample = self.samples[item]
        raw = np.asarray(self._file()[sample.class_name][sample.class_name][sample.index])
        if raw.ndim != 2:
            raise Micro2DLayoutError(f"image {sample.class_name}[{sample.index}] must be 2-D, got shape {raw.shape}")
        image = torch.from_numpy(raw.astype(np.float32, copy=False))
        if not bool(((image == 0) | (image == 1)).all()):
            bad = image[(image != 0) & (image != 1)][:3].tolist()
            raise Micro2DLayoutError(
                f"image {sample.class_name}[{sample.index}] of {self.path!s} is not binary: found values {bad}, "
                "expected only 0 and 1"
            )
        return resize_binary(image, self.image_size).unsqueeze(0), sample.label
