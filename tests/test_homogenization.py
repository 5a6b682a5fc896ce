"""Effective conductivity (spatialstats.homogenization): exact laminates, Wiener and Hashin-Shtrikman bounds,
symmetry, mirror invariance, the homogeneous case, n phases, 3D and input errors."""

from __future__ import annotations

import pytest
import torch

import spatialstats as ss
from spatialstats.homogenization import ConvergenceError, conductivity_map, effective_conductivity


def _layers(size: int, ndim: int = 2, seed: int = 0, phases: int = 2) -> torch.Tensor:
    """Labels ``(1, size, ..)`` constant across every axis but the first (rows): layers stacked along axis 0."""
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(0, phases, (size,), generator=generator)
    return rows.reshape(1, size, *([1] * (ndim - 1))).expand(1, *([size] * ndim)).clone()


def _hashin_shtrikman(f2: torch.Tensor, k1: float, k2: float) -> tuple[torch.Tensor, torch.Tensor]:
    f1 = 1 - f2
    return k1 + f2 / (1 / (k2 - k1) + f1 / (2 * k1)), k2 + f1 / (1 / (k1 - k2) + f2 / (2 * k2))


@pytest.mark.parametrize("method", ["basic", "cg"])
@pytest.mark.parametrize("contrast", [5.0, 50.0])
@pytest.mark.parametrize("ndim", [2, 3])
def test_laminate_is_exact(contrast, ndim, method):
    """Along the layers: the arithmetic mean (parallel); across them: the harmonic mean (series)."""
    size = 16 if ndim == 2 else 8
    labels = _layers(size, ndim, seed=int(contrast))
    conductivities = torch.tensor([1.0, contrast], dtype=torch.float64)
    local = conductivities[labels]
    arithmetic, harmonic = local.mean().item(), 1 / (1 / local).mean().item()
    K = effective_conductivity(labels, conductivities, tol=1e-10, max_iter=5000, method=method)[0]
    assert K[0, 0].item() == pytest.approx(harmonic, rel=1e-6)  # across the layers
    for axis in range(1, ndim):
        assert K[axis, axis].item() == pytest.approx(arithmetic, rel=1e-6)
    off_diagonal = K - torch.diag(torch.diagonal(K))
    assert off_diagonal.abs().max().item() < 1e-9


def test_three_phase_laminate_is_exact():
    labels = _layers(18, seed=3, phases=3)
    conductivities = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64)
    local = conductivities[labels]
    K = effective_conductivity(labels, conductivities, tol=1e-10, max_iter=5000)[0]
    assert K[0, 0].item() == pytest.approx(1 / (1 / local).mean().item(), rel=1e-6)
    assert K[1, 1].item() == pytest.approx(local.mean().item(), rel=1e-6)


@pytest.mark.parametrize("contrast", [0.1, 20.0])
def test_random_microstructures_inside_wiener_bounds_and_symmetric(contrast):
    generator = torch.Generator().manual_seed(1)
    labels = torch.cat(
        [
            (torch.rand(3, 24, 24, generator=generator) > 0.6).long(),
            ss.synthetic.gaussian_random_field(3, 24, correlation_length=(6, 2), angle=0.5, volume_fractions=0.45, seed=2),
        ]
    )
    conductivities = torch.tensor([1.0, contrast], dtype=torch.float64)
    local = conductivities[labels].flatten(1)
    K = effective_conductivity(labels, conductivities, tol=1e-9, max_iter=5000)
    assert (K - K.transpose(1, 2)).abs().max().item() < 1e-7
    eigenvalues = torch.linalg.eigvalsh(K)
    harmonic, arithmetic = 1 / (1 / local).mean(dim=1), local.mean(dim=1)
    assert torch.all(eigenvalues[:, 0] >= harmonic * (1 - 1e-9))
    assert torch.all(eigenvalues[:, 1] <= arithmetic * (1 + 1e-9))
    assert torch.all(eigenvalues[:, 1] - eigenvalues[:, 0] > 1e-3)  # genuinely anisotropic: the test has teeth


@pytest.mark.parametrize("contrast", [10.0, 0.1])
def test_isotropic_microstructures_inside_hashin_shtrikman_bounds(contrast):
    """Many small disks (statistically isotropic): the mean eigenvalue lies inside the HS bounds."""
    labels = ss.synthetic.circles(2, 96, count=40, radius=4, seed=4)
    K = effective_conductivity(labels, [1.0, contrast], tol=1e-8, max_iter=5000)
    mean_eigenvalue = torch.linalg.eigvalsh(K).mean(dim=1)
    fraction = labels.double().flatten(1).mean(dim=1)
    low, high = _hashin_shtrikman(fraction, 1.0, contrast) if contrast > 1 else _hashin_shtrikman(1 - fraction, contrast, 1.0)
    assert torch.all(mean_eigenvalue > low) and torch.all(mean_eigenvalue < high)
    assert torch.all((K[:, 0, 0] - K[:, 1, 1]).abs() < 0.05 * mean_eigenvalue)


