"""The library needs only torch and numpy at import time; tqdm is optional (issue 8, item 9)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

BLOCK_TQDM = """
import sys
for name in ('tqdm', 'tqdm.auto', 'h5py', 'matplotlib', 'optuna', 'scipy', 'pymks'):
    sys.modules[name] = None  # `import name` now raises ImportError, as in a venv without it
"""

def _run(code: str) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", BLOCK_TQDM + code], capture_output=True, text=True, env=env, timeout=120)


def test_import_needs_no_optional_package():
    result = _run("import spatialstats, spatialstats.reconstruction, spatialstats.synthetic; print('ok')")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_progress_without_tqdm_warns_once_and_still_reconstructs():
    code = (
        "import warnings, torch, spatialstats as ss\n"
        "target = ss.synthetic.circles(1, 16, count=1, radius=4, seed=0).float().unsqueeze(1)\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    result = ss.reconstruct(target, steps=3, progress=True)\n"
        "print(len(caught), 'tqdm is not installed' in str(caught[0].message), tuple(result.labels.shape))\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["1", "True", "(1,", "16,", "16)"]


def test_progress_bar_wraps_with_tqdm_and_passes_through_when_disabled():
    from spatialstats._progress import progress_bar

    assert progress_bar(range(3), enabled=False, desc="x") == range(3)
    tqdm = pytest.importorskip("tqdm")
    bar = progress_bar(range(3), enabled=True, desc="x")
    assert isinstance(bar, tqdm.tqdm) and list(bar) == [0, 1, 2]


def test_readme_block_runner_finds_every_python_block(tmp_path):
    sys.path.insert(0, str(ROOT / ".ci"))
    try:
        from run_readme_blocks import main, python_blocks
    finally:
        sys.path.remove(str(ROOT / ".ci"))
    text = "a\n```python\nx = 1\n```\n```bash\nexit 1\n```\n```python\nassert x == 1\n```\n"
    assert python_blocks(text) == ["x = 1\n", "assert x == 1\n"]
    (tmp_path / "good.md").write_text(text)
    assert main([str(tmp_path / "good.md")]) == 0
    (tmp_path / "bad.md").write_text(text.replace("x == 1", "x == 2"))
    assert main([str(tmp_path / "bad.md")]) == 1
    assert len(python_blocks((ROOT / "README.md").read_text())) >= 3
    tagged = "```python extras=sklearn\nimport definitely_not_installed\n```\n"
    (tmp_path / "extras.md").write_text(text + tagged)
    assert main([str(tmp_path / "extras.md")]) == 0  # the block that needs an extra is skipped without --extras
    assert main([str(tmp_path / "extras.md"), "--extras"]) == 1  # and run (here: failing) with it
    assert torch.__version__  # the runner ran in this process, with the library importable
