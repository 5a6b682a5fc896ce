"""The idea of the example in a plain PyTorch loop: a VAE whose reconstruction loss is CESS.

``spatialstats.functional.cess(p, x)`` compares the 2-point statistics of the decoder's phase-1 probability ``p``
with those of the binary target ``x``; it is differentiable, so it drops into any training loop like ``mse_loss``.
No checkpoints, resume, DDP or sweeps here: ``train.py`` adds those around the same step.

Run: ``python examples/vae_micro2d/train_minimal.py --data FILE.h5 [--epochs 2 --image-size 64]``
(or without ``--data``: a small synthetic stand-in is written to a temporary folder first).
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import sys
import tempfile
from pathlib import Path

import torch

import spatialstats.functional as SF
from vae_micro2d.data import Micro2DDataset, build_splits
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d
from vae_micro2d.model import MicrostructureVAE, kl_divergence


def train_minimal(data: str, *, epochs: int = 2, image_size: int = 64, kl_weight: float = 1e-4, seed: int = 0) -> list[float]:
    """Train a small VAE with CESS + beta KL; returns the mean loss of each epoch."""
    torch.manual_seed(seed)
    dataset = Micro2DDataset(data, build_splits(data, seed=seed)["train"], image_size=image_size)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True)
    model = MicrostructureVAE(width=16, depth=1, stages=3)
    optimizer = torch.optim.RAdam(model.parameters(), lr=2e-3)
    history = []
    for epoch in range(epochs):
        total, count = torch.zeros(()), 0
        for images, _ in loader:                                 # images: (batch, 1, H, W) in {0, 1}
            logits, mean, log_variance = model(images)
            probability = torch.sigmoid(logits)                  # phase-1 probability
            reconstruction = SF.cess(probability, images)        # the spatial-statistics loss, periodic
            loss = reconstruction + kl_weight * kl_divergence(mean, log_variance).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.detach() * len(images)                 # no host sync in the loop
            count += len(images)
        history.append(total.item() / count)
        print(f"epoch {epoch + 1}/{epochs}: loss {history[-1]:.4f}")
    return history


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A VAE trained with CESS in a plain PyTorch loop.")
    parser.add_argument("--data", help="MICRO2D-layout HDF5 file (default: write a small synthetic one)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--image-size", type=int, default=64)
    args = parser.parse_args(argv)
    data = args.data or str(Path(tempfile.mkdtemp()) / "synthetic.h5")
    try:
        if args.data is None:
            write_synthetic_micro2d(data, samples_per_class=8, size=96, seed=0)
        train_minimal(data, epochs=args.epochs, image_size=args.image_size)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
