"""Synthetic microstructure generators: shapes, seeds, geometry and statistics they must show."""

from __future__ import annotations

import math

import pytest
import torch

import spatialstats as ss
from spatialstats import synthetic

GENERATORS = {
    "circles": lambda **k: synthetic.circles(**k),
    "ellipses": lambda **k: synthetic.ellipses(**k, angle=0.3),
    "voids": lambda **k: synthetic.voids(**k),
    "grf": lambda **k: synthetic.gaussian_random_field(**k),
    "voronoi": lambda **k: synthetic.voronoi(**k),
}


@pytest.mark.parametrize("name", list(GENERATORS))
def test_shape_dtype_labels_and_seeds(name):
    make = GENERATORS[name]
    labels = make(batch=3, size=(40, 48), seed=1)
    assert labels.shape == (3, 40, 48) and labels.dtype == torch.long
    assert set(labels.unique().tolist()) <= {0, 1}
    assert torch.equal(labels, make(batch=3, size=(40, 48), seed=1))
    assert not torch.equal(labels, make(batch=3, size=(40, 48), seed=2))
    assert not torch.equal(labels[0], labels[1])  # samples in a batch differ


def lattice_points_in_disk(radius: float) -> int:
    """Pixel centres (i + 0.5, j + 0.5) within ``radius`` of a pixel corner, counted independently."""
    reach = math.ceil(radius) + 1
    return sum(
        1
        for i in range(-reach, reach)
        for j in range(-reach, reach)
        if (i + 0.5) ** 2 + (j + 0.5) ** 2 <= radius**2
    )


def test_one_circle_has_the_area_of_the_lattice_disk_and_wraps():
    labels = synthetic.circles(50, 32, count=1, radius=5.0, seed=0)
    areas = labels.flatten(1).sum(dim=1)
    # a centre at a generic position covers between the counts of disks shifted by under one pixel
    assert abs(areas.float().mean().item() - math.pi * 25) < 3
    assert areas.min() >= lattice_points_in_disk(5.0) - 12 and areas.max() <= lattice_points_in_disk(5.0) + 12
    # periodic wrap: a circle near the border shows up on the opposite side, so the area never shrinks
    assert areas.min() > 0.8 * math.pi * 25
    non_periodic = synthetic.circles(200, 32, count=1, radius=5.0, periodic=False, seed=0)
    assert non_periodic.flatten(1).sum(dim=1).min() < 0.8 * math.pi * 25


def test_paper_defaults():
    labels = synthetic.circles(4, seed=0)
    assert labels.shape == (4, 224, 224)
    assert 0.02 < labels.float().mean() < 5 * math.pi * 400 / 224**2 + 1e-6


def test_three_dimensional_spheres_and_voids():
    spheres = synthetic.circles(2, (20, 24, 28), count=1, radius=4.0, seed=0)
    assert spheres.shape == (2, 20, 24, 28)
    assert abs(spheres[0].sum().item() - 4 / 3 * math.pi * 64) < 20
    assert synthetic.voids(2, (16, 16, 16), count=10, seed=0).shape == (2, 16, 16, 16)
    assert synthetic.voronoi(2, (16, 16, 16), grains=5, seed=0).shape == (2, 16, 16, 16)


@pytest.mark.parametrize("fractions", [0.3, 0.55, [0.2, 0.3]])
def test_gaussian_field_volume_fractions(fractions):
    labels = synthetic.gaussian_random_field(3, (60, 50), volume_fractions=fractions, seed=0)
    wanted = [fractions] if isinstance(fractions, float) else fractions
    for phase, fraction in enumerate(wanted, start=1):
        # quantile thresholds hit the fraction to within one pixel per sample
        assert (labels == phase).flatten(1).float().mean(dim=1).sub(fraction).abs().max() <= 1 / 3000


def correlation_decay(labels: torch.Tensor, axis: int) -> float:
    """Phase-1 autocorrelation at lag 4 along ``axis``, relative to its zero-lag value."""
    stats = ss.two_point_stats(labels.float().unsqueeze(1), cutoff=4)[:, 1, 1].mean(dim=0)
    along = stats[4 + 4, 4] if axis == 0 else stats[4, 4 + 4]
    return (along / stats[4, 4]).item()


def test_anisotropic_field_is_longer_correlated_along_the_long_axis():
    labels = synthetic.gaussian_random_field(8, 96, correlation_length=(8.0, 2.0), seed=0)
    assert correlation_decay(labels, axis=0) > correlation_decay(labels, axis=1) + 0.1
    rotated = synthetic.gaussian_random_field(8, 96, correlation_length=(8.0, 2.0), angle=math.pi / 2, seed=0)
    assert correlation_decay(rotated, axis=1) > correlation_decay(rotated, axis=0) + 0.1


def test_ellipse_orientation_shows_in_the_statistics():
    along_first = synthetic.ellipses(8, 96, count=15, semi_axes=(15.0, 3.0), angle=0.0, seed=0)
    along_second = synthetic.ellipses(8, 96, count=15, semi_axes=(15.0, 3.0), angle=math.pi / 2, seed=0)
    assert correlation_decay(along_first, axis=0) > correlation_decay(along_first, axis=1) + 0.2
    assert correlation_decay(along_second, axis=1) > correlation_decay(along_second, axis=0) + 0.2


def test_voronoi_boundary_fraction_grows_with_width_and_phases_are_used():
    thin = synthetic.voronoi(4, 64, grains=12, boundary_width=1.0, seed=0).float().mean()
    thick = synthetic.voronoi(4, 64, grains=12, boundary_width=4.0, seed=0).float().mean()
    assert 0 < thin < thick < 1
    multi = synthetic.voronoi(4, 64, grains=20, boundary_width=0, grain_phases=4, seed=0)
    assert set(multi.unique().tolist()) == {0, 1, 2, 3}
    with_boundaries = synthetic.voronoi(4, 64, grains=20, boundary_width=2.0, grain_phases=2, seed=0)
    assert set(with_boundaries.unique().tolist()) == {0, 1, 2}  # boundaries are the extra phase 2


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: synthetic.circles(0), ValueError, "batch must be an int >= 1"),
        (lambda: synthetic.circles(1, (8, 8, 8, 8)), ValueError, "size must have 2 or 3 dimensions"),
        (lambda: synthetic.circles(1, 16, radius=-1), ValueError, "radius must be a positive number"),
        (lambda: synthetic.circles(1, "big"), TypeError, "size must be an int"),
        (lambda: synthetic.circles(1, 16, seed=1.5), TypeError, "seed must be an int or None"),
        (lambda: synthetic.ellipses(1, (8, 8, 8)), ValueError, "size must have 2 dimensions"),
        (lambda: synthetic.voids(1, 16, radius_range=(5, 2)), ValueError, "radius_range must be"),
        (lambda: synthetic.gaussian_random_field(1, 16, volume_fractions=1.2), ValueError, "volume_fractions"),
        (lambda: synthetic.gaussian_random_field(1, 16, volume_fractions=[0.6, 0.5]), ValueError, "volume_fractions"),
        (lambda: synthetic.gaussian_random_field(1, 16, correlation_length=(1, 2, 3)), ValueError, "correlation_length"),
        (lambda: synthetic.voronoi(1, 16, grains=1), ValueError, "grains must be an int >= 2"),
        (lambda: synthetic.voronoi(1, 16, boundary_width=0), ValueError, "boundary_width must be > 0"),
        (lambda: synthetic.voronoi(1, 16, grain_phases=0), ValueError, "grain_phases must be an int >= 1"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()
