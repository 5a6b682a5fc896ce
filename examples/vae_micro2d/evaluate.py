r"""Evaluate trained VAEs: per-sample CESS on the test split, figures and a summary table.

For every test image :math:`x` and model, the reconstruction decodes the latent mean, :math:`p = \sigma(D(\mu(x)))`,
and the score is the periodic CESS

.. math::

    \mathrm{CESS}(p, x) = -\frac{1}{|R|} \sum_{r} \sum_{h, h'} f_x(h, h' \mid r) \log\bigl(f_p(h, h' \mid r) + \epsilon\bigr)

(lower is better; a perfect reconstruction scores the target's own entropy, reported as ``target_entropy``), and
the KL divergence :math:`\mathrm{CESS}(p, x) - \mathrm{CESS}(x, x) \ge 0`, which separates models that raw CESS
medians (dominated by the target's entropy) hide.

Outputs in ``--out``: ``per_sample_cess.csv``, ``summary.csv`` and ``summary.json`` (mean/median CESS per model and
per class, the pairwise matrix), and the figures ``cess_histograms.png`` (largest quintile cut off, medians
marked), ``log_cess_histograms.png``, ``pairwise_matrix.png`` (share of test images where the row model has a lower
CESS than the column model), ``reconstruction_grid_<model>.png`` (one row per class: original, reconstruction,
phase-1 autocorrelations, difference of the log statistics) and ``worst_outliers.png``.

Run::

    python examples/vae_micro2d/evaluate.py --data MICRO2D_homogenized.h5 --out runs/eval \
        --model mse=runs/mse/checkpoint.pt --model cess=runs/cess/checkpoint.pt
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import csv
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import spatialstats as ss  # noqa: E402
import spatialstats.functional as SF  # noqa: E402
from vae_micro2d.config import resolve_device  # noqa: E402
from vae_micro2d.data import Micro2DDataset, build_splits, discover_classes  # noqa: E402
from vae_micro2d.model import MicrostructureVAE  # noqa: E402
from vae_micro2d.train import TrainConfig, build_model, load_checkpoint  # noqa: E402

__all__ = ["load_model", "per_sample_cess", "pairwise_matrix", "evaluate", "main"]

FIGURES = ("cess_histograms.png", "log_cess_histograms.png", "pairwise_matrix.png", "worst_outliers.png")


def load_model(
    checkpoint_path: str | os.PathLike, device: torch.device | str = "cpu", *, argument: str = "checkpoint"
) -> tuple[MicrostructureVAE, TrainConfig]:
    """The model of a training checkpoint (in eval mode) and the run's configuration."""
    state = load_checkpoint(checkpoint_path, argument=argument)
    config = TrainConfig(**state["config"])
    model = build_model(config)
    model.load_state_dict(state["model"])
    return model.to(device).eval(), config


@torch.no_grad()
def reconstruct(model: MicrostructureVAE, images: torch.Tensor) -> torch.Tensor:
    """Phase-1 probability of the reconstruction from the latent mean."""
    logits, _, _ = model(images, sample=False)
    return torch.sigmoid(logits.float())


@torch.no_grad()
def per_sample_cess(
    model: MicrostructureVAE, dataset: Micro2DDataset, *, batch_size: int = 16, device: torch.device | str = "cpu"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cess, target_entropy, labels)``, one entry per image of ``dataset`` in order."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    cess, entropy, labels = [], [], []
    for images, label in loader:
        images = images.to(device)
        probability = reconstruct(model, images)
        cess.append(SF.cess(probability, images, reduction="none", check_values=False).cpu())
        entropy.append(SF.cess(images, images, reduction="none", check_values=False).cpu())
        labels.append(label)
    return torch.cat(cess).double().numpy(), torch.cat(entropy).double().numpy(), torch.cat(labels).numpy()


def pairwise_matrix(scores: Mapping[str, np.ndarray]) -> np.ndarray:
    """``M[a, b]``: share of samples where model ``a`` has a strictly lower CESS than model ``b``.

    Example:
        >>> pairwise_matrix({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([2.0, 1.0, 4.0])}).tolist()
        [[0.0, 0.6666666666666666], [0.3333333333333333, 0.0]]
    """
    values = list(scores.values())
    return np.array([[float(np.mean(a < b)) for b in values] for a in values])


