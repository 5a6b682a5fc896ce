"""End-to-end demo on the offline MICRO2D stand-in, all five experiments, small enough for a laptop CPU.

1. writes a MICRO2D-shaped HDF5 file of ten synthetic classes (96 x 96 images, read resized to 64 x 64);
2. trains the ``mse`` VAE (``configs/demo_small.json``: width 32, depth 1, 3 stages, so a 64 x 64 image has an
   8 x 8 latent grid) for ``epochs``, and ``mse_cess`` from scratch for ``epochs + finetune_epochs``;
3. from the MSE checkpoint, fine-tunes with CESS (``cess_finetune``), with center-crop CESS (``cess_crop_finetune``;
   cutoff 7 keeps the paper's crop-to-image ratio, 25/224 ~ 7/64) and with the VGG-19 style loss (``style``, with
   *random* VGG weights unless ``--style-weights`` is given: labelled "random VGG weights" in every figure and table;
   VGG-19 is costly on a CPU, so it runs ``style_steps`` batches per epoch), and continues the MSE run for as many
   epochs (``--resume`` on a copy of its checkpoint) so that the MSE model has the same budget as the fine-tuned ones;
4. evaluates the five models on the test split: CESS and KL (CESS minus the target's entropy) per model, the
   pairwise win rates, histograms, reconstruction grids and worst outliers.

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
from vae_micro2d.train import CHECKPOINT_NAME, NonFiniteLossError, load_config, train

__all__ = ["MODELS", "DemoInterrupted", "run_demo", "main"]

DEMO_CONFIG = Path(__file__).resolve().parent / "configs" / "demo_small.json"


MODELS = ("mse", "mse_cess", "cess_finetune", "cess_crop_finetune", "style")


class DemoInterrupted(RuntimeError):
    """A training stage was stopped by SIGINT/SIGTERM (its checkpoint is saved); the demo stops there."""


def _stage(timings: dict[str, float], name: str, step):
    began = time.perf_counter()
    print(f"[demo] {name} ...", flush=True)
    result = step()
    if isinstance(result, dict) and result.get("status") == "interrupted":
        raise DemoInterrupted(f"stage {name!r} was stopped by a signal; the demo stops here")
    timings[name] = round(time.perf_counter() - began, 1)
    print(f"[demo] {name} done in {timings[name]} s", flush=True)
    return result


def _train_all(runs: Path, timings: dict, config, epochs: int, finetune_epochs: int, crop_cutoff: int,
               style_weights: str | None, style_steps: int) -> dict[str, str]:
    """Train the five models; returns their checkpoints."""
    for stale in ("mse_base", *MODELS):
        shutil.rmtree(runs / stale, ignore_errors=True)  # a fresh demo each time
    _stage(timings, "train mse", lambda: train(config("mse", "mse_base", epochs)))
    base = str(runs / "mse_base" / CHECKPOINT_NAME)
    shutil.copytree(runs / "mse_base", runs / "mse")
    total = epochs + finetune_epochs
    _stage(timings, "continue mse (resume)", lambda: train(config("mse", "mse", total), resume=True))
    _stage(timings, "train mse_cess", lambda: train(config("mse_cess", "mse_cess", total)))
    _stage(timings, "fine-tune cess", lambda: train(config("cess_finetune", "cess_finetune", finetune_epochs,
                                                           init_checkpoint=base)))
    _stage(timings, "fine-tune center-crop cess", lambda: train(config(
        "cess_crop_finetune", "cess_crop_finetune", finetune_epochs, init_checkpoint=base, crop_cutoff=crop_cutoff)))
    style = dict(style_weights=style_weights, style_random_weights=style_weights is None, max_steps_per_epoch=style_steps)
    _stage(timings, "fine-tune style", lambda: train(config("style", "style", finetune_epochs, init_checkpoint=base, **style)))
    return {name: str(runs / name / CHECKPOINT_NAME) for name in MODELS}


def run_demo(
    out_dir: str | Path,
    *,
    samples_per_class: int = 50,
    file_size: int = 96,
    epochs: int = 8,
    finetune_epochs: int = 4,
    crop_cutoff: int = 7,
    style_weights: str | None = None,
    style_steps: int = 2,
    device: str = "cpu",
    progress: bool = True,
    **config_overrides: object,
) -> dict:
    """Run the whole pipeline in ``out_dir``; returns the evaluation summary plus timings (seconds)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = out / "data" / "micro2d_synthetic.h5"
    _stage(timings, "generate data",
           lambda: write_synthetic_micro2d(data, samples_per_class=samples_per_class, size=file_size, seed=0))
    runs = out / "runs"
    common = dict(data=str(data), device=device, progress=progress, **config_overrides)

    def config(experiment: str, run: str, run_epochs: int, **extra):
        options = {**common, **extra}
        return load_config([DEMO_CONFIG], experiment=experiment, out_dir=str(runs / run), epochs=run_epochs, **options)

    checkpoints = _train_all(runs, timings, config, epochs, finetune_epochs, crop_cutoff, style_weights, style_steps)
    evaluation = out / "evaluation"
    summary = _stage(timings, "evaluate", lambda: evaluate(checkpoints, data, evaluation, device=device))
    timings["total"] = round(time.perf_counter() - started, 1)
    summary["timings_seconds"] = timings
    (out / "demo_summary.json").write_text(json.dumps(summary, indent=2))
    report = f"{format_summary(summary)}\n\ntimings (s): {json.dumps(timings)}\n"
    (out / "demo_summary.md").write_text(report)
    print(report)
    print("figures:\n  " + "\n  ".join(sorted(str(path) for path in evaluation.glob("*.png"))))
    print(f"tables: {evaluation / 'summary.csv'}, {evaluation / 'summary.json'}, {evaluation / 'pairwise_matrix.csv'}")
    missing = [name for name in FIGURES if not (evaluation / name).exists()]
    if missing:
        raise RuntimeError(f"evaluation did not write {missing}")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default="outputs/demo")
    parser.add_argument("--samples-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=8, help="MSE epochs before fine-tuning")
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--style-weights", help="torchvision-format VGG-19 state dict (default: random weights, labelled)")
    parser.add_argument("--style-steps", type=int, default=2, help="style batches per epoch (VGG-19 is slow on a CPU)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    args = parser.parse_args(argv)
    try:
        run_demo(args.out, samples_per_class=args.samples_per_class, epochs=args.epochs,
                 finetune_epochs=args.finetune_epochs, style_weights=args.style_weights, style_steps=args.style_steps,
                 device=args.device, progress=args.progress)
    except DemoInterrupted as stopped:
        print(f"[demo] {stopped}", file=sys.stderr)
        return 130
    except (NonFiniteLossError, OSError, ValueError, TypeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
