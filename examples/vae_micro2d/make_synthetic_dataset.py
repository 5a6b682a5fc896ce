r"""Write an offline, MICRO2D-shaped HDF5 stand-in: ten periodic binary microstructure classes.

The file has exactly the MICRO2D layout read by :mod:`vae_micro2d.data`: one top-level group per class ``C`` with
``C/C`` (the group and its image dataset share the class name, e.g. ``GRF/GRF``) (N, size, size) uint8 images in {0, 1}, and placeholder ``C/homogenized_mechanical`` (N, 6, 5) and
``C/homogenized_thermal`` (N, 6, 2) properties (a simple rule of mixtures in the phase-1 volume fraction
:math:`v`, e.g. :math:`E = E_0 (1 - v) + E_1 v`, plus small noise), each with an ``INSTRUCTIONS`` attribute.
Every image is periodic (distances are measured on the torus), like MICRO2D.

Classes (same names as MICRO2D): thresholded Gaussian random fields (``GRF``, anisotropic ``NBSA``), ellipses at a
shared angle (``AngEllipse``) or random angles (``RandomEllipse``), circular voids (``VoidSmall``, two sizes
``VoidSmallBig``) and Voronoi tessellations with random phases (``VoronoiLarge``, ``VoronoiMedium``,
``VoronoiSmall``; ``VoronoiMediumSpaced`` separates the cells by phase-0 boundaries).

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

__all__ = ["CLASS_NAMES", "write_synthetic_micro2d", "generate_class"]


def _torus_offsets(size: int, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Periodic offsets (dy, dx) of every pixel from each center: shapes (K, size, size)."""
    coordinates = torch.arange(size, dtype=torch.float32)
    dy = coordinates.view(1, size, 1) - centers[:, 0].view(-1, 1, 1)
    dx = coordinates.view(1, 1, size) - centers[:, 1].view(-1, 1, 1)
    wrap = lambda d: torch.remainder(d + size / 2, size) - size / 2  # noqa: E731
    return wrap(dy), wrap(dx)


def _gaussian_random_field(size: int, length_y: float, length_x: float, generator: torch.Generator) -> torch.Tensor:
    noise = torch.randn(size, size, generator=generator)
    frequencies = torch.fft.fftfreq(size)
    kernel = torch.exp(
        -2 * math.pi**2 * ((frequencies.view(-1, 1) * length_y) ** 2 + (frequencies.view(1, -1) * length_x) ** 2)
    )
    return torch.fft.ifft2(torch.fft.fft2(noise) * kernel).real


def _threshold_at_fraction(field: torch.Tensor, volume_fraction: float) -> torch.Tensor:
    level = torch.quantile(field.flatten(), 1 - volume_fraction)
    return (field > level).to(torch.uint8)


def _grf(size: int, g: torch.Generator, anisotropic: bool) -> torch.Tensor:
    scale = size / 32 * (1 + 2 * torch.rand(1, generator=g).item())
    ratio = 3.0 + 2 * torch.rand(1, generator=g).item() if anisotropic else 1.0
    field = _gaussian_random_field(size, scale, scale * ratio, g)
    return _threshold_at_fraction(field, 0.3 + 0.3 * torch.rand(1, generator=g).item())


def _ellipses(size: int, g: torch.Generator, shared_angle: bool) -> torch.Tensor:
    count = int(torch.randint(8, 20, (1,), generator=g))
    centers = torch.rand(count, 2, generator=g) * size
    semi_major = size * (0.06 + 0.05 * torch.rand(count, generator=g))
    semi_minor = semi_major * (0.3 + 0.3 * torch.rand(count, generator=g))
    angles = (torch.full((count,), torch.rand(1, generator=g).item()) if shared_angle else torch.rand(count, generator=g)) * math.pi
    dy, dx = _torus_offsets(size, centers)
    cos, sin = torch.cos(angles).view(-1, 1, 1), torch.sin(angles).view(-1, 1, 1)
    along, across = dx * cos + dy * sin, -dx * sin + dy * cos
    inside = (along / semi_major.view(-1, 1, 1)) ** 2 + (across / semi_minor.view(-1, 1, 1)) ** 2 <= 1
    return inside.any(dim=0).to(torch.uint8)


def _voids(size: int, g: torch.Generator, two_sizes: bool) -> torch.Tensor:
    count = int(torch.randint(15, 35, (1,), generator=g))
    centers = torch.rand(count, 2, generator=g) * size
    radii = size * (0.03 + 0.02 * torch.rand(count, generator=g))
    if two_sizes:
        radii = torch.where(torch.rand(count, generator=g) < 0.25, radii * 2.5, radii)
    dy, dx = _torus_offsets(size, centers)
    void = (dy**2 + dx**2 <= radii.view(-1, 1, 1) ** 2).any(dim=0)
    return (~void).to(torch.uint8)


