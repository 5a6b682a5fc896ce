r"""Hyperparameter sweep with Optuna's TPE sampler, resumable through SQLite storage.

Each trial trains an experiment for a few epochs (5 by default) and is scored by the mean validation CESS of its
last epoch (lower is better). The search space is the learning rate :math:`\eta \in [10^{-5}, 3\cdot10^{-3}]`, the KL
weight :math:`\beta \in [10^{-6}, 10^{-2}]` and the weight decay :math:`\lambda \in [10^{-7}, 10^{-3}]` (all log-uniform),
plus :math:`\alpha \in [0.1, 100]` for ``mse_cess``. The study ``<experiment>`` lives in ``<out>/sweep.db``; rerunning
the same command continues it up to ``--trials`` finished trials. The best hyperparameters are written to
``<out>/best_<experiment>.json``, a config that ``train.py --config`` reads.

Run::

    python examples/vae_micro2d/sweep.py --experiment mse --data MICRO2D_homogenized.h5 --out runs/sweep
    python examples/vae_micro2d/train.py --experiment mse --data MICRO2D_homogenized.h5 --out runs/mse \
        --config runs/sweep/best_mse.json
"""

from __future__ import annotations

if __package__ in (None, ""):
    import _bootstrap  # noqa: F401  (makes `vae_micro2d` importable when run as a script)

import argparse
import json
import os
import sys
from pathlib import Path

import optuna

from vae_micro2d.train import EXPERIMENTS, NonFiniteLossError, load_config, train

__all__ = ["suggest_hyperparameters", "run_sweep", "main"]


def suggest_hyperparameters(trial: optuna.Trial, experiment: str) -> dict[str, float]:
    """The tuned options of ``experiment`` drawn for ``trial``."""
    values = {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 3e-3, log=True),
        "kl_weight": trial.suggest_float("kl_weight", 1e-6, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-7, 1e-3, log=True),
    }
    if experiment == "mse_cess":
        values["alpha"] = trial.suggest_float("alpha", 0.1, 100.0, log=True)
    return values


def run_sweep(
    experiment: str,
    out_dir: str | os.PathLike,
    *,
    trials: int = 25,
    epochs: int = 5,
    config_paths: tuple[str, ...] = (),
    seed: int = 0,
    **overrides: object,
) -> dict[str, float]:
    """Run the study up to ``trials`` finished trials and return (and write) the best hyperparameters."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {experiment!r}")
    if trials < 1 or epochs < 1:
        raise ValueError(f"trials and epochs must be >= 1, got trials={trials}, epochs={epochs}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    load_config(config_paths, experiment=experiment, epochs=epochs, **overrides)  # fail early on a bad config
    storage = f"sqlite:///{out / 'sweep.db'}"
    finished = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    try:
        done = len(optuna.load_study(study_name=experiment, storage=storage).get_trials(deepcopy=False, states=finished))
    except KeyError:  # a new study
        done = 0
    # the sampler's seed moves on with the finished trials, so a resumed sweep does not redraw the same candidates
    study = optuna.create_study(
        study_name=experiment, storage=storage, direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed + done), load_if_exists=True,
    )

    def objective(trial: optuna.Trial) -> float:
        tuned = suggest_hyperparameters(trial, experiment)
        config = load_config(
            config_paths, experiment=experiment, epochs=epochs,
            out_dir=str(out / "trials" / experiment / f"trial_{trial.number:03d}"), **{**overrides, **tuned},
        )
        try:
            result = train(config)
        except NonFiniteLossError:
            raise optuna.TrialPruned("non-finite loss")
        if result.get("val_cess") is None:
            raise ValueError("the validation split is empty: use more samples per class for the sweep")
        return float(result["val_cess"])

    remaining = trials - done
    if remaining > 0:
        study.optimize(objective, n_trials=remaining)
    best = dict(study.best_params)
    (out / f"best_{experiment}.json").write_text(json.dumps(best, indent=2))
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Optuna TPE sweep for a MICRO2D VAE experiment.")
    parser.add_argument("--experiment", required=True, choices=EXPERIMENTS)
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True, help="folder of sweep.db, trials/ and best_<experiment>.json")
    parser.add_argument("--trials", type=int, default=25)
    parser.add_argument("--epochs", type=int, default=5, help="epochs per trial")
    parser.add_argument("--config", action="append", default=[], help="base JSON config (repeatable)")
    parser.add_argument("--init-checkpoint", help="MSE checkpoint for the fine-tuning experiments")
    parser.add_argument("--max-samples-per-class", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--device")
    parser.add_argument("--seed", type=int, default=0, help="sampler seed")
    args = parser.parse_args(argv)
    overrides = {key: value for key, value in {
        "data": args.data, "init_checkpoint": args.init_checkpoint, "max_samples_per_class": args.max_samples_per_class,
        "image_size": args.image_size, "batch_size": args.batch_size, "device": args.device, "progress": False,
    }.items() if value is not None}
    try:
        best = run_sweep(args.experiment, args.out, trials=args.trials, epochs=args.epochs,
                         config_paths=tuple(args.config), seed=args.seed, **overrides)
    except (OSError, ValueError, TypeError) as error:
        print(f"error: {str(error).splitlines()[0] if str(error) else type(error).__name__}", file=sys.stderr)
        return 1
    print(f"best hyperparameters for {args.experiment}: {best} -> {Path(args.out) / f'best_{args.experiment}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
