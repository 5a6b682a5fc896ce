"""spatialstats.synthetic: shapes, seeds, exact geometry, volume fractions and the statistics the families must show."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

import spatialstats as ss
from spatialstats import synthetic

FAMILIES_2D = {
    "circles": lambda **k: synthetic.circles(count=3, radius=5.0, **k),
    "ellipses": lambda **k: synthetic.ellipses(count=6, semi_axes=(8.0, 3.0), angle=0.4, **k),
    "voids": lambda **k: synthetic.voids(count=30, **k),
    "gaussian_random_field": lambda **k: synthetic.gaussian_random_field(volume_fractions=0.35, **k),
    "voronoi": lambda **k: synthetic.voronoi(grains=8, **k),
}
FAMILIES_3D = ["circles", "voids", "gaussian_random_field", "voronoi"]


def lattice_points_in_ball(radius: float, ndim: int) -> int:
    """#{z in Z^ndim : |z| <= radius}, counted by brute force."""
    reach = math.floor(radius)
    return sum(
        1 for z in itertools.product(range(-reach, reach + 1), repeat=ndim) if sum(c * c for c in z) <= radius**2
    )


def periodic_disk_masks(size: int, radius: float, periodic: bool) -> np.ndarray:
    """Every disk of ``radius`` centred on a pixel of a ``size`` x ``size`` grid: (size * size, size, size) bools."""
    grid = np.arange(size)
    delta = grid[:, None] - grid[None, :]  # centre index x pixel index
    if periodic:
        delta = (delta + size // 2) % size - size // 2
    squared = delta[:, None, :, None] ** 2 + delta[None, :, None, :] ** 2  # (cy, cx, y, x)
    return (squared <= radius**2).reshape(size * size, size, size)


# --- shapes, labels, seeds ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FAMILIES_2D))
def test_shapes_labels_and_seeds_2d(name):
    make = FAMILIES_2D[name]
    labels = make(batch=3, size=(40, 48), seed=7)
    assert labels.shape == (3, 40, 48) and labels.dtype == torch.long
    assert labels.unique().tolist() == [0, 1]
    assert torch.equal(labels, make(batch=3, size=(40, 48), seed=7))
    assert not torch.equal(labels, make(batch=3, size=(40, 48), seed=8))
    assert not torch.equal(labels[0], labels[1])


@pytest.mark.parametrize("name", FAMILIES_3D)
def test_shapes_labels_and_seeds_3d(name):
    make = FAMILIES_2D[name]
    labels = make(batch=2, size=(12, 14, 16), seed=3)
    assert labels.shape == (2, 12, 14, 16) and labels.dtype == torch.long
    assert labels.unique().tolist() == [0, 1]
    assert torch.equal(labels, make(batch=2, size=(12, 14, 16), seed=3))
    assert not torch.equal(labels, make(batch=2, size=(12, 14, 16), seed=4))


@pytest.mark.parametrize("name", ["circles", "ellipses", "voids", "voronoi"])
def test_non_periodic_objects_do_not_wrap(name):
    make = FAMILIES_2D[name]
    periodic = make(batch=6, size=40, seed=11)
    clipped = make(batch=6, size=40, seed=11, periodic=False)
    assert clipped.shape == periodic.shape and clipped.dtype == torch.long
    assert not torch.equal(clipped, periodic)  # same draws, but what crossed the border now differs
    if name != "voronoi":  # inclusions reach at most 9 px: farther from the border nothing changes
        assert torch.equal(clipped[:, 12:-12, 12:-12], periodic[:, 12:-12, 12:-12])


def test_int_size_gives_a_square_image():
    assert synthetic.circles(1, 32, radius=3.0, seed=0).shape == (1, 32, 32)


def test_global_random_state_is_left_alone():
    state = torch.random.get_rng_state()
    for make in FAMILIES_2D.values():
        make(batch=1, size=24, seed=0)
    assert torch.equal(state, torch.random.get_rng_state())


def test_no_seed_draws_fresh_microstructures():
    assert not torch.equal(synthetic.voids(2, 48), synthetic.voids(2, 48))


def test_three_phase_variants():
    circles = synthetic.circles(4, 64, count=12, radius=6.0, phases=3, seed=0)
    ellipses = synthetic.ellipses(4, 64, count=12, semi_axes=(9.0, 3.0), phases=3, seed=0)
    voids = synthetic.voids(4, 64, count=40, phases=3, seed=0)
    field = synthetic.gaussian_random_field(4, 64, volume_fractions=[0.3, 0.2], seed=0)
    grains = synthetic.voronoi(4, 64, grains=20, boundary_width=0, grain_phases=3, seed=0)
    for labels in (circles, ellipses, voids, field, grains):
        assert labels.unique().tolist() == [0, 1, 2]
    with_boundaries = synthetic.voronoi(4, 64, grains=20, boundary_width=2.0, grain_phases=2, seed=0)
    assert with_boundaries.unique().tolist() == [0, 1, 2]  # phase 2 = the boundaries
    # the two-phase result is the union of the n-phase inclusions (same seed, same centres)
    assert torch.equal(synthetic.circles(4, 64, count=12, radius=6.0, seed=0), (circles > 0).long())


# --- circles: exact geometry -------------------------------------------------------------------------------------


@pytest.mark.parametrize("radius", [1.0, 4.5, 7.0, 20.0])
def test_a_lone_circle_covers_exactly_the_lattice_disk(radius):
    areas = synthetic.circles(64, 64, count=1, radius=radius, seed=1).flatten(1).sum(dim=1)
    assert areas.tolist() == [lattice_points_in_ball(radius, 2)] * 64


def test_paper_target_circle_area():
    assert lattice_points_in_ball(20.0, 2) == 1257
    labels = synthetic.circles(64, seed=0)  # the paper's defaults: 5 circles of radius 20 in 224 x 224
    assert labels.shape == (64, 224, 224)
    areas = labels.flatten(1).sum(dim=1).double()
    assert (areas <= 5 * 1257).all() and (areas >= 1257).all()
    # five independent uniform pixel centres on the torus leave a pixel uncovered with probability (1 - a/N)^5
    pixels = 224 * 224
    expected_union = pixels * (1 - (1 - 1257 / pixels) ** 5)  # 5986 px
    assert abs(areas.mean().item() - expected_union) < 150  # sample std ~400 px: 3 standard errors of a 64-mean


@pytest.mark.parametrize("periodic", [True, False])
def test_circles_are_disks_at_pixel_centres_and_wrap_when_periodic(periodic):
    size, radius = 24, 5.0
    labels = synthetic.circles(40, size, count=1, radius=radius, periodic=periodic, seed=2).numpy().astype(bool)
    masks = periodic_disk_masks(size, radius, periodic)
    for sample in labels:
        assert (masks == sample).all(axis=(1, 2)).sum() == 1  # exactly one centred disk reproduces it
    touches_both_sides = labels[:, 0, :].any(axis=1) & labels[:, -1, :].any(axis=1)
    if periodic:
        assert touches_both_sides.any()  # some circles wrap around the border...
    else:
        assert not touches_both_sides.any()  # ...and none can when clipped
        assert labels.reshape(40, -1).sum(axis=1).min() < lattice_points_in_ball(radius, 2)


def test_a_lone_sphere_covers_exactly_the_lattice_ball():
    volumes = synthetic.circles(6, (16, 18, 20), count=1, radius=4.0, seed=0).flatten(1).sum(dim=1)
    assert volumes.tolist() == [lattice_points_in_ball(4.0, 3)] * 6  # 257 voxels


# --- Gaussian random fields --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size,fractions", [((60, 50), 0.3), ((60, 50), [0.25, 0.15, 0.1]), ((12, 10, 8), [0.4, 0.2])]
)
def test_gaussian_field_hits_volume_fractions_exactly(size, fractions):
    # quantile thresholds of a continuous field: exactly round(f * N) pixels per phase and sample (no ties)
    labels = synthetic.gaussian_random_field(4, size, correlation_length=3.0, volume_fractions=fractions, seed=0)
    pixels = math.prod(size)
    wanted = [fractions] if isinstance(fractions, float) else fractions
    for phase, fraction in enumerate(wanted, start=1):
        assert (labels == phase).flatten(1).sum(dim=1).tolist() == [round(fraction * pixels)] * 4