@pytest.mark.parametrize("contrast", [30.0, 0.02])
def test_conjugate_gradients_agree_with_the_basic_scheme_in_fewer_iterations(contrast):
    labels = ss.synthetic.gaussian_random_field(2, 32, correlation_length=3, volume_fractions=0.5, seed=6)
    basic = effective_conductivity(labels, [1.0, contrast], tol=1e-9, max_iter=20000)
    cg = effective_conductivity(labels, [1.0, contrast], tol=1e-9, max_iter=20000, method="cg")
    torch.testing.assert_close(cg, basic, rtol=1e-6, atol=1e-9)
    effective_conductivity(labels, [1.0, contrast], tol=1e-6, max_iter=40, method="cg")  # basic: 80-150 here
    with pytest.raises(ConvergenceError):
        effective_conductivity(labels, [1.0, contrast], tol=1e-6, max_iter=40)


def test_mirrors_and_transposes_map_the_tensor():
    labels = ss.synthetic.ellipses(1, 32, count=4, semi_axes=(8, 3), angle=0.6, seed=5)
    K = effective_conductivity(labels, [1.0, 8.0], tol=1e-10, max_iter=5000)[0]
    flipped = effective_conductivity(labels.flip(-1), [1.0, 8.0], tol=1e-10, max_iter=5000)[0]
    transposed = effective_conductivity(labels.transpose(1, 2), [1.0, 8.0], tol=1e-10, max_iter=5000)[0]
    assert abs(K[0, 1].item()) > 1e-3
    torch.testing.assert_close(flipped, K * torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=torch.float64), atol=1e-8, rtol=1e-8)
    torch.testing.assert_close(transposed, K.flip(0).flip(1), atol=1e-8, rtol=1e-8)


def test_contrast_one_gives_the_constant():
    labels = ss.synthetic.voronoi(2, 16, grains=5, seed=0)
    K = effective_conductivity(labels, [2.5, 2.5, 2.5])
    torch.testing.assert_close(K, 2.5 * torch.eye(2, dtype=torch.float64).expand(2, 2, 2))


def test_labels_phase_fields_and_per_sample_conductivities_agree():
    labels = ss.synthetic.circles(2, 20, count=2, radius=4, seed=1)
    by_labels = effective_conductivity(labels, [1.0, 6.0], tol=1e-9)
    one_hot = effective_conductivity(ss.one_hot_from_labels(labels).double(), [1.0, 6.0], tol=1e-9)
    one_channel = effective_conductivity(labels.unsqueeze(1).double(), [1.0, 6.0], tol=1e-9)
    torch.testing.assert_close(one_hot, by_labels)
    torch.testing.assert_close(one_channel, by_labels)
    per_sample = effective_conductivity(labels, torch.tensor([[1.0, 6.0], [1.0, 2.0]]), tol=1e-9)
    torch.testing.assert_close(per_sample[0], by_labels[0])
    torch.testing.assert_close(per_sample[1], effective_conductivity(labels[1:], [1.0, 2.0], tol=1e-9)[0])


def test_conductivity_map_mixes_grey_values_linearly():
    fields = torch.tensor([[[[0.25, 1.0]]]])
    torch.testing.assert_close(conductivity_map(fields, [1.0, 5.0]), torch.tensor([[[2.0, 5.0]]], dtype=torch.float64))


def test_no_convergence_raises_a_clear_error():
    labels = ss.synthetic.circles(1, 32, count=3, radius=6, seed=0)
    with pytest.raises(ConvergenceError, match=r"did not converge in max_iter=3 iterations.*contrast \(here 1e\+03\)"):
        effective_conductivity(labels, [1.0, 1000.0], max_iter=3)
    with pytest.raises(ConvergenceError, match="method='cg'"):
        effective_conductivity(labels, [1.0, 1000.0], max_iter=3, method="cg")


@pytest.mark.parametrize(
    "fields,conductivities,options,error,match",
    [
        (torch.zeros(1, 4, 4, dtype=torch.long), [1.0, -2.0], {}, ValueError, "conductivities must be finite and > 0"),
        (torch.full((1, 4, 4), 2, dtype=torch.long), [1.0, 2.0], {}, ValueError, r"labels must lie in 0..1"),
        (torch.zeros(1, 3, 4, 4), [1.0, 2.0], {}, ValueError, "fields has 3 phases but conductivities gives 2"),
        (torch.zeros(2, 4, 4, dtype=torch.long), [[1.0, 2.0]] * 3, {}, ValueError, "conductivities has 3 rows"),
        (torch.zeros(1, 4, 4, dtype=torch.long), [1.0, 2.0], {"tol": 0}, ValueError, "tol must be a positive number"),
        (torch.zeros(1, 4, 4, dtype=torch.long), [1.0, 2.0], {"max_iter": 0}, ValueError, "max_iter must be an int >= 1"),
        ([[0, 1]], [1.0, 2.0], {}, TypeError, "fields must be a torch.Tensor"),
        (torch.zeros(1, 4, 4, dtype=torch.long), [1.0, 2.0], {"method": "fast"}, ValueError, "method must be one of"),
    ],
)
def test_bad_input_raises(fields, conductivities, options, error, match):
    with pytest.raises(error, match=match):
        effective_conductivity(fields, conductivities, **options)
