"""End-to-end demo on the offline MICRO2D stand-in, small enough for a laptop CPU (a few minutes).

1. writes a MICRO2D-shaped HDF5 file of ten synthetic classes (96 x 96 images, read resized to 64 x 64);
2. trains the ``mse`` VAE (``configs/demo_small.json``: width 32, depth 1, 3 stages, so a 64 x 64 image has an
   8 x 8 latent grid);
3. from that checkpoint, fine-tunes with CESS (``cess_finetune``) and with center-crop CESS (``cess_crop_finetune``;
   cutoff 7 keeps the paper's crop-to-image ratio, 25/224 ~ 7/64), and continues the MSE run for as many epochs
   (``--resume`` on a copy of its checkpoint) so that all models have the same training budget;
4. evaluates the three models on the test split and writes the figures and tables.

Run: ``python examples/vae_micro2d/demo.py --out outputs/demo``
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from vae_micro2d.evaluate import FIGURES, evaluate, format_summary
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d
from vae_micro2d.train import CHECKPOINT_NAME, load_config, train

__all__ = ["run_demo", "main"]

DEMO_CONFIG = Path(__file__).resolve().parent / "configs" / "demo_small.json"


def run_demo(
    out_dir: str | Path,
    *,
    samples_per_class: int = 50,
    file_size: int = 96,
    epochs: int = 8,
    finetune_epochs: int = 4,
    crop_cutoff: int = 7,
    device: str = "cpu",
    progress: bool = True,
    **config_overrides: object,
) -> dict:
    """Run the whole pipeline in ``out_dir``; returns the evaluation summary plus timings (seconds)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def stage(name: str, step):
        began = time.perf_counter()
        print(f"[demo] {name} ...", flush=True)
        result = step()
        timings[name] = round(time.perf_counter() - began, 1)
        print(f"[demo] {name} done in {timings[name]} s", flush=True)
        return result

    data = out / "data" / "micro2d_synthetic.h5"
    stage("generate data", lambda: write_synthetic_micro2d(data, samples_per_class=samples_per_class, size=file_size, seed=0))
    runs = out / "runs"
    common = dict(data=str(data), device=device, progress=progress, **config_overrides)

    def config(experiment: str, run: str, run_epochs: int, **extra):
        return load_config([DEMO_CONFIG], experiment=experiment, out_dir=str(runs / run), epochs=run_epochs, **common, **extra)

    for stale in ("mse_base", "mse", "cess_finetune", "cess_crop_finetune"):
        shutil.rmtree(runs / stale, ignore_errors=True)  # a fresh demo each time
    stage("train mse", lambda: train(config("mse", "mse_base", epochs)))
    base_checkpoint = str(runs / "mse_base" / CHECKPOINT_NAME)
    shutil.copytree(runs / "mse_base", runs / "mse")
    stage("continue mse (resume)", lambda: train(config("mse", "mse", epochs + finetune_epochs), resume=True))
    stage("fine-tune cess", lambda: train(config("cess_finetune", "cess_finetune", finetune_epochs, init_checkpoint=base_checkpoint)))
    stage("fine-tune center-crop cess", lambda: train(config(
        "cess_crop_finetune", "cess_crop_finetune", finetune_epochs, init_checkpoint=base_checkpoint, crop_cutoff=crop_cutoff
    )))
    checkpoints = {name: str(runs / name / CHECKPOINT_NAME) for name in ("mse", "cess_finetune", "cess_crop_finetune")}
    evaluation = out / "evaluation"
    summary = stage("evaluate", lambda: evaluate(checkpoints, data, evaluation, device=device))
    timings["total"] = round(time.perf_counter() - started, 1)
    summary["timings_seconds"] = timings
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    report = f"{format_summary(summary)}\n\ntimings (s): {json.dumps(timings)}\n"
    (out / "demo_summary.md").write_text(report)
    print(report)
    figures = sorted(str(path) for path in evaluation.glob("*.png"))
    print("figures:\n  " + "\n  ".join(figures))
    print(f"tables: {evaluation / 'summary.csv'}, {evaluation / 'summary.json'}, {evaluation / 'pairwise_matrix.csv'}")
    missing = [name for name in FIGURES if not (evaluation / name).exists()]
    if missing:
        raise RuntimeError(f"evaluation did not write {missing}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="outputs/demo")
    parser.add_argument("--samples-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=8, help="MSE epochs before fine-tuning")
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    run_demo(args.out, samples_per_class=args.samples_per_class, epochs=args.epochs, finetune_epochs=args.finetune_epochs,
             device=args.device, progress=args.progress)
    return 0


if __name__ == "__main__":
    sys.exit(main())
