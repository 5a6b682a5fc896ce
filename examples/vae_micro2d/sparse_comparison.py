r"""Fine-tuning with the transport loss against CESS, on the sparse and line-like classes (issue 13, Fig. 8 in the VAE).

From one MSE checkpoint, fine-tunes ``cess_finetune`` and ``transport_finetune`` for the same number of epochs with
the MSE run's own settings (``train.train``), evaluates the starting MSE model and both fine-tuned models on the
test split (``evaluate.evaluate``: its figures and tables go to ``OUT/evaluation``) and reports per class

* the KL, :math:`\mathrm{CESS}(p, x) - \mathrm{CESS}(x, x) \ge 0` (lower is better), and
* the Fig. 8-style transport value :math:`\mathcal L_\mathrm{TSS}(p, x)` (:func:`spatialstats.functional.transport_ss`,
  periodic statistics, full window; 0 at a match, grows with the distance a feature is misplaced).

The sparse classes are those named by ``--classes``, by default the three whose target volume fraction of the
minority phase (on the test split) is smallest. Writes ``sparse_comparison.csv``, ``sparse_comparison.md`` and
``sparse_comparison.png`` (bars per class) in ``--out``.

Run::

    python examples/vae_micro2d/sparse_comparison.py --data data/micro2d_synthetic.h5 \
        --mse-checkpoint runs/mse/checkpoint.pt --out runs/sparse [--epochs 4] [--classes VoronoiSmall VoidSmall]
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import csv
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import spatialstats.functional as SF  # noqa: E402
from vae_micro2d.config import resolve_device  # noqa: E402
from vae_micro2d.data import Micro2DDataset, build_splits, discover_classes  # noqa: E402
from vae_micro2d.evaluate import evaluate, load_model, reconstruct  # noqa: E402
from vae_micro2d.train import CHECKPOINT_NAME, NonFiniteLossError, load_checkpoint, load_config, train  # noqa: E402

__all__ = ["ComparisonInterrupted", "COMPARED", "DEFAULT_SPARSE_COUNT", "minority_fractions", "per_sample_transport", "compare", "main"]

#: the starting model and the two fine-tuned ones, in table order.
COMPARED = ("mse", "cess_finetune", "transport_finetune")
#: how many classes are "sparse" by default (smallest minority-phase volume fraction).
DEFAULT_SPARSE_COUNT = 3


class ComparisonInterrupted(RuntimeError):
    """A fine-tuning was stopped by SIGINT/SIGTERM (its checkpoint is saved); the comparison stops there."""


def minority_fractions(dataset: Micro2DDataset, class_names: list[str]) -> dict[str, float]:
    """Per class: the mean over its images of ``min(phi, 1 - phi)``, ``phi`` the phase-1 volume fraction."""
    sums: dict[str, list[float]] = {}
    for index in range(len(dataset)):
        image, label = dataset[index]
        phi = float(image.mean())
        sums.setdefault(class_names[label], []).append(min(phi, 1 - phi))
    return {name: float(np.mean(values)) for name, values in sums.items()}


@torch.no_grad()
def per_sample_transport(model, dataset: Micro2DDataset, *, batch_size: int = 16, device="cpu") -> np.ndarray:
    """Transport value (periodic statistics, full window) of each reconstruction against its target, in order."""
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    values = [SF.transport_ss(reconstruct(model, images.to(device)), images.to(device), reduction="none",
                              check_values=False).cpu() for images, _ in loader]
    return torch.cat(values).double().numpy()


def _mse_config(checkpoint: str) -> dict:
    state = load_checkpoint(checkpoint, argument="--mse-checkpoint")
    config = state["config"]
    if config["experiment"] != "mse":
        raise ValueError(f"--mse-checkpoint must be an 'mse' run, got a {config['experiment']!r} run: {checkpoint}")
    return config


def _fine_tune(base: dict, checkpoint: str, data: str, runs: Path, epochs: int, progress: bool) -> dict[str, str]:
    """Both fine-tunings with the MSE run's settings; returns the three checkpoints."""
    paths = {"mse": checkpoint}
    for experiment in COMPARED[1:]:
        config = load_config(**{**base, "experiment": experiment, "init_checkpoint": checkpoint, "data": data,
                                "out_dir": str(runs / experiment), "epochs": epochs, "progress": progress})
        result = train(config)
        if result["status"] != "completed":
            raise ComparisonInterrupted(f"fine-tuning {experiment} was stopped by a signal; the comparison stops here")
        paths[experiment] = str(runs / experiment / CHECKPOINT_NAME)
    return paths


def _pick_classes(fractions: dict[str, float], classes: list[str] | None, known: list[str]) -> list[str]:
    if classes is None:
        return sorted(fractions, key=fractions.get)[:DEFAULT_SPARSE_COUNT]
    unknown = [name for name in classes if name not in known]
    if unknown:
        raise ValueError(f"--classes: unknown class {unknown[0]!r}; the file has {', '.join(known)}")
    missing = [name for name in classes if name not in fractions]
    if missing:
        raise ValueError(f"--classes: class {missing[0]!r} has no images in the test split")
    return list(dict.fromkeys(classes))


