r"""Latent property search: predict effective conductivity from a frozen VAE latent, then design microstructures.

For each checkpoint:

1. encode the file's train and test splits (latent means, the encoder frozen);
2. train a small property head (an MLP) on the train latents to predict :math:`(k_x, k_y)` at one contrast of the
   file's ``homogenized_thermal`` and report :math:`R^2` per property on the test split (does a CESS-trained latent
   predict properties better than an MSE one?);
3. for each target :math:`(k_x, k_y)`, gradient search in the latent space from several starts,
   :math:`\min_z \|h(z) - t\|^2 + \lambda \|z\|^2` (the prior term keeps :math:`z` where the decoder was trained),
   decode, binarize at 0.5, and check the result with the FFT solver
   (:func:`spatialstats.homogenization.effective_conductivity`). The starts are the latents of the training images
   whose properties are nearest the target; the best start by the solver's verdict is kept,
   and if it misses, the head's target is shifted by the miss and the search repeated (``--rounds``);
4. write ``property_search.json`` (R^2, targets, achieved values, relative errors) and ``property_search.png``
   (the found microstructures with target and achieved properties).

Targets default to the properties of a few test images (reachable by construction); ``--target KX KY`` (repeatable)
sets them. The solver check uses phase conductivities ``1`` and ``--contrast`` (default: the stand-in's contrast at
``--contrast-index``, see :mod:`vae_micro2d.properties`); for the real MICRO2D file pass the contrast of the
chosen index.

Run: ``python examples/vae_micro2d/property_search.py --checkpoint runs/mse/checkpoint.pt runs/cess/checkpoint.pt
--data data/micro2d_synthetic.h5 --out runs/property_search``
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import torch
from torch import nn

from vae_micro2d.data import Micro2DDataset, build_splits
from vae_micro2d.model import MicrostructureVAE
from vae_micro2d.properties import THERMAL_CONTRASTS, conductivity_xy

__all__ = ["load_vae", "PropertyHead", "train_head", "r_squared", "search", "run", "main"]

_ARCHITECTURE = ("latent_channels", "depth", "width", "stages")


def load_vae(path: str | Path) -> tuple[MicrostructureVAE, dict]:
    """The model of a training checkpoint (a dict with ``model`` and ``config``), frozen, and its config dict."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict) or "model" not in state or "config" not in state:
        raise ValueError(f"{path} is not a training checkpoint (a dict with 'model' and 'config')")
    config = state["config"]
    model = MicrostructureVAE(**{name: config[name] for name in _ARCHITECTURE})
    model.load_state_dict(state["model"])
    return model.eval().requires_grad_(False), config


