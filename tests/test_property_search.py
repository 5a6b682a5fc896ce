"""Stand-in properties (examples/vae_micro2d/properties.py, the file's homogenized_thermal) and the latent property
search (examples/vae_micro2d/property_search.py) at a small size, with a tiny VAE trained here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from vae_micro2d import properties, property_search  # noqa: E402
from vae_micro2d.data import Micro2DDataset, build_splits  # noqa: E402
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d  # noqa: E402
from vae_micro2d.model import MicrostructureVAE  # noqa: E402

from spatialstats.homogenization import effective_conductivity  # noqa: E402

CONFIG = dict(experiment="mse", latent_channels=2, depth=1, width=8, stages=2, image_size=32, split_fractions=[0.6, 0.2, 0.2], seed=0)


@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("properties") / "small.h5"
    write_synthetic_micro2d(path, samples_per_class=6, size=32, seed=2)
    return str(path)


@pytest.fixture(scope="module")
def checkpoint(small_file, tmp_path_factory) -> str:
    """A tiny VAE trained for a few hundred steps on the train split (binary cross-entropy + a small KL)."""
    torch.manual_seed(0)
    splits = build_splits(small_file, fractions=CONFIG["split_fractions"], seed=0)
    dataset = Micro2DDataset(small_file, splits["train"], image_size=32)
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    model = MicrostructureVAE(**{name: CONFIG[name] for name in ("latent_channels", "depth", "width", "stages")})
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for step in range(800):
        batch = images[torch.randint(0, len(images), (16,))]
        logits, mean, log_variance = model(batch)
        kl = 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).mean()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, batch) + 1e-4 * kl
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    path = tmp_path_factory.mktemp("checkpoint") / "checkpoint.pt"
    torch.save({"model": model.state_dict(), "config": CONFIG}, path)
    return str(path)


def test_file_holds_solver_conductivities(small_file):
    with h5py.File(small_file) as handle:
        thermal = handle["VoronoiLarge/homogenized_thermal"]
        images = handle["VoronoiLarge/VoronoiLarge"][:2]
        assert thermal.shape == (6, 6, 2) and "phase 1 conductivity 2, 5, 10, 0.5, 0.2, 0.1" in thermal.attrs["INSTRUCTIONS"]
        values = thermal[:2]
    for column, contrast in enumerate(properties.THERMAL_CONTRASTS):
        tensor = effective_conductivity(torch.as_tensor(images).long(), [1.0, contrast], tol=1e-8, max_iter=5000)
        np.testing.assert_allclose(values[:, column, 0], tensor[:, 1, 1].numpy(), rtol=2e-3)  # kx: along columns
        np.testing.assert_allclose(values[:, column, 1], tensor[:, 0, 0].numpy(), rtol=2e-3)
        fraction = images.reshape(2, -1).mean(axis=1)
        arithmetic = 1 - fraction + contrast * fraction
        assert np.all(values[:, column] <= arithmetic[:, None] * (1 + 1e-3))


def test_thermal_properties_resize_large_images():
    images = np.zeros((1, 128, 128), dtype=np.uint8)
    images[:, :, :64] = 1  # layers stacked along x: kx harmonic, ky arithmetic
    values = properties.thermal_properties(images, contrasts=(4.0,), tol=1e-8)
    np.testing.assert_allclose(values[0, 0], [1 / (0.5 + 0.5 / 4), 2.5], rtol=1e-5)
    with pytest.raises(ValueError, match="images must have shape"):
        properties.thermal_properties(np.zeros((4, 4)))


@pytest.mark.slow
def test_search_reaches_target_within_5_percent_checked_by_solver(small_file, checkpoint, tmp_path):
    code = property_search.main(["--checkpoint", checkpoint, "--data", small_file, "--out", str(tmp_path),
                                 "--head-epochs", "200", "--steps", "150", "--starts", "16", "--rounds", "6"])
    assert code == 0
    (summary,) = json.loads((tmp_path / "property_search.json").read_text())
    assert set(summary["r2_test"]) == {"kx", "ky"} and all(np.isfinite(list(summary["r2_test"].values())))
    assert summary["r2_test"]["kx"] > 0.3  # the latent predicts conductivity much better than the mean
    searches = summary["searches"]
    assert len(searches) == 3
    for found in searches:
        target, achieved = np.array(found["target"]), np.array(found["achieved"])
        assert np.max(np.abs(achieved - target) / target) == pytest.approx(found["relative_error"], rel=1e-5)
        assert found["relative_error"] < 0.05
    assert (tmp_path / "property_search.png").stat().st_size > 1000


def test_r_squared_closed_form():
    true = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    assert property_search.r_squared(true, true) == [1.0, 1.0]
    assert property_search.r_squared(true.mean(dim=0).expand(3, 2), true) == [0.0, 0.0]


def test_command_line_errors_are_one_line(small_file, tmp_path, capsys):
    assert property_search.main(["--checkpoint", str(tmp_path / "none.pt"), "--data", small_file, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: checkpoint not found")
    assert property_search.main(["--checkpoint", "x", "--data", small_file, "--out", str(tmp_path), "--contrast-index", "9"]) == 2
    assert "--contrast-index must be in 0..5" in capsys.readouterr().err