def _rows(summary: dict, transport: dict, labels, class_names, fractions, sparse: list[str]) -> list[dict]:
    """One row per sparse class, then 'sparse classes' and 'all classes': KL and TSS per model."""
    names = [name for name in fractions if name not in sparse]
    groups = [(name, [name]) for name in sparse] + [("sparse classes", sparse), ("other classes", names),
                                                    ("all classes", list(fractions))]
    index = {name: label for label, name in enumerate(class_names)}
    rows = []
    for group, members in groups:
        mask = np.isin(labels, [index[name] for name in members])
        row = {"class": group, "images": int(mask.sum()),
               "minority_fraction": float(np.mean([fractions[name] for name in members])) if members else float("nan")}
        for model in COMPARED:
            kl = [summary["models"][model]["per_class"][name]["mean_kl"] * summary["models"][model]["per_class"][name]["n"]
                  for name in members]
            row[f"kl_{model}"] = float(np.sum(kl) / max(mask.sum(), 1))
            row[f"tss_{model}"] = float(transport[model][mask].mean()) if mask.any() else float("nan")
        rows.append(row)
    return rows


def _write(out: Path, rows: list[dict], epochs: int) -> None:
    with open(out / "sparse_comparison.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([{k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()} for row in rows])
    header = ("| class | images | minority fraction | " + " | ".join(f"KL {m}" for m in COMPARED) + " | "
              + " | ".join(f"TSS {m}" for m in COMPARED) + " |")
    lines = [f"Mean per-image KL (CESS minus the target's entropy) and transport value (TSS) on the test split; "
             f"fine-tuned for {epochs} epochs from the mse model. Lower is better.", "", header,
             "|---" * (3 + 2 * len(COMPARED)) + "|"]
    for row in rows:
        lines.append(f"| {row['class']} | {row['images']} | {row['minority_fraction']:.3f} | "
                     + " | ".join(f"{row[f'kl_{m}']:.4g}" for m in COMPARED) + " | "
                     + " | ".join(f"{row[f'tss_{m}']:.4g}" for m in COMPARED) + " |")
    (out / "sparse_comparison.md").write_text("\n".join(lines) + "\n")


def _figure(out: Path, rows: list[dict]) -> None:
    figure, axes = plt.subplots(2, 1, figsize=(max(6.0, 1.1 * len(rows)), 6.5), sharex=True)
    positions = np.arange(len(rows))
    width = 0.8 / len(COMPARED)
    for axis, metric, title in ((axes[0], "kl", "mean KL (CESS - target entropy)"), (axes[1], "tss", "mean transport (TSS)")):
        for offset, model in enumerate(COMPARED):
            axis.bar(positions + (offset - 1) * width, [row[f"{metric}_{model}"] for row in rows], width, label=model)
        axis.set_ylabel(title)
    axes[0].legend(fontsize=8)
    axes[1].set_xticks(positions, [row["class"] for row in rows], rotation=30, ha="right")
    figure.suptitle("Fine-tuning from MSE: CESS vs transport loss (sparse classes first)")
    figure.tight_layout()
    figure.savefig(out / "sparse_comparison.png", dpi=110)
    plt.close(figure)


def _check(data: str, out: Path, epochs: int) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"--epochs must be an int >= 1, got {epochs!r}")
    discover_classes(data)  # a clear error for a missing or malformed --data file
    taken = [name for name in COMPARED[1:] if (out / "runs" / name / CHECKPOINT_NAME).exists()]
    if taken:
        raise ValueError(f"--out {out} already holds a comparison (runs/{taken[0]}); choose another --out")


def compare(data: str, mse_checkpoint: str, out_dir: str | Path, *, epochs: int = 4, classes: list[str] | None = None,
            device: str = "cpu", progress: bool = True) -> list[dict]:
    """Fine-tune both models, evaluate all three and write the table and figure; returns the table's rows."""
    out = Path(out_dir)
    _check(data, out, epochs)
    base = {**_mse_config(mse_checkpoint), "device": device}
    known = list(discover_classes(data))
    samples = build_splits(data, fractions=base["split_fractions"], seed=base["seed"],
                           max_samples_per_class=base["max_samples_per_class"])["test"]
    dataset = Micro2DDataset(data, samples, image_size=base["image_size"])
    fractions = minority_fractions(dataset, known)
    sparse = _pick_classes(fractions, classes, known)
    out.mkdir(parents=True, exist_ok=True)
    checkpoints = _fine_tune(base, mse_checkpoint, data, out / "runs", epochs, progress)
    summary = evaluate(checkpoints, data, out / "evaluation", device=device)
    labels = np.array([known.index(sample.class_name) for sample in samples])
    transport = {name: per_sample_transport(load_model(path, device)[0], dataset, device=resolve_device(device))
                 for name, path in checkpoints.items()}
    rows = _rows(summary, transport, labels, known, fractions, sparse)
    _write(out, rows, epochs)
    _figure(out, rows)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MICRO2D-layout HDF5 file (the one the MSE model was trained on)")
    parser.add_argument("--mse-checkpoint", required=True, help="checkpoint.pt of an mse run (the starting model)")
    parser.add_argument("--out", required=True, help="folder for runs/, evaluation/ and the comparison table")
    parser.add_argument("--epochs", type=int, default=4, help="fine-tuning epochs of each model (default: 4)")
    parser.add_argument("--classes", nargs="+", metavar="CLASS",
                        help=f"the sparse classes (default: the {DEFAULT_SPARSE_COUNT} with the smallest minority fraction)")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    try:
        compare(args.data, args.mse_checkpoint, args.out, epochs=args.epochs, classes=args.classes,
                device=args.device, progress=args.progress)
    except ComparisonInterrupted as stopped:
        print(f"[sparse_comparison] {stopped}", file=sys.stderr)
        return 130
    except (NonFiniteLossError, OSError, ValueError, TypeError, KeyError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    print((Path(args.out) / "sparse_comparison.md").read_text())
    print(f"table, figure and evaluation in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