def median_cut_autocorrelation(lag: torch.Tensor, length: float) -> torch.Tensor:
    r"""P(g(x) > 0, g(x + r) > 0) for a Gaussian field of correlation exp(-r^2 / (4 l^2)): 1/4 + asin(rho) / 2pi."""
    return 0.25 + torch.asin(torch.exp(-lag.double() ** 2 / (4 * length**2))) / (2 * math.pi)


def phase_one_autocorrelation(labels: torch.Tensor, cutoff: int) -> torch.Tensor:
    """Batch-mean periodic f(1, 1 | r), offsets (2c + 1, 2c + 1) with r = 0 at index c."""
    return ss.two_point_stats(labels.double().unsqueeze(1), cutoff=cutoff)[:, 1, 1].mean(dim=0)


def test_anisotropic_field_follows_the_arcsine_law_along_each_axis():
    labels = synthetic.gaussian_random_field(16, 128, correlation_length=(6.0, 2.0), volume_fractions=0.5, seed=0)
    stats = phase_one_autocorrelation(labels, cutoff=8)
    lags = torch.arange(9)
    # 16 fields of 128^2 pixels: sampling error of these averages is a few 1e-3
    assert torch.allclose(stats[8:, 8], median_cut_autocorrelation(lags, 6.0), atol=0.01)
    assert torch.allclose(stats[8, 8:], median_cut_autocorrelation(lags, 2.0), atol=0.01)
    assert stats[8 + 4, 8] > stats[8, 8 + 4] + 0.1  # longer correlated along the first axis


