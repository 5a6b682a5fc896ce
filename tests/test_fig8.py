"""The paper's Fig. 8 script (examples/paper_figures/fig8_line_spacing.py): CESS is flat with periodic statistics,
the transport loss is not; the CSV layout and the command line."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "paper_figures" / "fig8_line_spacing.py"
sys.path.insert(0, str(SCRIPT.parent))
import fig8_line_spacing as fig8  # noqa: E402

import spatialstats.functional as F  # noqa: E402


def test_cess_is_exactly_flat_beyond_one_pixel_on_512():
    """As the paper says: with periodic statistics every wrong spacing scores the same; CESS - entropy = 6.84e-5."""
    spacings = [50, 99, 100, 101, 137, 200]
    table = fig8.line_spacing_table(spacings=spacings)
    cess = dict(zip(spacings, table["cess"]))
    wrong = [cess[s] for s in spacings if s != 100]
    assert max(wrong) - min(wrong) < 1e-12
    assert min(wrong) - cess[100] == pytest.approx(6.84e-5, rel=1e-3)
    kl = F.cess(fig8.two_lines(150, 512), fig8.two_lines(100, 512), kl=True).item()
    assert kl == pytest.approx(6.840093e-5, rel=1e-6)
    msess = dict(zip(spacings, table["msess"]))
    wrong_msess = [msess[s] for s in spacings if s != 100]
    assert msess[100] == 0 and max(wrong_msess) - min(wrong_msess) < 1e-18 and min(wrong_msess) > 0
    transport = dict(zip(spacings, table["transport_ss"]))
    assert transport[100] == 0 < transport[101] < transport[137] < transport[200]


def test_two_lines_image():
    image = fig8.two_lines(3, 8, offset=6)
    assert image.shape == (1, 1, 8, 8) and image.sum() == 16
    assert image[0, 0, 0].nonzero().flatten().tolist() == [1, 6]  # 6 + 3 wraps to 1


def test_command_line_writes_csv_and_png(tmp_path):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), "--size", "64", "--target", "20",
         "--min-spacing", "18", "--max-spacing", "22"],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "fig8_line_spacing.csv") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["spacing", "cess", "msess", "transport_ss"]
    assert [int(row[0]) for row in rows[1:]] == [18, 19, 20, 21, 22]
    transport = [float(row[3]) for row in rows[1:]]
    assert transport[2] == 0 and transport[0] > transport[1] > 0 and 0 < transport[3] < transport[4]
    assert (tmp_path / "fig8_line_spacing.png").stat().st_size > 1000


@pytest.mark.parametrize(
    "arguments,message",
    [(["--size", "224"], "every spacing must be in 1..111 on a 224 px"), (["--min-spacing", "90", "--max-spacing", "80"], "above")],
)
def test_command_line_errors_are_one_line(tmp_path, arguments, message):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(tmp_path), *arguments], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and message in result.stderr and result.stderr.count("\n") == 1


def test_docstring_examples_pass():
    import doctest

    result = doctest.testmod(fig8, verbose=False)
    assert result.attempted > 0 and result.failed == 0


def test_a_single_gaussian_blur_saturates_again():
    """The claim of docs/sparse_loss.rst: blurred CESS (sigma 6) scores s = 150 and s = 200 the same."""
    import blur_saturation

    far, farther = blur_saturation.blurred_kl(150, 6), blur_saturation.blurred_kl(200, 6)
    assert far == pytest.approx(3.3836e-5, rel=1e-4) and abs(far - farther) < 1e-6 * far
    assert blur_saturation.blurred_kl(110, 6) < 0.5 * far  # it does help close to the target