def _split_arrays(data: str, samples: list, image_size: int, contrast_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Images ``(N, 1, S, S)`` of a split and their ``(kx, ky)`` ``(N, 2)`` at ``contrast_index``."""
    dataset = Micro2DDataset(data, samples, image_size=image_size)
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    with h5py.File(data, "r") as handle:
        values = [handle[s.class_name]["homogenized_thermal"][s.index, contrast_index] for s in samples]
    return images, torch.as_tensor(np.stack(values), dtype=torch.float32)


@torch.no_grad()
def _encode(model: MicrostructureVAE, images: torch.Tensor, batch: int = 64) -> torch.Tensor:
    return torch.cat([model.encode(images[i : i + batch])[0] for i in range(0, len(images), batch)])


class PropertyHead(nn.Module):
    """MLP from a flattened latent to standardised properties; ``forward`` returns them in physical units."""

    def __init__(self, latent_shape: tuple[int, ...], mean: torch.Tensor, std: torch.Tensor, hidden: int = 64) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(latent_shape)), hidden), nn.ReLU(), nn.Linear(hidden, len(mean)))
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z) * self.std + self.mean


def train_head(latents: torch.Tensor, targets: torch.Tensor, *, epochs: int = 300, seed: int = 0) -> PropertyHead:
    """Full-batch Adam on the mean squared error of standardised properties, with a little weight decay."""
    torch.manual_seed(seed)
    head = PropertyHead(tuple(latents.shape[1:]), targets.mean(dim=0), targets.std(dim=0).clamp_min(1e-6))
    optimizer = torch.optim.Adam(head.parameters(), lr=3e-3, weight_decay=1e-4)
    for _ in range(epochs):
        optimizer.zero_grad()
        loss = ((head(latents) - targets) / head.std).square().mean()
        loss.backward()
        optimizer.step()
    return head.eval().requires_grad_(False)


def r_squared(predicted: torch.Tensor, true: torch.Tensor) -> list[float]:
    """Coefficient of determination per column: ``1 - SS_res / SS_tot``."""
    residual = (predicted - true).square().sum(dim=0)
    total = (true - true.mean(dim=0)).square().sum(dim=0).clamp_min(1e-12)
    return (1 - residual / total).tolist()


def _descend(model, head, starts: torch.Tensor, goal: torch.Tensor, steps: int, prior: float) -> torch.Tensor:
    z = starts.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([z], lr=0.05)
    for _ in range(steps):
        optimizer.zero_grad()
        miss = ((head(z) - goal) / head.std).square().sum(dim=1)
        (miss + prior * z.square().flatten(1).mean(dim=1)).sum().backward()
        optimizer.step()
    with torch.no_grad():
        return (torch.sigmoid(model.decode(z)) > 0.5).squeeze(1).to(torch.uint8)


def _nearest(latents: torch.Tensor, values: torch.Tensor, target, count: int) -> torch.Tensor:
    """Starting points: the latents of the ``count`` training images whose properties are nearest the target."""
    distance = ((values - torch.as_tensor(target, dtype=values.dtype)) / values.std(dim=0).clamp_min(1e-6)).square().sum(dim=1)
    return latents[distance.argsort()[:count]]


def search(model, head, target, starts, *, contrast: float, steps=200, rounds=3, prior=1e-3) -> dict:
    """Best binarized design for ``target`` ``(2,)``: a dict with ``image``, ``achieved`` (solver) and ``error``."""
    target = torch.as_tensor(target, dtype=torch.float32)
    goal, best = target.clone(), None
    for _ in range(rounds):
        images = _descend(model, head, starts, goal, steps, prior)
        achieved = conductivity_xy(images, torch.full((len(images),), float(contrast)), tol=1e-4).float()
        errors = ((achieved - target).abs() / target).amax(dim=1)
        index = int(errors.argmin())
        if best is None or errors[index] < best["error"]:
            best = {"image": images[index], "achieved": achieved[index], "error": float(errors[index])}
        if best["error"] < 0.01:
            break
        goal = goal + (target - achieved[index])  # the head was off by this much: ask it for the corrected value
    return best


def run(checkpoint, data, *, targets=None, contrast_index=2, contrast=None, head_epochs=300, steps=200, starts=8, rounds=3, seed=0) -> dict:
    """Head, R^2 and searches for one checkpoint; returns the JSON-ready summary and the found images."""
    model, config = load_vae(checkpoint)
    contrast = THERMAL_CONTRASTS[contrast_index] if contrast is None else contrast
    splits = build_splits(data, fractions=config.get("split_fractions", (0.8, 0.1, 0.1)), seed=config.get("seed", 0),
                          max_samples_per_class=config.get("max_samples_per_class"))
    train_images, train_values = _split_arrays(data, splits["train"], config["image_size"], contrast_index)
    test_images, test_values = _split_arrays(data, splits["test"], config["image_size"], contrast_index)
    train_latents, test_latents = _encode(model, train_images), _encode(model, test_images)
    head = train_head(train_latents, train_values, epochs=head_epochs, seed=seed)
    generator = torch.Generator().manual_seed(seed)
    if targets is None:
        targets = test_values[torch.randperm(len(test_values), generator=generator)[:3]].tolist()
    found = [
        search(model, head, t, _nearest(train_latents, train_values, t, starts), contrast=contrast, steps=steps, rounds=rounds)
        for t in targets
    ]
    summary = {
        "checkpoint": str(checkpoint), "experiment": config.get("experiment"), "contrast_index": contrast_index,
        "contrast": contrast, "r2_test": dict(zip(("kx", "ky"), r_squared(head(test_latents), test_values))),
        "searches": [{"target": list(map(float, t)), "achieved": f["achieved"].tolist(), "relative_error": f["error"]}
                     for t, f in zip(targets, found)],
    }
    return {"summary": summary, "images": [f["image"] for f in found]}


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, columns = len(results), max(len(r["images"]) for r in results)
    figure, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.3 * rows), squeeze=False, constrained_layout=True)
    for row, result in zip(axes, results):
        summary = result["summary"]
        for axis, image, found in zip(row, result["images"], summary["searches"]):
            axis.imshow(image.numpy(), cmap="gray", interpolation="nearest")
            target, achieved = found["target"], found["achieved"]
            axis.set_title(f"{summary['experiment']}\ntarget kx={target[0]:.3f} ky={target[1]:.3f}\n"
                           f"solver kx={achieved[0]:.3f} ky={achieved[1]:.3f}", fontsize=8)
        for axis in row:
            axis.axis("off")
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", nargs="+", required=True, help="one or more training checkpoints")
    parser.add_argument("--data", required=True, help="MICRO2D-layout HDF5 file with homogenized_thermal")
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--target", nargs=2, type=float, action="append", metavar=("KX", "KY"), help="target (repeatable)")
    parser.add_argument("--contrast-index", type=int, default=2, help="index into axis 1 of homogenized_thermal")
    parser.add_argument("--contrast", type=float, default=None, help="phase-1 conductivity for the solver check")
    parser.add_argument("--head-epochs", type=int, default=300)
    parser.add_argument("--steps", type=int, default=200, help="latent gradient steps per round")
    parser.add_argument("--starts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if not 0 <= args.contrast_index < len(THERMAL_CONTRASTS):
            raise ValueError(f"--contrast-index must be in 0..{len(THERMAL_CONTRASTS) - 1}, got {args.contrast_index}")
        results = [run(path, args.data, targets=args.target, contrast_index=args.contrast_index, contrast=args.contrast,
                       head_epochs=args.head_epochs, steps=args.steps, starts=args.starts, rounds=args.rounds, seed=args.seed)
                   for path in args.checkpoint]
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "property_search.json").write_text(json.dumps([r["summary"] for r in results], indent=2))
        plot(results, out / "property_search.png")
    except (ValueError, OSError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for result in results:
        summary = result["summary"]
        errors = ", ".join(f"{s['relative_error']:.3f}" for s in summary["searches"])
        print(f"{summary['experiment']}: R^2 kx={summary['r2_test']['kx']:.3f} ky={summary['r2_test']['ky']:.3f}; "
              f"search relative errors {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