def test_rotated_field_turns_its_long_axis():
    quarter = synthetic.gaussian_random_field(16, 128, correlation_length=(6.0, 2.0), angle=math.pi / 2, seed=1)
    stats = phase_one_autocorrelation(quarter, cutoff=8)
    lags = torch.arange(9)
    assert torch.allclose(stats[8, 8:], median_cut_autocorrelation(lags, 6.0), atol=0.01)
    assert torch.allclose(stats[8:, 8], median_cut_autocorrelation(lags, 2.0), atol=0.01)
    diagonal = synthetic.gaussian_random_field(16, 128, correlation_length=(6.0, 2.0), angle=math.pi / 4, seed=1)
    stats = phase_one_autocorrelation(diagonal, cutoff=6)
    steps = torch.arange(7)
    along, across = stats[6 + steps, 6 + steps], stats[6 + steps, 6 - steps]
    assert torch.allclose(along, median_cut_autocorrelation(steps * math.sqrt(2), 6.0), atol=0.01)
    assert torch.allclose(across, median_cut_autocorrelation(steps * math.sqrt(2), 2.0), atol=0.01)


def test_isotropic_field_has_equal_correlation_along_the_axes():
    labels = synthetic.gaussian_random_field(8, 96, correlation_length=4.0, seed=2)
    stats = phase_one_autocorrelation(labels, cutoff=6)
    assert torch.allclose(stats[6:, 6], stats[6, 6:], atol=0.01)


def test_threshold_by_fractions_orders_phases_by_value():
    values = torch.tensor([[5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 0.0, 6.0, 4.0]])
    assert synthetic.threshold_by_fractions(values, 0.3).tolist() == [[0, 0, 1, 0, 1, 0, 1, 0, 0, 0]]
    assert synthetic.threshold_by_fractions(values, [0.3, 0.2]).tolist() == [[1, 0, 2, 0, 1, 0, 2, 0, 1, 0]]


# --- ellipses and voids ------------------------------------------------------------------------------------------


def test_lone_ellipse_area_is_close_to_pi_a_b():
    a, b = 12.0, 4.0
    areas = synthetic.ellipses(32, 64, count=1, semi_axes=(a, b), angle=0.3, angle_spread=1.0, seed=0)
    areas = areas.flatten(1).sum(dim=1).double()
    # lattice-point count of a convex region: error well under its perimeter (~55 px here)
    assert (areas - math.pi * a * b).abs().max() < 15
    assert abs(areas.mean().item() - math.pi * a * b) < 5


