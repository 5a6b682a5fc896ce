r"""Write an offline, MICRO2D-shaped HDF5 stand-in: ten periodic binary microstructure classes.

The file has exactly the MICRO2D layout read by :mod:`vae_micro2d.data`: one top-level group per class ``C`` with
``C/C`` (the group and its image dataset share the class name, e.g. ``GRF/GRF``) (N, size, size) uint8 images in {0, 1},
``C/homogenized_thermal`` (N, 6, 2) effective conductivities (kx, ky) computed by an FFT homogenization solver for
six contrasts (see :mod:`vae_micro2d.properties`), and placeholder ``C/homogenized_mechanical`` (N, 6, 5)
properties (a simple rule of mixtures in the phase-1 volume fraction :math:`v`, e.g. :math:`E = E_0 (1 - v) + E_1
v`, plus small noise), each with an ``INSTRUCTIONS`` attribute.
Every image is periodic (distances are measured on the torus), like MICRO2D.

Classes (same names as MICRO2D), all drawn with :mod:`spatialstats.synthetic`: thresholded Gaussian random fields
(``GRF``, anisotropic ``NBSA``), ellipses at a shared angle (``AngEllipse``) or random angles (``RandomEllipse``),
circular voids (``VoidSmall``, two sizes ``VoidSmallBig``) and Voronoi tessellations with random phases
(``VoronoiLarge``, ``VoronoiMedium``, ``VoronoiSmall``; ``VoronoiMediumSpaced`` separates the cells by phase-0
boundaries).

Run: ``python examples/vae_micro2d/make_synthetic_dataset.py --out data/micro2d_synthetic.h5 --samples-per-class 100``

Example:
    >>> import tempfile, os, h5py
    >>> path = os.path.join(tempfile.mkdtemp(), "stand_in.h5")
    >>> counts = write_synthetic_micro2d(path, samples_per_class=2, size=32, seed=0)
    >>> len(counts), counts["GRF"]
    (10, 2)
    >>> with h5py.File(path) as handle:
    ...     handle["GRF/GRF"].shape, handle["GRF/homogenized_mechanical"].shape
    ((2, 32, 32), (2, 6, 5))
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import math
import os
from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import torch

from spatialstats import synthetic
from vae_micro2d.properties import THERMAL_INSTRUCTIONS, thermal_properties

__all__ = ["CLASS_NAMES", "write_synthetic_micro2d", "generate_class"]


def _class_generators(size: int) -> dict[str, Callable[[int, int], torch.Tensor]]:
    """Per MICRO2D class, ``(count, seed) -> (count, size, size)`` labels from :mod:`spatialstats.synthetic`, with
    lengths scaled to the image size (the parameters are those of a 256 px image)."""
    scale = size / 256
    binary = lambda labels: (labels == 1).long()  # noqa: E731  (Voronoi boundaries, phase 2, join phase 0)
    return {
        "GRF": lambda n, s: synthetic.gaussian_random_field(n, size, correlation_length=8 * scale, volume_fractions=0.45, seed=s),
        "NBSA": lambda n, s: synthetic.gaussian_random_field(
            n, size, correlation_length=(16 * scale, 4 * scale), angle=0.6, volume_fractions=0.4, seed=s
        ),
        "AngEllipse": lambda n, s: synthetic.ellipses(
            n, size, count=14, semi_axes=(24 * scale, 8 * scale), angle=0.7, seed=s
        ),
        "RandomEllipse": lambda n, s: synthetic.ellipses(
            n, size, count=14, semi_axes=(24 * scale, 8 * scale), angle=0.0, angle_spread=math.pi / 2, seed=s
        ),
        "VoidSmall": lambda n, s: 1 - synthetic.voids(n, size, count=25, radius_range=(8 * scale, 13 * scale), seed=s),
        "VoidSmallBig": lambda n, s: 1 - synthetic.voids(n, size, count=20, radius_range=(8 * scale, 30 * scale), seed=s),
        "VoronoiLarge": lambda n, s: synthetic.voronoi(n, size, grains=8, boundary_width=0, grain_phases=2, seed=s),
        "VoronoiMedium": lambda n, s: synthetic.voronoi(n, size, grains=25, boundary_width=0, grain_phases=2, seed=s),
        "VoronoiMediumSpaced": lambda n, s: binary(
            synthetic.voronoi(n, size, grains=25, boundary_width=10 * scale, grain_phases=2, seed=s)
        ),
        "VoronoiSmall": lambda n, s: synthetic.voronoi(n, size, grains=80, boundary_width=0, grain_phases=2, seed=s),
    }


#: The ten MICRO2D class names, generated here by :mod:`spatialstats.synthetic`.
CLASS_NAMES: tuple[str, ...] = tuple(_class_generators(256))


def generate_class(name: str, count: int, *, size: int = 256, seed: int = 0) -> np.ndarray:
    """``count`` binary images ``(count, size, size)`` uint8 of class ``name``, reproducible from ``seed``."""
    if name not in CLASS_NAMES:
        raise ValueError(f"name must be one of {CLASS_NAMES}, got {name!r}")
    labels = _class_generators(size)[name](count, seed * 1000 + CLASS_NAMES.index(name))
    return labels.to(torch.uint8).numpy()


def _homogenized_properties(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Placeholder mechanical properties (rule of mixtures) and solver-computed thermal ones (kx, ky)."""
    fraction = images.reshape(len(images), -1).mean(axis=1, dtype=np.float64)
    mixture = lambda low, high: low * (1 - fraction) + high * fraction  # noqa: E731
    mechanical = np.empty((len(images), 6, 5), dtype=np.float32)
    for contrast in range(6):
        stiffness = mixture(1.0, 1.0 + 10.0 * (contrast + 1))
        mechanical[:, contrast, 0] = stiffness  # E11
        mechanical[:, contrast, 1] = stiffness * (1 + 0.05 * rng.standard_normal(len(images)))  # E22
        mechanical[:, contrast, 2] = stiffness / 2.6  # G12
        mechanical[:, contrast, 3] = 0.3 + 0.01 * rng.standard_normal(len(images))  # nu12
        mechanical[:, contrast, 4] = 0.3 + 0.01 * rng.standard_normal(len(images))  # nu21
    return mechanical, thermal_properties(images)


