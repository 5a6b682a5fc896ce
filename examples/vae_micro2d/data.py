r"""Lazy reader of the MICRO2D HDF5 file, with deterministic class-stratified splits.

Layout (``MICRO2D_homogenized.h5``): one top-level group per class ``C``, with the binary images in dataset
``C/C`` of shape ``(N, H, W)`` and the homogenized properties ``C/homogenized_mechanical`` ``(N, 6, 5)`` and
``C/homogenized_thermal`` ``(N, 6, 2)``. Classes are discovered from the file.

Resizing (256 -> 224 by default): area interpolation (each output pixel is the phase-1 volume fraction of the
input region it covers) followed by a threshold at 0.5, so images stay strictly binary and each output pixel takes
the majority phase of its footprint.

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
import torch.nn.functional as torch_functional

__all__ = ["SampleRef", "Micro2DLayoutError", "discover_classes", "build_splits", "Micro2DDataset", "resize_binary"]


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


def resize_binary(image: torch.Tensor, size: int) -> torch.Tensor:
    """Resize a binary ``(..., H, W)`` image to ``size x size``: area interpolation, then threshold at 0.5."""
    if image.shape[-1] == size and image.shape[-2] == size:
        return image
    leading = image.shape[:-2]
    flat = image.reshape(-1, 1, *image.shape[-2:])
    resized = torch_functional.interpolate(flat, size=(size, size), mode="area")
    return (resized >= 0.5).to(image.dtype).reshape(*leading, size, size)


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