def _histograms(scores: Mapping[str, np.ndarray], path: Path, *, log: bool) -> None:
    figure, axes = plt.subplots(len(scores), 1, figsize=(6, 1.8 * len(scores) + 0.6), sharex=True, squeeze=False)
    pooled = np.concatenate(list(scores.values()))
    if log:
        bins = np.linspace(np.log10(pooled.min()), np.log10(pooled.max()), 30)
    else:
        bins = np.linspace(pooled.min(), max(np.quantile(s, 0.8) for s in scores.values()), 30)
    for axis, (name, values) in zip(axes[:, 0], scores.items()):
        shown = np.log10(values) if log else values[values <= np.quantile(values, 0.8)]
        median = np.median(np.log10(values) if log else values)
        axis.hist(shown, bins=bins, color="tab:blue", alpha=0.8)
        axis.axvline(median, color="tab:red", label=f"median {10**median if log else median:.4g}")
        axis.set_ylabel(name)
        axis.legend(loc="upper right", fontsize=8)
    axes[-1, 0].set_xlabel("log10 CESS" if log else "CESS (largest quintile of each model cut off)")
    figure.suptitle("Per-sample CESS on the test split" + (" (log scale)" if log else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _pairwise_figure(names: list[str], matrix: np.ndarray, path: Path) -> None:
    figure, axis = plt.subplots(figsize=(1.1 * len(names) + 2.5, 1.0 * len(names) + 2))
    image = axis.imshow(matrix, vmin=0, vmax=1, cmap="viridis")
    for i in range(len(names)):
        for j in range(len(names)):
            axis.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", color="white" if matrix[i, j] < 0.6 else "black")
    axis.set_xticks(range(len(names)), names, rotation=30, ha="right")
    axis.set_yticks(range(len(names)), names)
    axis.set_xlabel("model B")
    axis.set_ylabel("model A")
    axis.set_title("Share of test images where A has lower CESS than B")
    figure.colorbar(image, ax=axis, fraction=0.046)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _autocorrelation(field: torch.Tensor) -> torch.Tensor:
    return ss.two_point_stats(field, check_values=False)[:, 1, 1]


def _reconstruction_grid(model, dataset, class_names, labels, path: Path, model_name: str, device) -> None:
    firsts = [int(np.flatnonzero(labels == label)[0]) for label in range(len(class_names)) if (labels == label).any()]
    images = torch.stack([dataset[i][0] for i in firsts]).to(device)
    probability = reconstruct(model, images)
    original_stats, reconstructed_stats = _autocorrelation(images).cpu(), _autocorrelation(probability).cpu()
    difference = torch.log(reconstructed_stats + 1e-6) - torch.log(original_stats + 1e-6)
    columns = ("original", "reconstruction", "f(1,1|r) original", "f(1,1|r) reconstruction", "log f_rec - log f_orig")
    figure, axes = plt.subplots(len(firsts), 5, figsize=(10, 2.0 * len(firsts) + 0.5), squeeze=False)
    limit = max(float(difference.abs().max()), 1e-3)
    for row, index in enumerate(firsts):
        vmax = float(max(original_stats[row].max(), reconstructed_stats[row].max()))
        panels = (
            (images[row, 0].cpu(), dict(cmap="gray", vmin=0, vmax=1)),
            (probability[row, 0].cpu(), dict(cmap="gray", vmin=0, vmax=1)),
            (original_stats[row], dict(cmap="magma", vmin=0, vmax=vmax)),
            (reconstructed_stats[row], dict(cmap="magma", vmin=0, vmax=vmax)),
            (difference[row], dict(cmap="coolwarm", vmin=-limit, vmax=limit)),
        )
        for column, (panel, style) in enumerate(panels):
            axis = axes[row, column]
            axis.imshow(panel.numpy(), **style)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(columns[column], fontsize=8)
        axes[row, 0].set_ylabel(class_names[int(labels[index])], fontsize=8)
    figure.suptitle(f"{model_name}: one test image per class", fontsize=10)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / figure.get_figheight()))
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _worst_outliers(models, scores, dataset, class_names, labels, path: Path, count: int, device) -> None:
    figure, axes = plt.subplots(2 * len(models), count, figsize=(1.6 * count, 3.4 * len(models)), squeeze=False)
    for block, (name, model) in enumerate(models.items()):
        worst = np.argsort(scores[name])[::-1][:count]
        images = torch.stack([dataset[int(i)][0] for i in worst]).to(device)
        probability = reconstruct(model, images).cpu()
        for column in range(count):
            top, bottom = axes[2 * block, column], axes[2 * block + 1, column]
            if column >= len(worst):
                top.axis("off"), bottom.axis("off")
                continue
            top.imshow(images[column, 0].cpu().numpy(), cmap="gray", vmin=0, vmax=1)
            bottom.imshow(probability[column, 0].numpy(), cmap="gray", vmin=0, vmax=1)
            top.set_title(f"{class_names[int(labels[worst[column]])]}\nCESS {scores[name][worst[column]]:.3g}", fontsize=7)
            for axis in (top, bottom):
                axis.set_xticks([])
                axis.set_yticks([])
        axes[2 * block, 0].set_ylabel(f"{name}\noriginal", fontsize=8)
        axes[2 * block + 1, 0].set_ylabel("reconstruction", fontsize=8)
    figure.suptitle("Worst test images by CESS, per model", fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def model_label(name: str, config: TrainConfig) -> str:
    """The name shown in figures and tables: a style model with random VGG-19 weights says so.

    Example:
        >>> model_label("style", TrainConfig(experiment="style", style_random_weights=True))
        'style (random VGG weights)'
    """
    if config.experiment == "style" and config.style_weights is None and config.style_random_weights:
        return f"{name} (random VGG weights)"
    return name


def _check_options(checkpoints, split: str, batch_size: int, worst: int) -> None:
    if not checkpoints:
        raise ValueError("checkpoints must name at least one model, got none")
    for name, value, minimum in (("batch_size", batch_size, 1), ("worst", worst, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")


def _load_models(checkpoints, device) -> tuple[dict[str, MicrostructureVAE], dict[str, str], TrainConfig]:
    """Models keyed by their label, the label -> name map (for file names) and the first run's config."""
    models, files, configs = {}, {}, []
    for name, path in checkpoints.items():
        model, config = load_model(path, device, argument=f"--model {name}")
        label = model_label(name, config)
        models[label], files[label] = model, name
        configs.append(config)
    image_sizes = {config.image_size for config in configs}
    if len(image_sizes) != 1:
        raise ValueError(f"all models must use the same image_size, got {sorted(image_sizes)}")
    return models, files, configs[0]


def _model_summary(scores: np.ndarray, entropy: np.ndarray) -> dict:
    kl = scores - entropy
    return {"n": len(scores), "mean_cess": float(scores.mean()), "median_cess": float(np.median(scores)),
            "mean_kl": float(kl.mean()), "median_kl": float(np.median(kl)), "target_entropy": float(entropy.mean())}


def _summarise(scores, entropy, labels, class_names, checkpoints, files, split: str) -> tuple[dict, list[dict]]:
    names = list(scores)
    matrix = pairwise_matrix(scores)
    summary: dict = {"split": split, "samples": len(entropy), "models": {}, "pairwise_lower_cess_share": {}}
    rows = []
    for index, name in enumerate(names):
        per_class = {class_name: _model_summary(scores[name][labels == label], entropy[labels == label])
                     for label, class_name in enumerate(class_names) if (labels == label).any()}
        overall = _model_summary(scores[name], entropy)
        summary["models"][name] = {**overall, "checkpoint": str(checkpoints[files[name]]), "per_class": per_class}
        rows += [{"model": name, "class": "all", **overall}] + [{"model": name, "class": c, **v} for c, v in per_class.items()]
        summary["pairwise_lower_cess_share"][name] = dict(zip(names, matrix[index].tolist()))
    return summary, rows


def _write_tables(out: Path, samples, scores, entropy, summary: dict, rows: list[dict]) -> None:
    names = list(scores)
    with open(out / "per_sample_cess.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["class", "index", "target_entropy", *names])
        for row, sample in enumerate(samples):
            writer.writerow([sample.class_name, sample.index, f"{entropy[row]:.6g}", *(f"{scores[n][row]:.6g}" for n in names)])
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with open(out / "pairwise_matrix.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["A lower than B", *names])
        shares = summary["pairwise_lower_cess_share"]
        writer.writerows([[a, *(f"{shares[a][b]:.4f}" for b in names)] for a in names])
    (out / "summary.json").write_text(json.dumps(summary, indent=2))


def evaluate(
    checkpoints: Mapping[str, str | os.PathLike],
    data: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    split: str = "test",
    batch_size: int = 16,
    device: str = "cpu",
    worst: int = 6,
) -> dict:
    """Score every model on ``split`` (the split settings come from the first model's run) and write all outputs.

    Returns the summary dictionary that is also written to ``summary.json``: per model (keyed by
    :func:`model_label`) the mean/median CESS and KL (CESS minus the target's entropy), overall and per class, and
    the pairwise win rates (share of images with a strictly lower CESS, equivalently a lower KL).
    """
    _check_options(checkpoints, split, batch_size, worst)
    device = resolve_device(device)
    models, files, reference = _load_models(checkpoints, device)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    class_names = list(discover_classes(data))
    samples = build_splits(
        data, fractions=reference.split_fractions, seed=reference.seed, max_samples_per_class=reference.max_samples_per_class
    )[split]
    if not samples:
        raise ValueError(f"the {split} split of {data} is empty")
    dataset = Micro2DDataset(data, samples, image_size=reference.image_size)
    scores: dict[str, np.ndarray] = {}
    for name, model in models.items():
        scores[name], entropy, labels = per_sample_cess(model, dataset, batch_size=batch_size, device=device)
    summary, rows = _summarise(scores, entropy, labels, class_names, checkpoints, files, split)
    _write_tables(out, samples, scores, entropy, summary, rows)
    _histograms(scores, out / "cess_histograms.png", log=False)
    _histograms(scores, out / "log_cess_histograms.png", log=True)
    _pairwise_figure(list(scores), pairwise_matrix(scores), out / "pairwise_matrix.png")
    for name, model in models.items():
        path = out / f"reconstruction_grid_{files[name]}.png"
        _reconstruction_grid(model, dataset, class_names, labels, path, name, device)
    _worst_outliers(models, scores, dataset, class_names, labels, out / "worst_outliers.png", worst, device)
    return summary


def format_summary(summary: dict) -> str:
    """Markdown tables: mean/median CESS and KL per model, then the pairwise win rates (lower CESS)."""
    names = list(summary["models"])
    lines = ["| model | mean CESS | median CESS | mean KL | median KL | target entropy |", "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {m['mean_cess']:.4f} | {m['median_cess']:.4f} | {m['mean_kl']:.4f} | {m['median_kl']:.4f} | "
              f"{m['target_entropy']:.4f} |" for n, m in ((n, summary["models"][n]) for n in names)]
    lines += ["", "Pairwise win rates: share of test images where A has a lower CESS (and KL) than B.", "",
              "| A lower than B | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    lines += [f"| {a} | " + " | ".join(f"{summary['pairwise_lower_cess_share'][a][b]:.2f}" for b in names) + " |" for a in names]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate trained MICRO2D VAEs by per-sample CESS.")
    parser.add_argument("--model", action="append", required=True, metavar="NAME=CHECKPOINT", help="repeatable")
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--split", default="test", choices=("train", "val", "test"))
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--device", default="auto", help="auto (CUDA when available, else CPU), cpu, cuda, cuda:N (default: auto)")
    parser.add_argument("--worst", type=int, default=6, help="outliers shown per model")
    args = parser.parse_args(argv)
    checkpoints = {}
    for item in args.model:
        name, separator, path = item.partition("=")
        if not separator or not name or not path:
            parser.error(f"--model must be NAME=CHECKPOINT, got {item!r}")
        if name in checkpoints:
            print(f"error: --model name {name!r} is given twice; give each model its own NAME", file=sys.stderr)
            return 1
        checkpoints[name] = path
    try:
        summary = evaluate(checkpoints, args.data, args.out, split=args.split, batch_size=args.batch_size,
                           device=args.device, worst=args.worst)
    except (OSError, ValueError, TypeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    print(format_summary(summary))
    print(f"figures and tables in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