def write_synthetic_micro2d(
    path: str | os.PathLike, *, samples_per_class: int = 100, size: int = 256, seed: int = 0
) -> dict[str, int]:
    """Write the stand-in file (overwriting ``path``); returns the image count per class."""
    if samples_per_class < 1:
        raise ValueError(f"samples_per_class must be >= 1, got {samples_per_class}")
    if size < 8:
        raise ValueError(f"size must be >= 8, got {size}")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    temporary = Path(f"{path}.tmp")
    with h5py.File(temporary, "w") as handle:
        handle.attrs["description"] = "Synthetic MICRO2D-shaped stand-in written by vae_micro2d.make_synthetic_dataset"
        for name in CLASS_NAMES:
            images = generate_class(name, samples_per_class, size=size, seed=seed)
            mechanical, thermal = _homogenized_properties(images, rng)
            group = handle.create_group(name)
            group.create_dataset(name, data=images, chunks=(1, size, size))
            group.create_dataset("homogenized_mechanical", data=mechanical).attrs["INSTRUCTIONS"] = (
                "Placeholder (rule of mixtures). Axis 1: six phase contrasts; axis 2: E11, E22, G12, nu12, nu21."
            )
            group.create_dataset("homogenized_thermal", data=thermal).attrs["INSTRUCTIONS"] = THERMAL_INSTRUCTIONS
    os.replace(temporary, path)
    return {name: samples_per_class for name in CLASS_NAMES}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="HDF5 file to write")
    parser.add_argument("--samples-per-class", type=int, default=100)
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (MICRO2D: 256)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    counts = write_synthetic_micro2d(args.out, samples_per_class=args.samples_per_class, size=args.size, seed=args.seed)
    print(f"wrote {sum(counts.values())} images in {len(counts)} classes to {args.out}")


if __name__ == "__main__":
    main()
