"""Tests of the transport_finetune experiment and the sparse-structure comparison (examples/vae_micro2d, issue 13)."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES_DIR))

import spatialstats.functional as SF  # noqa: E402
from vae_micro2d import sparse_comparison  # noqa: E402
from vae_micro2d.config import build_parser  # noqa: E402
from vae_micro2d.experiments import EXPERIMENTS, FINETUNE_EXPERIMENTS, LOSSES  # noqa: E402
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d  # noqa: E402
from vae_micro2d.train import load_config, train  # noqa: E402

TINY = dict(image_size=32, width=8, depth=1, latent_channels=2, batch_size=4, progress=False, seed=3,
            split_fractions=[0.5, 0.25, 0.25])


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, str]:
    """A tiny stand-in file and a one-epoch MSE run on it."""
    root = tmp_path_factory.mktemp("sparse")
    data = root / "tiny.h5"
    write_synthetic_micro2d(data, samples_per_class=4, size=48, seed=1)
    train(load_config(experiment="mse", data=str(data), out_dir=str(root / "mse"), epochs=1, max_steps_per_epoch=2, **TINY))
    cess = root / "cess"
    train(load_config(experiment="cess_finetune", data=str(data), out_dir=str(cess), epochs=1, max_steps_per_epoch=1,
                      init_checkpoint=str(root / "mse" / "checkpoint.pt"), **TINY))
    return {"root": str(root), "data": str(data), "mse": str(root / "mse" / "checkpoint.pt"),
            "cess": str(cess / "checkpoint.pt")}


def _lines(spacing: int, batch: int = 1) -> torch.Tensor:
    image = torch.zeros(batch, 1, 64, 64, dtype=torch.float64)
    image[..., 3] = image[..., 3 + spacing] = 1
    return image


def test_transport_experiment_is_a_finetuning_in_the_table_and_on_the_command_line():
    assert "transport_finetune" in EXPERIMENTS and "transport_finetune" in FINETUNE_EXPERIMENTS
    assert set(FINETUNE_EXPERIMENTS) == {"cess_finetune", "cess_crop_finetune", "transport_finetune"}
    assert "transport_finetune" in build_parser().format_help()
    with pytest.raises(ValueError, match="--init-checkpoint"):
        load_config(experiment="transport_finetune")


def test_transport_loss_is_per_sample_zero_at_a_match_and_grows_with_the_spacing_error():
    loss = LOSSES["transport_finetune"](load_config(experiment="transport_finetune", init_checkpoint="x"), torch.device("cpu"))
    target = _lines(20, batch=3)
    assert loss(target, target).tolist() == [0.0, 0.0, 0.0]
    values = loss(torch.cat([_lines(s) for s in (21, 25, 30)]), target)
    assert values.shape == (3,)
    assert values.tolist() == pytest.approx(
        [SF.transport_ss(_lines(s), _lines(20)).item() for s in (21, 25, 30)], rel=1e-12)
    assert 0 < values[0] < values[1] < values[2]
    # on a VAE-like input: a probability map with a gradient, one value per sample
    probability = torch.rand(2, 1, 16, 16, requires_grad=True)
    out = loss(probability, (torch.rand(2, 1, 16, 16) < 0.3).float())
    out.sum().backward()
    assert out.shape == (2,) and bool((out > 0).all()) and torch.isfinite(probability.grad).all()


def test_tiny_transport_finetune_runs_from_an_mse_checkpoint(runs, tmp_path):
    out = tmp_path / "transport"
    result = train(load_config(experiment="transport_finetune", data=runs["data"], out_dir=str(out), epochs=1,
                               max_steps_per_epoch=2, init_checkpoint=runs["mse"], **TINY))
    assert result["status"] == "completed" and np.isfinite(result["train_loss"]) and result["train_loss"] > 0
    assert (out / "checkpoint.pt").exists()


@pytest.mark.parametrize("mistake", ["epochs", "data", "checkpoint", "not mse", "class"])
def test_comparison_mistake_is_one_error_line_naming_it(mistake, runs, tmp_path, capsys):
    args = {"--data": runs["data"], "--mse-checkpoint": runs["mse"], "--out": str(tmp_path / "cmp"), "--epochs": "1"}
    extra: list[str] = []
    expected = {"epochs": "--epochs", "data": "missing.h5", "checkpoint": "--mse-checkpoint",
                "not mse": "must be an 'mse' run", "class": "--classes: unknown class 'Nope'"}[mistake]
    if mistake == "epochs":
        args["--epochs"] = "0"
    elif mistake == "data":
        args["--data"] = str(tmp_path / "missing.h5")
    elif mistake == "checkpoint":
        args["--mse-checkpoint"] = str(tmp_path / "missing.pt")
    elif mistake == "not mse":
        args["--mse-checkpoint"] = runs["cess"]
    else:
        extra = ["--classes", "Nope"]
    code = sparse_comparison.main([item for pair in args.items() for item in pair] + extra + ["--no-progress"])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(error) == 1 and error[0].startswith("error: ") and expected in error[0], error
    assert not (tmp_path / "cmp" / "runs").exists()


def test_default_sparse_classes_have_the_smallest_minority_fraction():
    fractions = {"a": 0.4, "b": 0.05, "c": 0.3, "d": 0.1, "e": 0.2}
    assert sparse_comparison._pick_classes(fractions, None, list(fractions)) == ["b", "d", "e"]
    assert sparse_comparison._pick_classes(fractions, ["c", "c", "a"], list(fractions)) == ["c", "a"]


@pytest.mark.slow
def test_comparison_writes_a_consistent_table_and_figure(runs, capsys):
    out = Path(runs["root"]) / "comparison"
    code = sparse_comparison.main(["--data", runs["data"], "--mse-checkpoint", runs["mse"], "--out", str(out),
                                   "--epochs", "1", "--classes", "VoidSmall", "VoronoiMediumSpaced", "--no-progress"])
    assert code == 0
    for name in ("sparse_comparison.csv", "sparse_comparison.md", "sparse_comparison.png", "evaluation/summary.json"):
        assert (out / name).exists(), name
    with open(out / "sparse_comparison.csv") as handle:
        rows = {row["class"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["VoidSmall", "VoronoiMediumSpaced", "sparse classes", "other classes", "all classes"]
    assert int(rows["all classes"]["images"]) == 10 and int(rows["sparse classes"]["images"]) == 2
    # the per-class KL agrees with evaluate.py's summary; the TSS of the mse model is recomputed here
    import json

    summary = json.loads((out / "evaluation" / "summary.json").read_text())
    for model in sparse_comparison.COMPARED:
        assert float(rows["VoidSmall"][f"kl_{model}"]) == pytest.approx(
            summary["models"][model]["per_class"]["VoidSmall"]["mean_kl"], rel=1e-5)
        assert float(rows["all classes"][f"kl_{model}"]) == pytest.approx(summary["models"][model]["mean_kl"], rel=1e-5)
        assert float(rows["all classes"][f"tss_{model}"]) > 0
    from vae_micro2d.data import Micro2DDataset, build_splits
    from vae_micro2d.evaluate import load_model

    model, config = load_model(runs["mse"])
    samples = build_splits(runs["data"], fractions=config.split_fractions, seed=config.seed)["test"]
    images = torch.stack([Micro2DDataset(runs["data"], samples, image_size=32)[i][0] for i in range(len(samples))])
    with torch.no_grad():
        probability = torch.sigmoid(model(images, sample=False)[0])
    assert float(rows["all classes"]["tss_mse"]) == pytest.approx(SF.transport_ss(probability, images).item(), rel=1e-4)
    # a second run into the same folder is refused with one error line
    capsys.readouterr()
    assert sparse_comparison.main(["--data", runs["data"], "--mse-checkpoint", runs["mse"], "--out", str(out)]) == 1
    assert "already holds a comparison" in capsys.readouterr().err