def test_ellipse_orientation_shows_in_the_statistics():
    along_first = synthetic.ellipses(8, 96, count=15, semi_axes=(15.0, 3.0), angle=0.0, seed=0)
    along_second = synthetic.ellipses(8, 96, count=15, semi_axes=(15.0, 3.0), angle=math.pi / 2, seed=0)
    first, second = phase_one_autocorrelation(along_first, 6), phase_one_autocorrelation(along_second, 6)
    assert first[12, 6] > first[6, 12] + 0.02
    assert second[6, 12] > second[12, 6] + 0.02
    # a quarter turn of every ellipse (same centres) is the transposed picture, up to rasterisation
    assert torch.allclose(first, second.T, atol=0.01)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_volume_fraction_mode_lands_within_one_object(fraction):
    ellipses = synthetic.ellipses(8, 96, volume_fraction=fraction, semi_axes=(10.0, 4.0), angle=0.2, seed=0)
    voids = synthetic.voids(8, 96, volume_fraction=fraction, radius_range=(2.0, 4.0), seed=0)
    pixels = 96 * 96
    # keeping the first m objects that come closest: off by at most half the largest object's area
    assert (ellipses.flatten(1).float().mean(dim=1) - fraction).abs().max() <= math.pi * 40 / 2 / pixels
    assert (voids.flatten(1).float().mean(dim=1) - fraction).abs().max() <= math.pi * 16 / 2 / pixels


def test_voids_have_radii_in_range():
    areas = synthetic.voids(64, 64, count=1, radius_range=(3.0, 5.0), seed=0).flatten(1).sum(dim=1)
    assert areas.min() >= lattice_points_in_ball(2.0, 2)  # a disk of radius >= 3 contains the radius-2 lattice disk
    assert areas.max() <= lattice_points_in_ball(6.0, 2)  # and sits inside the radius-6 one around its nearest pixel
    assert areas.float().std() > 5  # radii do vary
    volumes = synthetic.voids(4, (20, 20, 20), count=1, radius_range=(3.0, 3.0), seed=0).flatten(1).sum(dim=1)
    assert (volumes.double() - 4 / 3 * math.pi * 27).abs().max() < 30


# --- Voronoi -----------------------------------------------------------------------------------------------------


def test_voronoi_boundary_fraction_grows_in_proportion_to_thickness():
    fractions = [
        synthetic.voronoi(8, 96, grains=12, boundary_width=width, seed=0).float().mean().item() for width in (1, 2, 4, 8)
    ]
    assert 0 < fractions[0] < fractions[1] < fractions[2] < fractions[3] < 1
    # bands of exact thickness w: area ~ w * total boundary length, minus overlaps at triple junctions
    assert 1.8 < fractions[1] / fractions[0] < 2.2
    assert 1.7 < fractions[2] / fractions[1] < 2.1


def test_voronoi_grains_without_boundaries_are_cells_of_the_nearest_seed():
    # with many grain phases, each label marks one grain: every cell of a periodic Voronoi tessellation is
    # convex on the torus, so a grain's pixels form one 4-connected periodic region
    labels = synthetic.voronoi(2, 48, grains=6, boundary_width=0, grain_phases=1000, seed=3)
    for sample in labels:
        for phase in sample.unique().tolist():
            region = (sample == phase).numpy()
            assert connected_components_periodic(region) == 1


