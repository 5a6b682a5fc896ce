"""The example's command lines (issue 8 item 11): every user mistake is one `error:` line naming the option or file,
resume refusals, "nothing to do", epoch numbering, one line per epoch, --help defaults, image-size reports."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES_DIR))

from vae_micro2d import evaluate as evaluate_module  # noqa: E402
from vae_micro2d import train as train_module  # noqa: E402
from vae_micro2d.make_synthetic_dataset import write_synthetic_micro2d  # noqa: E402

TINY = ["--image-size", "32", "--width", "8", "--depth", "1", "--latent-channels", "2", "--batch-size", "4",
        "--max-steps-per-epoch", "1", "--no-progress", "--device", "cpu", "--split-fractions", "0.5", "0.25", "0.25"]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """A tiny data file, a finished 1-epoch mse run, and bad files of every kind."""
    root = tmp_path_factory.mktemp("cli")
    data = root / "tiny.h5"
    write_synthetic_micro2d(data, samples_per_class=4, size=48, seed=1)
    assert train_module.main(["--experiment", "mse", "--data", str(data), "--out", str(root / "run"), "--epochs", "1", *TINY]) == 0
    (root / "garbage.pt").write_bytes(b"\x00not a torch file at all" * 10)
    (root / "broken.json").write_text('{"epochs": 3,,}')
    (root / "list.json").write_text("[1, 2]")
    (root / "unknown.json").write_text('{"epochs": 3, "colour": "red"}')
    (root / "text.h5").write_text("not hdf5")
    torch.save([torch.zeros(1)], root / "list.pt")
    torch.save(torch.nn.Linear(2, 2), root / "module.pt")
    torch.save({"features.0.weight": torch.zeros(1)}, root / "wrong_vgg.pt")
    torch.save({"model": {}, "epoch": 1}, root / "not_training.pt")
    with open(root / "pickle.pt", "wb") as handle:
        pickle.dump([1, "x"], handle, protocol=2)
    return {"data": data, "run": root / "run", "root": root}


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def _train_fails(capsys, files, tmp_path, *argv: str, needles: tuple[str, ...]) -> None:
    base = ["--data", str(files["data"]), "--out", str(tmp_path / "out"), "--epochs", "1", *TINY]
    assert train_module.main([*base, *argv]) == 1
    line = _error_line(capsys)
    for needle in needles:
        assert needle in line, (needle, line)


R = "{root}"  # replaced by the fixture folder
TRAIN_MISTAKES = {
    "style weights: pickled module": (["--experiment", "style", "--style-weights", f"{R}/module.pt"], ("module.pt", "weights_only")),
    "style weights: garbage": (["--experiment", "style", "--style-weights", f"{R}/garbage.pt"], ("garbage.pt",)),
    "style weights: a list": (["--experiment", "style", "--style-weights", f"{R}/list.pt"], ("list.pt", "state dict")),
    "style weights: plain pickle": (["--experiment", "style", "--style-weights", f"{R}/pickle.pt"], ("pickle.pt",)),
    "style weights: missing": (["--experiment", "style", "--style-weights", f"{R}/none.pt"], ("none.pt", "not found")),
    "style weights: wrong keys": (["--experiment", "style", "--style-weights", f"{R}/wrong_vgg.pt"], ("--style-weights", "wrong_vgg.pt", "VGG-19")),
    "style weights: none given": (["--experiment", "style"], ("--style-weights",)),
    "init checkpoint: not a training one": (["--experiment", "cess_finetune", "--init-checkpoint", f"{R}/not_training.pt"],
                                            ("--init-checkpoint", "not_training.pt", "not a training checkpoint")),
    "init checkpoint: garbage": (["--experiment", "cess_finetune", "--init-checkpoint", f"{R}/garbage.pt"],
                                 ("--init-checkpoint", "garbage.pt")),
    "init checkpoint: a module": (["--experiment", "cess_finetune", "--init-checkpoint", f"{R}/module.pt"],
                                  ("--init-checkpoint", "module.pt")),
    "init checkpoint: missing": (["--experiment", "cess_finetune", "--init-checkpoint", f"{R}/none.pt"], ("--init-checkpoint", "none.pt")),
    "init checkpoint: not given": (["--experiment", "cess_crop_finetune"], ("--init-checkpoint",)),
    "device: unknown type": (["--experiment", "mse", "--device", "tpu"], ("device", "'tpu'")),
    "device: nonsense": (["--experiment", "mse", "--device", "gpu:zero"], ("device", "gpu:zero")),
    "config: broken JSON": (["--experiment", "mse", "--config", f"{R}/broken.json"], ("broken.json", "not valid JSON")),
    "config: a list": (["--experiment", "mse", "--config", f"{R}/list.json"], ("list.json", "JSON object")),
    "config: unknown key": (["--experiment", "mse", "--config", f"{R}/unknown.json"], ("unknown.json", "colour")),
    "config: missing": (["--experiment", "mse", "--config", f"{R}/none.json"], ("none.json",)),
    "epochs 0": (["--experiment", "mse", "--epochs", "0"], ("epochs",)),
    "batch size -1": (["--experiment", "mse", "--batch-size", "-1"], ("batch_size",)),
    "learning rate 0": (["--experiment", "mse", "--learning-rate", "0"], ("learning_rate",)),
    "kl weight -1": (["--experiment", "mse", "--kl-weight", "-1"], ("kl_weight",)),
    "image size not divisible": (["--experiment", "mse", "--image-size", "36", "--stages", "3"], ("image_size", "2**stages")),
    "image size larger than the file": (["--experiment", "mse", "--image-size", "64"], ("image_size", "48 x 48", "upsampled")),
    "crop cutoff too large": (["--experiment", "cess_crop_finetune", "--init-checkpoint", f"{R}/run/checkpoint.pt",
                               "--crop-cutoff", "20"], ("crop_cutoff",)),
    "split fractions": (["--experiment", "mse", "--split-fractions", "0.5", "0.5", "0.5"], ("fractions",)),
    "max samples per class 0": (["--experiment", "mse", "--max-samples-per-class", "0"], ("max_samples_per_class",)),
    "num workers -1": (["--experiment", "mse", "--num-workers", "-1"], ("num_workers",)),
    "resume without a run": (["--experiment", "mse", "--resume"], ("--resume", "checkpoint not found")),
}


@pytest.mark.parametrize("mistake", sorted(TRAIN_MISTAKES))
def test_train_mistake_is_one_error_line_naming_it(mistake, files, tmp_path, capsys):
    argv, needles = TRAIN_MISTAKES[mistake]
    root = str(files["root"])
    _train_fails(capsys, files, tmp_path, *(a.replace(R, root) for a in argv), needles=tuple(n.replace(R, root) for n in needles))


def test_data_mistakes(files, tmp_path, capsys):
    for data, needle in ((files["root"] / "none.h5", "none.h5"), (files["root"] / "text.h5", "text.h5")):
        argv = ["--experiment", "mse", "--data", str(data), "--out", str(tmp_path / "x"), *TINY]
        assert train_module.main(argv) == 1
        assert needle in _error_line(capsys)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message when CUDA is missing")
def test_cuda_without_cuda(files, tmp_path, capsys):
    _train_fails(capsys, files, tmp_path, "--experiment", "mse", "--device", "cuda", needles=("'cuda'", "no CUDA"))


def test_resume_refuses_another_experiment_or_architecture_and_a_fresh_run_over_a_run(files, capsys):
    run = ["--data", str(files["data"]), "--out", str(files["run"]), "--epochs", "2", *TINY]
    assert train_module.main([*run, "--experiment", "mse_cess", "--resume"]) == 1
    assert "'mse'" in (line := _error_line(capsys)) and "'mse_cess'" in line and "another --out" in line
    assert train_module.main([*run, "--experiment", "mse", "--resume", "--width", "16"]) == 1
    assert "'width': 8" in (line := _error_line(capsys)) and "'width': 16" in line
    assert train_module.main([*run, "--experiment", "mse"]) == 1
    assert "--resume" in _error_line(capsys)
    assert [line for line in (files["run"] / "metrics.jsonl").read_text().splitlines()].__len__() == 1  # untouched


def test_resume_of_a_finished_run_says_nothing_to_do(files, capsys):
    run = ["--data", str(files["data"]), "--out", str(files["run"]), "--epochs", "1", *TINY, "--experiment", "mse"]
    assert train_module.main([*run, "--resume"]) == 0
    captured = capsys.readouterr()
    assert "nothing to do" in captured.out and "finished 1 epochs" in captured.out and not captured.err


def test_epoch_numbering_agrees_between_save_and_resume_messages(files, tmp_path, capsys, monkeypatch):
    import os
    import signal

    original, calls = train_module.make_loss_function, {"count": 0}

    def interrupting(config, device):
        function = original(config, device)

        def wrapped(probability, target):
            calls["count"] += torch.is_grad_enabled()
            if calls["count"] == 3 and torch.is_grad_enabled():  # 2 batches per epoch: epoch 2, batch 1
                os.kill(os.getpid(), signal.SIGINT)
            return function(probability, target)

        return wrapped

    monkeypatch.setattr(train_module, "make_loss_function", interrupting)
    argv = ["--experiment", "mse", "--data", str(files["data"]), "--out", str(tmp_path), "--epochs", "2", *TINY,
            "--max-steps-per-epoch", "2"]
    assert train_module.main(argv) == 0
    saved = capsys.readouterr().out
    assert "saved" in saved and "(epoch 2, after batch 1)" in saved
    monkeypatch.setattr(train_module, "make_loss_function", original)
    assert train_module.main([*argv, "--resume"]) == 0
    resumed = capsys.readouterr().out
    assert "resuming" in resumed and "(epoch 2, after batch 1)" in resumed
    assert "mse epoch 2/2:" in resumed


def test_no_progress_prints_one_line_per_epoch_and_reports_the_image_size(files, tmp_path, capsys):
    argv = ["--experiment", "mse", "--data", str(files["data"]), "--out", str(tmp_path), "--epochs", "2", *TINY]
    assert train_module.main(argv) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert "48 x 48 (MICRO2D's are 256 x 256)" in lines[0] and "32 x 32" in lines[0]
    assert [line.split(":")[0] for line in lines[1:]] == ["mse epoch 1/2", "mse epoch 2/2"]


def test_help_shows_real_defaults_and_experiment_is_required():
    script = str(EXAMPLES_DIR / "vae_micro2d" / "train.py")
    shown = subprocess.run([sys.executable, script, "--help"], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    for default in ("(default: 30)", "(default: 16)", "(default: 0.001)", "(default: 224)", "(default: 25)", "(default: auto)"):
        assert default in text, default
    missing = subprocess.run([sys.executable, script, "--data", "x.h5"], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2 and "--experiment" in missing.stderr.splitlines()[-1]
    assert "Traceback" not in missing.stderr


EVALUATE_MISTAKES = {
    "model: not a checkpoint": (["--model", "a={root}/not_training.pt"], ("--model a", "not_training.pt")),
    "model: garbage": (["--model", "a={root}/garbage.pt"], ("--model a", "garbage.pt")),
    "model: missing": (["--model", "a={root}/none.pt"], ("--model a", "none.pt")),
    "model: duplicate names": (["--model", "a={root}/run/checkpoint.pt", "--model", "a={root}/run/checkpoint.pt"], ("'a'", "twice")),
    "device: unknown": (["--model", "a={root}/run/checkpoint.pt", "--device", "tpu"], ("device", "tpu")),
    "batch size 0": (["--model", "a={root}/run/checkpoint.pt", "--batch-size", "0"], ("batch_size",)),
    "worst -1": (["--model", "a={root}/run/checkpoint.pt", "--worst", "-1"], ("worst",)),
}


@pytest.mark.parametrize("mistake", sorted(EVALUATE_MISTAKES))
def test_evaluate_mistake_is_one_error_line_naming_it(mistake, files, tmp_path, capsys):
    argv, needles = EVALUATE_MISTAKES[mistake]
    root = str(files["root"])
    full = [a.replace("{root}", root) for a in argv] + ["--data", str(files["data"]), "--out", str(tmp_path)]
    assert evaluate_module.main(full) == 1
    line = _error_line(capsys)
    for needle in needles:
        assert needle.replace("{root}", root) in line, (needle, line)


def test_evaluate_missing_data_file(files, tmp_path, capsys):
    argv = ["--model", f"a={files['run']}/checkpoint.pt", "--data", str(files["root"] / "none.h5"), "--out", str(tmp_path)]
    assert evaluate_module.main(argv) == 1
    assert "none.h5" in _error_line(capsys)


def test_demo_stops_when_a_stage_is_interrupted(monkeypatch, tmp_path, capsys):
    from vae_micro2d import demo

    monkeypatch.setattr(demo, "write_synthetic_micro2d", lambda *args, **kwargs: None)
    monkeypatch.setattr(demo, "train", lambda config, resume=False: {"status": "interrupted", "epoch": 0, "batch_in_epoch": 1})
    assert demo.main(["--out", str(tmp_path), "--no-progress"]) == 130
    assert "'train mse' was stopped by a signal" in capsys.readouterr().err
