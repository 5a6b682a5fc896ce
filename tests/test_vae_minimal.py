"""Smoke test of examples/vae_micro2d/train_minimal.py: CESS in a plain PyTorch loop trains."""

from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))

from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d  # noqa: E402
from vae_micro2d.train_minimal import main, train_minimal  # noqa: E402


def test_train_minimal_runs_and_lowers_the_loss(tmp_path, capsys):
    path = tmp_path / "tiny.h5"
    write_synthetic_micro2d(path, samples_per_class=4, size=48, seed=0)
    history = train_minimal(str(path), epochs=3, image_size=32)
    assert len(history) == 3 and all(math.isfinite(value) for value in history)
    assert history[-1] < history[0]
    assert capsys.readouterr().out.count("epoch ") == 3
    assert main(["--data", str(tmp_path / "missing.h5")]) == 1
    assert capsys.readouterr().err.startswith("error: MICRO2D file not found")


def test_train_minimal_is_short():
    source = (Path(__file__).resolve().parent.parent / "examples" / "vae_micro2d" / "train_minimal.py").read_text()
    assert len(source.splitlines()) <= 80
