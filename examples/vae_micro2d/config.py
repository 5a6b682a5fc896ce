"""The options of a training run: one dataclass, filled from defaults, JSON files and a command line generated from it.

Example:
    >>> parser = build_parser()
    >>> args = parser.parse_args(["--experiment", "mse", "--epochs", "3", "--no-amp"])
    >>> config = load_config(**config_overrides(args))
    >>> config.epochs, config.amp, config.batch_size
    (3, False, 16)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

import spatialstats.functional as SF
from vae_micro2d.experiments import EXPERIMENTS, FINETUNE_EXPERIMENTS

__all__ = ["ARCHITECTURE_FIELDS", "TrainConfig", "load_config", "build_parser", "config_overrides", "resolve_device"]

ARCHITECTURE_FIELDS = ("latent_channels", "depth", "width", "stages")
#: command-line spelling of fields whose flag is not ``--<field-name>``.
_FLAGS = {"out_dir": "--out"}
_HELP = {
    "experiment": f"one of {', '.join(EXPERIMENTS)}",
    "data": "MICRO2D_homogenized.h5 (or the synthetic stand-in)",
    "out_dir": "run folder (checkpoint.pt, metrics.jsonl, config.json)",
    "device": "auto, cpu, cuda, cuda:1, ...",
    "init_checkpoint": "start from this training checkpoint's model (fine-tuning)",
    "style_weights": "torchvision-format VGG-19 state dict for the style experiment",
    "style_random_weights": "random VGG-19 weights for the style experiment (figures say 'random VGG weights')",
    "amp": "mixed precision on CUDA",
    "progress": "progress bar (one line per epoch is printed either way)",
    "split_fractions": "train, val and test fractions",
}


@dataclass
class TrainConfig:
    """All options of a run (JSON config files and the command line fill these fields)."""

    experiment: str = "mse"
    data: str = "MICRO2D_homogenized.h5"
    out_dir: str = "runs/vae"
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    kl_weight: float = 1e-4
    alpha: float = 1.0
    latent_channels: int = 4
    depth: int = 3
    width: int = 64
    stages: int = 4
    image_size: int = 224
    max_samples_per_class: int | None = None
    split_fractions: list[float] = field(default_factory=lambda: [0.8, 0.1, 0.1])
    seed: int = 0
    num_workers: int = 0
    device: str = "auto"
    init_checkpoint: str | None = None
    style_weights: str | None = None
    style_random_weights: bool = False
    crop_cutoff: int = SF.CENTER_CROP_CUTOFF
    restart_period_epochs: int = 10
    max_steps_per_epoch: int | None = None
    amp: bool = True
    progress: bool = True

    def validate(self) -> None:
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"experiment must be one of {EXPERIMENTS}, got {self.experiment!r}")
        if self.experiment in FINETUNE_EXPERIMENTS and not self.init_checkpoint:
            raise ValueError(f"experiment {self.experiment!r} fine-tunes an MSE model: pass --init-checkpoint PATH "
                             "(e.g. runs/mse/checkpoint.pt)")
        for name in ("epochs", "batch_size", "image_size", "restart_period_epochs", *ARCHITECTURE_FIELDS):
            _check_int(name, getattr(self, name), minimum=1)
        for name in ("seed", "num_workers"):
            _check_int(name, getattr(self, name), minimum=0)
        for name in ("max_samples_per_class", "max_steps_per_epoch"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        _check_int("crop_cutoff", self.crop_cutoff, minimum=0)
        for name, strict in (("learning_rate", True), ("weight_decay", False), ("kl_weight", False), ("alpha", False)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (value > 0 if strict else value >= 0):
                raise ValueError(f"{name} must be a number {'>' if strict else '>='} 0, got {value!r}")
        if self.image_size % 2**self.stages:
            raise ValueError(f"image_size must be divisible by 2**stages = {2**self.stages}, got {self.image_size}")
        if self.experiment == "cess_crop_finetune" and self.crop_cutoff > (self.image_size - 1) // 2:
            raise ValueError(f"crop_cutoff must be <= (image_size - 1) // 2 = {(self.image_size - 1) // 2} for periodic "
                             f"statistics, got {self.crop_cutoff}")
        resolve_device(self.device)


def _check_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")


def resolve_device(option: str) -> torch.device:
    """``"auto"`` (CUDA when available, else CPU) or a device string; refuses unknown devices and missing CUDA."""
    if option == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(option)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {option!r}") from error
    if device.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {option!r}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {option!r} asks for CUDA, but torch finds no CUDA device here; use --device cpu")
    return device


def _read_json(path: str | os.PathLike) -> dict:
    try:
        with open(path) as handle:
            loaded = json.load(handle)
    except FileNotFoundError:
        raise FileNotFoundError(f"config file not found: {os.fspath(path)}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"config {os.fspath(path)} is not valid JSON: {error}") from None
    if not isinstance(loaded, dict):
        raise ValueError(f"config {os.fspath(path)} must hold a JSON object, got {type(loaded).__name__}")
    return loaded


def load_config(config_paths: Sequence[str | os.PathLike] = (), **overrides: object) -> TrainConfig:
    """Defaults, updated by each JSON file in order (later wins), then by ``overrides`` that are not ``None``."""
    values = dataclasses.asdict(TrainConfig())
    known = set(values)
    for path in config_paths:
        loaded = _read_json(path)
        unknown = set(loaded) - known
        if unknown:
            raise ValueError(f"config {os.fspath(path)} has unknown keys {sorted(unknown)}; known keys: {sorted(known)}")
        values.update(loaded)
    unknown = set(overrides) - known
    if unknown:
        raise ValueError(f"unknown options {sorted(unknown)}")
    values.update({key: value for key, value in overrides.items() if value is not None})
    config = TrainConfig(**values)
    config.validate()
    return config


def _scalar_type(annotation: object) -> type:
    """``int`` for ``int`` and ``int | None``; the element type for ``list[float]``."""
    if isinstance(annotation, types.UnionType):
        annotation = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    if typing.get_origin(annotation) is list:
        annotation = typing.get_args(annotation)[0]
    return annotation


def build_parser() -> argparse.ArgumentParser:
    """The command line: one option per :class:`TrainConfig` field (help shows the real default), plus ``--config``
    and ``--resume``. Options left out keep the value of the config files, or the default."""
    parser = argparse.ArgumentParser(description="Train the MICRO2D VAE.")
    parser.add_argument("--config", action="append", default=[], metavar="JSON",
                        help="JSON config (repeatable; later wins; e.g. a sweep's best_<experiment>.json)")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint.pt")
    defaults, hints = TrainConfig(), typing.get_type_hints(TrainConfig)
    for item in dataclasses.fields(TrainConfig):
        flag = _FLAGS.get(item.name, "--" + item.name.replace("_", "-"))
        default = getattr(defaults, item.name)
        help_text = f"{_HELP.get(item.name, item.name.replace('_', ' '))} (default: {default})"
        kind = _scalar_type(hints[item.name])
        if kind is bool:
            parser.add_argument(flag, dest=item.name, action=argparse.BooleanOptionalAction, default=None, help=help_text)
        elif item.name == "experiment":
            parser.add_argument(flag, dest=item.name, choices=EXPERIMENTS, required=True, help=_HELP[item.name])
        else:
            nargs = 3 if item.name == "split_fractions" else None
            parser.add_argument(flag, dest=item.name, type=kind, nargs=nargs, default=None, help=help_text,
                                metavar=item.name.upper() if nargs is None else "F")
    return parser


def config_overrides(args: argparse.Namespace) -> dict[str, object]:
    """The :class:`TrainConfig` fields given on the command line (the others are ``None``)."""
    names = {item.name for item in dataclasses.fields(TrainConfig)}
    return {key: value for key, value in vars(args).items() if key in names}