def _voronoi(size: int, g: torch.Generator, cells: int, gap: float) -> torch.Tensor:
    centers = torch.rand(cells, 2, generator=g) * size
    dy, dx = _torus_offsets(size, centers)
    distances = torch.sqrt(dy**2 + dx**2)
    nearest = distances.topk(2, dim=0, largest=False)
    phase_of_cell = (torch.rand(cells, generator=g) < 0.5).to(torch.uint8)
    image = phase_of_cell[nearest.indices[0]]
    if gap > 0:
        image = image * ((nearest.values[1] - nearest.values[0]) > gap * size).to(torch.uint8)
    return image


_GENERATORS: dict[str, Callable[[int, torch.Generator], torch.Tensor]] = {
    "GRF": lambda n, g: _grf(n, g, anisotropic=False),
    "NBSA": lambda n, g: _grf(n, g, anisotropic=True),
    "AngEllipse": lambda n, g: _ellipses(n, g, shared_angle=True),
    "RandomEllipse": lambda n, g: _ellipses(n, g, shared_angle=False),
    "VoidSmall": lambda n, g: _voids(n, g, two_sizes=False),
    "VoidSmallBig": lambda n, g: _voids(n, g, two_sizes=True),
    "VoronoiLarge": lambda n, g: _voronoi(n, g, cells=8, gap=0.0),
    "VoronoiMedium": lambda n, g: _voronoi(n, g, cells=25, gap=0.0),
    "VoronoiMediumSpaced": lambda n, g: _voronoi(n, g, cells=25, gap=0.04),
    "VoronoiSmall": lambda n, g: _voronoi(n, g, cells=80, gap=0.0),
}

#: The ten MICRO2D class names, generated here by simple periodic models.
CLASS_NAMES: tuple[str, ...] = tuple(_GENERATORS)


def generate_class(name: str, count: int, *, size: int = 256, seed: int = 0) -> np.ndarray:
    """``count`` binary images ``(count, size, size)`` uint8 of class ``name``, reproducible from ``seed``."""
    if name not in _GENERATORS:
        raise ValueError(f"name must be one of {CLASS_NAMES}, got {name!r}")
    generator = torch.Generator().manual_seed(seed * 1000 + CLASS_NAMES.index(name))
    return torch.stack([_GENERATORS[name](size, generator) for _ in range(count)]).numpy()


def _placeholder_properties(images: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    fraction = images.reshape(len(images), -1).mean(axis=1, dtype=np.float64)
    mixture = lambda low, high: low * (1 - fraction) + high * fraction  # noqa: E731
    mechanical = np.empty((len(images), 6, 5), dtype=np.float32)
    thermal = np.empty((len(images), 6, 2), dtype=np.float32)
    for contrast in range(6):
        stiffness = mixture(1.0, 1.0 + 10.0 * (contrast + 1))
        mechanical[:, contrast, 0] = stiffness  # E11
        mechanical[:, contrast, 1] = stiffness * (1 + 0.05 * rng.standard_normal(len(images)))  # E22
        mechanical[:, contrast, 2] = stiffness / 2.6  # G12
        mechanical[:, contrast, 3] = 0.3 + 0.01 * rng.standard_normal(len(images))  # nu12
        mechanical[:, contrast, 4] = 0.3 + 0.01 * rng.standard_normal(len(images))  # nu21
        conductivity = mixture(1.0, 1.0 + 5.0 * (contrast + 1))
        thermal[:, contrast, 0] = conductivity
        thermal[:, contrast, 1] = conductivity * (1 + 0.05 * rng.standard_normal(len(images)))
    return mechanical, thermal


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
            mechanical, thermal = _placeholder_properties(images, rng)
            group = handle.create_group(name)
            group.create_dataset(name, data=images, chunks=(1, size, size))
            group.create_dataset("homogenized_mechanical", data=mechanical).attrs["INSTRUCTIONS"] = (
                "Placeholder (rule of mixtures). Axis 1: six phase contrasts; axis 2: E11, E22, G12, nu12, nu21."
            )
            group.create_dataset("homogenized_thermal", data=thermal).attrs["INSTRUCTIONS"] = (
                "Placeholder (rule of mixtures). Axis 1: six phase contrasts; axis 2: k11, k22."
            )
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
