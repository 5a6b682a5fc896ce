"""DescriptorLoss: the formula from the public descriptor functions, target batching, gradients, options."""

from __future__ import annotations

import inspect

import pytest
import torch

import spatialstats as ss
from spatialstats.descriptors import DescriptorLoss, lineal_path, surface_correlations


@pytest.fixture
def target() -> torch.Tensor:
    return ss.synthetic.circles(2, 24, count=2, radius=4, seed=3).double().unsqueeze(1)


def test_formula(target, random_fields):
    fields = random_fields(2, 1, 24, 24)
    loss = DescriptorLoss.from_target(target, weights={"two_point": 2.0, "lineal_path": 0.5, "surface": 1.5},
                                      cutoff=5, max_length=6, periodic=False)
    def mse(a, b):
        return (a - b).flatten(1).pow(2).mean(dim=1)
    s2 = mse(ss.two_point_stats(fields, cutoff=5, periodic=False), ss.two_point_stats(target, cutoff=5, periodic=False))
    lp = mse(lineal_path(fields, max_length=6, periodic=False), lineal_path(target, max_length=6, periodic=False))
    surface = mse(torch.cat([t.flatten(1) for t in surface_correlations(fields, cutoff=5, periodic=False)], 1),
                  torch.cat([t.flatten(1) for t in surface_correlations(target, cutoff=5, periodic=False)], 1))
    torch.testing.assert_close(loss(fields), 2.0 * s2 + 0.5 * lp + 1.5 * surface)
    assert loss.weights == {"two_point": 2.0, "lineal_path": 0.5, "surface": 1.5} and loss.cutoff == 5


@pytest.mark.parametrize("name", ["two_point", "lineal_path", "radial", "directional", "surface"])
def test_each_descriptor_is_zero_at_the_target_and_positive_elsewhere(target, random_fields, name):
    loss = DescriptorLoss.from_target(target, weights={name: 1.0}, cutoff=4, max_length=4)
    torch.testing.assert_close(loss(target), torch.zeros(2, dtype=torch.float64))
    assert bool((loss(random_fields(2, 1, 24, 24)) > 1e-6).all())


def test_target_rows_follow_reconstruct_order(target):
    loss = DescriptorLoss.from_target(target, cutoff=3, max_length=3)
    batch = target.repeat_interleave(3, dim=0)  # 3 consecutive samples per target
    torch.testing.assert_close(loss(batch), torch.zeros(6, dtype=torch.float64))
    single = DescriptorLoss.from_target(target[:1], cutoff=3, max_length=3)
    value = single(target)
    assert value[0] < 1e-25 and value[1] > 1e-6
    with pytest.raises(ValueError, match="batch must be a multiple of the number of targets"):
        loss(target[:1].repeat(3, 1, 1, 1))


def test_reductions_and_gradcheck(target):
    fields = torch.rand(2, 1, 8, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    small = target[:, :, :8, :8]
    per_sample = DescriptorLoss.from_target(small, weights={"lineal_path": 1.0, "two_point": 1.0, "surface": 1.0},
                                            cutoff=2, max_length=3)
    for reduction, reduce in (("mean", torch.mean), ("sum", torch.sum)):
        other = DescriptorLoss.from_target(small, cutoff=2, max_length=3, reduction=reduction,
                                           weights={"lineal_path": 1.0, "two_point": 1.0, "surface": 1.0})
        torch.testing.assert_close(other(fields), reduce(per_sample(fields)))
    assert torch.autograd.gradcheck(per_sample, (fields.requires_grad_(),))


def test_buffers_move_with_the_module(target):
    loss = DescriptorLoss.from_target(target, cutoff=3, max_length=3)
    assert set(loss.state_dict()) == {"target_two_point", "target_lineal_path"}
    assert loss.float().target_two_point.dtype == torch.float32


@pytest.mark.parametrize("weights, error, match", [
    ({}, TypeError, "weights must be a non-empty dict"),
    ({"gram": 1.0}, ValueError, r"unknown descriptors \['gram'\]"),
    ({"two_point": -1.0}, ValueError, r"weights\['two_point'\] must be a positive number"),
])
def test_bad_weights(target, weights, error, match):
    with pytest.raises(error, match=match):
        DescriptorLoss.from_target(target, weights=weights)


def test_bad_options(target):
    with pytest.raises(ValueError, match="reduction must be one of"):
        DescriptorLoss.from_target(target, reduction="batchmean")
    with pytest.raises(ValueError, match="target_descriptors must hold exactly"):
        DescriptorLoss({"two_point": torch.zeros(1, 3)}, weights={"lineal_path": 1.0})


def test_usable_by_reconstruct(target):
    """A per-sample custom loss for reconstruct (when reconstruct accepts callables)."""
    annotation = str(inspect.signature(ss.reconstruct).parameters["loss"].annotation)
    if "Callable" not in annotation:
        pytest.skip("this reconstruct accepts only named losses")
    loss = DescriptorLoss.from_target(target[:1].float(), cutoff=4, max_length=4, check_values=False)
    result = ss.reconstruct(target[:1].float(), loss=loss, steps=30, lr=0.05, progress=False)
    assert result.labels.shape == (1, 24, 24)


@pytest.mark.slow
def test_demo_quick_run(tmp_path):
    """The demo runs end to end; the lineal path keeps the ellipses longer along their axis than S2 alone."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "examples" / "reconstruction" / "descriptor_loss_demo.py"
    environment = {**os.environ, "OMP_NUM_THREADS": "1"}
    completed = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                               capture_output=True, text=True, timeout=300, env=environment)
    assert completed.returncode == 0, completed.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in (tmp_path / "descriptor_loss_demo.md").read_text().splitlines()
            if line.startswith("| S2")]
    chords = {row[0].strip(): float(row[4].split("/")[0]) for row in rows}
    assert chords["S2 + lineal path"] > chords["S2 alone"]
    assert (tmp_path / "descriptor_loss_demo.png").stat().st_size > 0