def connected_components_periodic(region: np.ndarray) -> int:
    """Number of 4-connected components of a 2D bool array on the torus (plain flood fill)."""
    seen = np.zeros_like(region)
    height, width = region.shape
    components = 0
    for start in zip(*np.nonzero(region)):
        if seen[start]:
            continue
        components += 1
        stack = [start]
        seen[start] = True
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y + 1) % height, x), ((y - 1) % height, x), (y, (x + 1) % width), (y, (x - 1) % width):
                if region[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    stack.append((ny, nx))
    return components


def test_voronoi_3d_boundaries():
    thin = synthetic.voronoi(2, (24, 24, 24), grains=10, boundary_width=1.0, seed=0).float().mean()
    thick = synthetic.voronoi(2, (24, 24, 24), grains=10, boundary_width=3.0, seed=0).float().mean()
    assert 0 < thin < thick < 1


# --- errors and devices ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: synthetic.circles(0), ValueError, r"batch must be an int >= 1, got 0"),
        (lambda: synthetic.circles(1, (8, 8, 8, 8)), ValueError, r"size must have 2 or 3 dimensions"),
        (lambda: synthetic.circles(1, (8, 1)), ValueError, r"size must be at least 2"),
        (lambda: synthetic.circles(1, "big"), TypeError, r"size must be an int or a sequence of ints, got 'big'"),
        (lambda: synthetic.circles(1, True), TypeError, r"size must be an int"),
        (lambda: synthetic.circles(1, 16, radius=-1), ValueError, r"radius must be a positive number"),
        (lambda: synthetic.circles(1, 16, radius=math.inf), ValueError, r"radius must be a positive number"),
        (lambda: synthetic.circles(1, 16, count=0), ValueError, r"count must be an int >= 1"),
        (lambda: synthetic.circles(1, 16, phases=1), ValueError, r"phases must be an int >= 2"),
        (lambda: synthetic.circles(1, 16, seed=1.5), TypeError, r"seed must be an int or None, got 1.5"),
        (lambda: synthetic.circles(1, 16, device=0), TypeError, r"device must be a str or torch.device"),
        (lambda: synthetic.ellipses(1, (8, 8, 8)), ValueError, r"size must have 2 dimensions"),
        (lambda: synthetic.ellipses(1, 16, count=3, volume_fraction=0.2), ValueError, r"count or volume_fraction"),
        (lambda: synthetic.ellipses(1, 16, volume_fraction=1.0), ValueError, r"volume_fraction must be a number"),
        (lambda: synthetic.ellipses(1, 16, semi_axes=(3.0,)), ValueError, r"semi_axes must hold two"),
        (lambda: synthetic.ellipses(1, 16, angle_spread=-0.1), ValueError, r"angle_spread must be >= 0"),
        (lambda: synthetic.ellipses(1, 16, angle=math.nan), ValueError, r"angle must be a finite number"),
        (lambda: synthetic.voids(1, 16, radius_range=(5, 2)), ValueError, r"radius_range must be \(smallest"),
        (lambda: synthetic.voids(1, 16, radius_range=(0, 2)), ValueError, r"radius_range must be a positive"),
        (lambda: synthetic.gaussian_random_field(1, 16, volume_fractions=1.2), ValueError, r"volume_fractions"),
        (lambda: synthetic.gaussian_random_field(1, 16, volume_fractions=[0.6, 0.5]), ValueError, r"summing to"),
        (lambda: synthetic.gaussian_random_field(1, 16, volume_fractions="half"), TypeError, r"volume_fractions"),
        (lambda: synthetic.gaussian_random_field(1, 16, correlation_length=(1, 2, 3)), ValueError, r"one value or 2"),
        (lambda: synthetic.gaussian_random_field(1, 16, correlation_length=0), ValueError, r"correlation_length"),
        (lambda: synthetic.gaussian_random_field(1, (8, 8, 8), angle=0.1), ValueError, r"angle must be 0 for 3D"),
        (lambda: synthetic.threshold_by_fractions(torch.arange(4).reshape(1, 4), 0.5), TypeError, r"values"),
        (lambda: synthetic.voronoi(1, 16, grains=1), ValueError, r"grains must be an int >= 2"),
        (lambda: synthetic.voronoi(1, 16, boundary_width=0), ValueError, r"boundary_width must be > 0"),
        (lambda: synthetic.voronoi(1, 16, boundary_width=-1), ValueError, r"boundary_width must be a finite"),
        (lambda: synthetic.voronoi(1, 16, grain_phases=0), ValueError, r"grain_phases must be an int >= 1"),
    ],
)
def test_bad_arguments(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", list(FAMILIES_2D))
def test_cuda_gives_the_cpu_microstructure(name):
    make = FAMILIES_2D[name]
    on_cpu = make(batch=4, size=64, seed=5)
    on_gpu = make(batch=4, size=64, seed=5, device="cuda")
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.long
    # same random draws; only floating-point rounding at exact ties may differ
    assert (on_gpu.cpu() != on_cpu).float().mean() < 1e-3
